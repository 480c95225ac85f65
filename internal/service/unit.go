// Package service holds the registry's systemd units, its system user and
// the systemctl calls that start, reload and stop it.
//
// The units are rendered from plain values (UnitOptions) so the reconcile can
// compare the desired bytes with what is on disk and touch systemd only when
// something differs.
package service

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Names of the units the charm manages. They are fixed rather than derived
// from registry-name so that renaming the registry in config never leaves an
// orphaned unit behind; registry-name is used in status messages.
const (
	ServiceUnit = "docker-registry.service"
	SocketUnit  = "docker-registry.socket"
)

// UnitOptions is everything the unit files depend on.
type UnitOptions struct {
	// Description is free text (it carries registry-name): rendered on
	// one line whatever it holds.
	Description string
	Binary      string // the installed copy of the charm binary
	ConfigPath  string
	User        string
	// DataDir and ConfigDir are the only paths the service may write;
	// ProtectSystem=strict makes the rest of the file system read-only.
	DataDir   string
	ConfigDir string
	// ControlSocket is the registry's control socket,
	// /run/<dir>/<file>: <dir> becomes the unit's RuntimeDirectory=, which
	// systemd creates for the service user alone.
	ControlSocket string
	// Port is registry-port: systemd (not the registry) binds it, so the
	// service keeps no capabilities even for ports below 1024.
	Port int
	// BindsPrivilegedPort is true when the service binds a port below 1024
	// itself (the debug/metrics port), which needs CAP_NET_BIND_SERVICE.
	BindsPrivilegedPort bool
	// EnvironmentFile holds the proxy settings. It is a separate 0600 file
	// rather than Environment= lines because proxy URLs may carry
	// credentials and unit files are world-readable.
	EnvironmentFile string
	// MemoryMax is service-memory-max, as systemd reads MemoryMax= ("" or
	// "infinity": no limit); MemoryMaxBytes is the same in bytes when it
	// is an absolute size (else 0), for the Go runtime's own limit.
	MemoryMax      string
	MemoryMaxBytes int64
	// TasksMax is service-tasks-max (0: no limit).
	TasksMax int
}

// ServiceFile renders docker-registry.service. It fails, rather than
// writing a unit systemd would read differently, on a value that could
// break out of its line or its word (see checkOptions).
func ServiceFile(o UnitOptions) ([]byte, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	var b strings.Builder
	section(&b, "Unit",
		"Description="+description(o.Description),
		"Documentation=https://distribution.github.io/distribution/",
		"Requires="+SocketUnit,
		"After=network-online.target "+SocketUnit,
		"Wants=network-online.target",
	)
	svc := []string{
		"Type=simple",
		fmt.Sprintf("ExecStart=%s serve --config %s --control %s", o.Binary, o.ConfigPath, o.ControlSocket),
		// The registry rebuilds its handler from the new configuration
		// in-process: no connection is dropped. The reload command waits
		// until the new configuration serves, so `systemctl reload`
		// returning means clients see it (or fails with the reason).
		fmt.Sprintf("ExecReload=%s reload --config %s --control %s", o.Binary, o.ConfigPath, o.ControlSocket),
		"User=" + o.User,
		"Group=" + o.User,
		"Restart=always",
		"RestartSec=2",
		"TimeoutStopSec=30",
		"KillSignal=SIGTERM",
		// No LimitNOFILE: Go raises its soft limit to systemd's hard
		// limit (524288 on Ubuntu) at start.
	}
	// "-" : a missing file is not an error, the charm writes it only
	// when a proxy is configured.
	svc = append(svc, "EnvironmentFile=-"+o.EnvironmentFile)
	svc = append(svc, limits(o)...)
	svc = append(svc, hardening(o)...)
	section(&b, "Service", svc...)
	section(&b, "Install", "WantedBy=multi-user.target")
	return []byte(b.String()), nil
}

// SocketFile renders docker-registry.socket. systemd holds the listening
// socket, so connections made while the service restarts queue in the
// backlog instead of being refused.
func SocketFile(o UnitOptions) []byte {
	var b strings.Builder
	section(&b, "Unit", "Description="+description(o.Description+" (socket)"))
	section(&b, "Socket",
		fmt.Sprintf("ListenStream=%d", o.Port),
		"Service="+ServiceUnit,
		"Backlog=4096",
		"ReusePort=no",
	)
	section(&b, "Install", "WantedBy=sockets.target")
	return []byte(b.String())
}

// description renders free text as the value of Description=. Config
// validation already refuses control characters in registry-name; this is
// the renderer's own guarantee, so no caller can add a directive through
// it. The text is cosmetic, so it is repaired rather than refused:
//   - control characters (line breaks above all: systemd ends a value at
//     "\n" and also at "\r") and Unicode line separators become spaces,
//     invalid UTF-8 (systemd would ignore the whole line) U+FFFD;
//   - trailing backslashes are dropped: systemd reads "\" at the end of a
//     line as a continuation, which would swallow the next directive;
//   - "%" is written "%%": systemd expands specifiers such as %H or %u in
//     Description=, and the text must show as written.
func description(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimRight(s, " \\")
	return strings.ReplaceAll(s, "%", "%%")
}

