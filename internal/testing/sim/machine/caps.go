package machine

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capNames are the capabilities by number, as capabilities(7) names them.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// parseCaps parses a capability list; a leading "~" inverts it, as in
// CapabilityBoundingSet=~CAP_SYS_ADMIN.
func parseCaps(s string) (uint64, error) {
	invert := strings.HasPrefix(s, "~")
	var set uint64
	for _, name := range strings.Fields(strings.TrimPrefix(s, "~")) {
		n := -1
		for i, c := range capNames {
			if strings.EqualFold(c, name) {
				n = i
			}
		}
		if n < 0 {
			return 0, fmt.Errorf("cannot parse capability %q", name)
		}
		set |= 1 << n
	}
	if invert {
		set = ^set & (1<<len(capNames) - 1)
	}
	return set, nil
}

func capList(set uint64) string {
	var names []string
	for i, c := range capNames {
		if set&(1<<i) != 0 {
			names = append(names, c)
		}
	}
	return strings.Join(names, ",")
}

// The functions below act on the calling thread only, as the kernel
// keeps credentials per thread: the wrapper calls them on its locked
// thread and execs from that same thread, like a forked child would.

func dropBounding(keep uint64) error {
	for i := range capNames {
		if keep&(1<<i) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(i), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("cannot drop %s from the bounding set: %w", capNames[i], err)
		}
	}
	return nil
}

// switchUser changes the thread's groups, gid and uid; keepCaps keeps
// the permitted set so ambient capabilities can be raised after.
func switchUser(uid, gid int, groups []uint32, keepCaps bool) error {
	if keepCaps {
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("cannot keep capabilities: %w", err)
		}
	}
	if len(groups) == 0 {
		groups = []uint32{uint32(gid)}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(&groups[0])), 0); e != 0 {
		return fmt.Errorf("cannot set groups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return fmt.Errorf("cannot set gid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return fmt.Errorf("cannot set uid: %w", e)
	}
	return nil
}

// raiseAmbient makes caps effective, permitted, inheritable and ambient,
// so they survive exec into an unprivileged program.
func raiseAmbient(caps uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(caps), Permitted: uint32(caps), Inheritable: uint32(caps)},
		{Effective: uint32(caps >> 32), Permitted: uint32(caps >> 32), Inheritable: uint32(caps >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("cannot set capabilities %s: %w", capList(caps), err)
	}
	for i := range capNames {
		if caps&(1<<i) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(i), 0, 0); err != nil {
			return fmt.Errorf("cannot raise ambient %s: %w", capNames[i], err)
		}
	}
	return nil
}
