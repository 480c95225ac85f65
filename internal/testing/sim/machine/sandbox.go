package machine

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// sandbox is the file-system hardening a service asks for, applied by the
// exec wrapper inside a mount namespace of the service's own (the agent
// forks the wrapper with CLONE_NEWNS), as systemd does before exec.
type sandbox struct {
	ProtectSystem string   // "", yes/true, full, strict
	ProtectHome   string   // "", yes/true, read-only, tmpfs
	PrivateTmp    bool     // fresh /tmp and /var/tmp
	ReadWrite     []string // ReadWritePaths=, "-" prefix: optional
	ReadOnly      []string // ReadOnlyPaths=
}

func sandboxOf(u *Unit) sandbox {
	get := func(k string) string { v, _ := u.Directive("Service." + k); return v }
	b, _ := parseBool(get("PrivateTmp"))
	box := sandbox{
		ProtectSystem: normaliseBool(get("ProtectSystem")),
		ProtectHome:   normaliseBool(get("ProtectHome")),
		PrivateTmp:    b,
		ReadWrite:     strings.Fields(get("ReadWritePaths")),
		ReadOnly:      strings.Fields(get("ReadOnlyPaths")),
	}
	if box.ProtectSystem != "" {
		// systemd keeps the service's runtime directories writable.
		box.ReadWrite = append(box.ReadWrite, runtimeDirs(&u.Service)...)
	}
	return box
}

// normaliseBool maps the boolean spellings to "yes"/"" and keeps others.
func normaliseBool(v string) string {
	if b, err := parseBool(v); err == nil {
		if b {
			return "yes"
		}
		return ""
	}
	return v
}

func (s sandbox) empty() bool {
	return s.ProtectSystem == "" && s.ProtectHome == "" && !s.PrivateTmp && len(s.ReadWrite) == 0 && len(s.ReadOnly) == 0
}

func (s sandbox) flags() []string {
	if s.empty() {
		return nil
	}
	f := []string{"--protect-system=" + s.ProtectSystem, "--protect-home=" + s.ProtectHome}
	if s.PrivateTmp {
		f = append(f, "--private-tmp")
	}
	for _, p := range s.ReadWrite {
		f = append(f, "--rw="+p)
	}
	for _, p := range s.ReadOnly {
		f = append(f, "--ro="+p)
	}
	return f
}

// apply runs in the wrapper, in its private mount namespace, as root.
func (s sandbox) apply() error {
	var ro []string
	switch s.ProtectSystem {
	case "yes":
		ro = []string{"/usr", "/boot", "/efi"}
	case "full":
		ro = []string{"/usr", "/boot", "/efi", "/etc"}
	case "strict":
		ro = []string{"/"}
	case "":
	default:
		return fmt.Errorf("cannot apply ProtectSystem=%s", s.ProtectSystem)
	}
	for _, p := range ro {
		if err := readOnly(p, p == "/" || p == "/usr" || p == "/etc"); err != nil {
			return err
		}
	}
	for _, p := range s.ReadOnly {
		if err := readOnly(strings.TrimPrefix(p, "-"), !strings.HasPrefix(p, "-")); err != nil {
			return err
		}
	}
	if err := s.protectHome(); err != nil {
		return err
	}
	for _, p := range s.ReadWrite {
		if err := readWrite(p); err != nil {
			return err
		}
	}
	if s.PrivateTmp {
		for _, d := range []string{"/tmp", "/var/tmp"} {
			if err := unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
				return fmt.Errorf("cannot apply PrivateTmp= on %s: %w", d, err)
			}
		}
	}
	return nil
}

func (s sandbox) protectHome() error {
	for _, d := range []string{"/home", "/root", "/run/user"} {
		if _, err := os.Stat(d); err != nil {
			continue
		}
		var err error
		switch s.ProtectHome {
		case "":
		case "yes":
			err = unix.Mount("tmpfs", d, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "mode=0755")
		case "tmpfs":
			err = unix.Mount("tmpfs", d, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755")
		case "read-only":
			err = readOnly(d, true)
		default:
			err = fmt.Errorf("unknown value")
		}
		if err != nil {
			return fmt.Errorf("cannot apply ProtectHome=%s on %s: %w", s.ProtectHome, d, err)
		}
	}
	return nil
}

// readOnly makes p and every mount below it read-only, except the API
// file systems (/dev, /proc, /sys), as ProtectSystem=strict does.
// A missing p is an error only when mustExist.
func readOnly(p string, mustExist bool) error {
	if _, err := os.Stat(p); err != nil {
		if !mustExist {
			return nil
		}
		return fmt.Errorf("cannot make %s read-only: %w", p, err)
	}
	if err := ensureMount(p); err != nil {
		return err
	}
	for _, mp := range mountsUnder(p) {
		if isAPIFS(mp) {
			continue
		}
		if err := remount(mp, true); err != nil {
			return fmt.Errorf("cannot make %s read-only: %w", mp, err)
		}
	}
	return nil
}

// readWrite makes p writable again below a read-only parent.
func readWrite(p string) error {
	optional := strings.HasPrefix(p, "-")
	p = strings.TrimPrefix(p, "-")
	if _, err := os.Stat(p); err != nil {
		if optional {
			return nil
		}
		return fmt.Errorf("cannot apply ReadWritePaths=%s: %w", p, err)
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind %s: %w", p, err)
	}
	for _, mp := range mountsUnder(p) {
		if err := remount(mp, false); err != nil {
			return fmt.Errorf("cannot make %s writable: %w", mp, err)
		}
	}
	return nil
}

// ensureMount bind-mounts p onto itself unless it is a mount point, so
// its flags can be changed alone.
func ensureMount(p string) error {
	for _, mp := range mountsUnder(p) {
		if mp == p {
			return nil
		}
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind %s: %w", p, err)
	}
	return nil
}

// remount flips a mount's read-only flag and keeps its other flags.
func remount(mp string, ro bool) error {
	var st unix.Statfs_t
	if err := unix.Statfs(mp, &st); err != nil {
		return err
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	flags := unix.MS_REMOUNT | unix.MS_BIND | keep
	if ro {
		flags |= unix.MS_RDONLY
	}
	return unix.Mount("", mp, "", flags, "")
}

func isAPIFS(mp string) bool {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if mp == d || strings.HasPrefix(mp, d+"/") {
			return true
		}
	}
	return false
}

// mountsUnder lists the mount points at or below p, parents first.
func mountsUnder(p string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if p == "/" || mp == p || strings.HasPrefix(mp, p+"/") {
			out = append(out, mp)
		}
	}
	return out
}

func unescapeMount(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}