// isControl reports the characters that may end or split a line.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// checkOptions refuses values that systemd would not read as one word of
// one line. Paths and the user are the charm's constants, not operator
// input; the check is what keeps a future caller from passing something
// else through: ExecStart= splits words at spaces and expands "$VAR" and
// "%" specifiers, and ReadWritePaths= splits at spaces too. Refusing
// (instead of quoting) keeps the renderer simple and the unit readable:
// none of these values has any reason to need it.
func checkOptions(o UnitOptions) error {
	for _, p := range []struct{ name, value string }{
		{"binary", o.Binary}, {"config path", o.ConfigPath}, {"data directory", o.DataDir},
		{"config directory", o.ConfigDir}, {"environment file", o.EnvironmentFile},
		{"control socket", o.ControlSocket},
	} {
		if !isPlainPath(p.value) {
			return fmt.Errorf("cannot render the registry's unit: the %s must be an absolute path of letters, digits and ._-/+@: only", p.name)
		}
	}
	if !isName(o.User) {
		return fmt.Errorf("cannot render the registry's unit: user name %q is not a plain system user name", o.User)
	}
	if dir := path.Dir(o.ControlSocket); path.Dir(dir) != "/run" {
		return fmt.Errorf("cannot render the registry's unit: the control socket %s must be in a directory of /run (the service's RuntimeDirectory=)", o.ControlSocket)
	}
	if !isMemoryMax(o.MemoryMax) {
		return fmt.Errorf("cannot render the registry's unit: MemoryMax=%q is not a size, a percentage or infinity", o.MemoryMax)
	}
	if o.TasksMax < 0 || o.MemoryMaxBytes < 0 {
		return fmt.Errorf("cannot render the registry's unit: negative limits")
	}
	return nil
}

func isPlainPath(s string) bool {
	if !strings.HasPrefix(s, "/") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._-/+@:", r):
		default:
			return false
		}
	}
	return true
}

func isName(s string) bool {
	if s == "" || s[0] == '-' || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// isMemoryMax accepts what limits writes verbatim: digits with an optional
// K/M/G/T suffix or "%", "infinity", or nothing.
func isMemoryMax(s string) bool {
	if s == "" || s == "infinity" {
		return true
	}
	digits := strings.TrimRight(strings.TrimSuffix(s, "%"), "KMGT")
	if len(s)-len(digits) > 1 || digits == "" {
		return false
	}
	_, err := strconv.ParseUint(digits, 10, 64)
	return err == nil
}

// limits caps what the registry may take from the machine; the operator
// raises them with service-memory-max and service-tasks-max.
func limits(o UnitOptions) []string {
	var l []string
	if o.MemoryMax != "" {
		l = append(l, "MemoryMax="+o.MemoryMax)
	}
	if o.MemoryMaxBytes > 0 {
		// The garbage collector works harder as the heap nears this, so
		// the registry slows down before the kernel kills it. 90% leaves
		// room for what Go does not count (stacks of cgo-free threads,
		// the page cache charged to the service's cgroup is reclaimable).
		l = append(l, fmt.Sprintf("Environment=GOMEMLIMIT=%d", o.MemoryMaxBytes/10*9))
	}
	tasks := "infinity"
	if o.TasksMax > 0 {
		tasks = strconv.Itoa(o.TasksMax)
	}
	return append(l, "TasksMax="+tasks)
}

// hardening confines the registry: it needs to read its config and write
// only its data (and its config dir, where the charm rotates files it
// reads), bind nothing but what systemd hands it (and the debug port),
// and talk to S3, upstream registries and token services over the
// network. `systemd-analyze security` scores it about 1.6 (unit_test.go
// checks ≤ 2.0); what is left open is the network itself
// (PrivateNetwork=, IPAddressDeny=: storage and upstreams can be
// anywhere), PrivateUsers= (it would take the debug port's
// CAP_NET_BIND_SERVICE away) and the @privileged/@resources syscalls that
// @system-service allows.
func hardening(o UnitOptions) []string {
	caps := "CapabilityBoundingSet="
	ambient := "AmbientCapabilities="
	if o.BindsPrivilegedPort {
		caps = "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"
		ambient = "AmbientCapabilities=CAP_NET_BIND_SERVICE"
	}
	return []string{
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths=" + o.DataDir,
		"ReadOnlyPaths=" + o.ConfigDir,
		// /run/docker-registry, owned by the service user, 0750: only
		// root and the service reach the control socket in it. Removed
		// when the service stops.
		"RuntimeDirectory=" + path.Base(path.Dir(o.ControlSocket)),
		"RuntimeDirectoryMode=0750",
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"PrivateMounts=yes",
		"ProtectHome=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"ProtectControlGroups=yes",
		"ProtectClock=yes",
		"ProtectHostname=yes",
		// The registry reads nothing of other processes; /proc/self
		// (what Go and the registry use) stays. /proc/sys goes: Go then
		// sizes the backlog of listeners it opens itself (debug port,
		// control socket) without somaxconn; the registry port's is the
		// socket unit's Backlog=.
		"ProtectProc=invisible",
		"ProcSubset=pid",
		"RestrictSUIDSGID=yes",
		"RestrictNamespaces=yes",
		"RestrictRealtime=yes",
		"RemoveIPC=yes",
		"LockPersonality=yes",
		// Go never maps memory writable and executable (no JIT, no cgo
		// in this binary).
		"MemoryDenyWriteExecute=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallArchitectures=native",
		// @system-service is what a network daemon needs; the few probes
		// Go makes outside it (e.g. for newer syscalls) get EPERM, an
		// answer the runtime and the standard library take as "not
		// available", instead of the process being killed.
		"SystemCallFilter=@system-service",
		"SystemCallErrorNumber=EPERM",
		caps,
		ambient,
		"UMask=0077",
	}
}

func section(b *strings.Builder, name string, lines ...string) {
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "[%s]\n", name)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
}
