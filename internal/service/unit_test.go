package service

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

func baseOptions() UnitOptions {
	return UnitOptions{
		Description:     "Docker registry",
		Binary:          "/opt/docker-registry/bin/docker-registry",
		ConfigPath:      "/etc/docker/registry/config.yml",
		User:            "docker-registry",
		DataDir:         "/srv/registry",
		ConfigDir:       "/etc/docker/registry",
		ControlSocket:   "/run/docker-registry/control.sock",
		Port:            5000,
		EnvironmentFile: "/etc/docker/registry/environment",
		MemoryMax:       "2G",
		MemoryMaxBytes:  2 << 30,
		TasksMax:        4096,
	}
}

func render(t *testing.T, o UnitOptions) string {
	t.Helper()
	unit, err := ServiceFile(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(unit)
}

func TestServiceFileIsHardened(t *testing.T) {
	unit := render(t, baseOptions())
	for _, want := range []string{
		"ExecStart=/opt/docker-registry/bin/docker-registry serve --config /etc/docker/registry/config.yml --control /run/docker-registry/control.sock\n",
		"ExecReload=/opt/docker-registry/bin/docker-registry reload --config /etc/docker/registry/config.yml --control /run/docker-registry/control.sock\n",
		"User=docker-registry\n",
		"Restart=always\n",
		"NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n",
		"ReadWritePaths=/srv/registry\n",
		"RuntimeDirectory=docker-registry\n",
		"RuntimeDirectoryMode=0750\n",
		"PrivateTmp=yes\n",
		"ProtectHome=yes\n",
		"CapabilityBoundingSet=\n",
		"SystemCallFilter=@system-service\n",
		"SystemCallErrorNumber=EPERM\n",
		"MemoryDenyWriteExecute=yes\n",
		"ProtectProc=invisible\n",
		"ProcSubset=pid\n",
		"ProtectKernelLogs=yes\n",
		"ProtectClock=yes\n",
		"ProtectHostname=yes\n",
		"RestrictRealtime=yes\n",
		"RemoveIPC=yes\n",
		"MemoryMax=2G\n",
		"Environment=GOMEMLIMIT=1932735276\n",
		"TasksMax=4096\n",
		"Requires=docker-registry.socket\n",
		"EnvironmentFile=-/etc/docker/registry/environment\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("service unit lacks %q:\n%s", want, unit)
		}
	}
}

func TestServiceLimitsFollowOptions(t *testing.T) {
	o := baseOptions()
	o.MemoryMax, o.MemoryMaxBytes, o.TasksMax = "50%", 0, 0
	unit := render(t, o)
	if !strings.Contains(unit, "MemoryMax=50%\n") || strings.Contains(unit, "GOMEMLIMIT") || !strings.Contains(unit, "TasksMax=infinity\n") {
		t.Errorf("a relative memory limit and no task limit:\n%s", unit)
	}
	o.MemoryMax = ""
	if unit := render(t, o); strings.Contains(unit, "MemoryMax=") {
		t.Errorf("no memory limit:\n%s", unit)
	}
}

func TestServiceKeepsBindCapabilityOnlyForPrivilegedDebugPort(t *testing.T) {
	o := baseOptions()
	o.Port = 443 // bound by systemd through the socket: no capability
	if unit := render(t, o); !strings.Contains(unit, "CapabilityBoundingSet=\n") {
		t.Errorf("a privileged registry port must not grant capabilities:\n%s", unit)
	}
	o.BindsPrivilegedPort = true
	if unit := render(t, o); !strings.Contains(unit, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n") {
		t.Errorf("a privileged debug port needs CAP_NET_BIND_SERVICE:\n%s", unit)
	}
}

func TestSocketFileListensOnRegistryPort(t *testing.T) {
	o := baseOptions()
	o.Port = 5443
	sock := string(SocketFile(o))
	if !strings.Contains(sock, "ListenStream=5443\n") || !strings.Contains(sock, "Service=docker-registry.service\n") {
		t.Errorf("socket unit:\n%s", sock)
	}
}

// directives parses a rendered unit the way the simulator's systemd does
// (sections, continuation lines, comments) and returns every assignment.
func directives(t *testing.T, name string, unit []byte) map[string][]string {
	t.Helper()
	u, err := machine.ParseUnit(name, unit)
	if err != nil {
		t.Fatalf("%s does not parse: %v\n%s", name, err, unit)
	}
	return u.Directives
}

// A description (registry-name) built to break out of its line adds no
// directive and changes no other value: the units parse back to exactly
// the directives of a harmless description, and the description reads
// back as the text with its control characters made spaces.
func TestHostileDescriptionAddsNoDirective(t *testing.T) {
	base := baseOptions()
	wantService := directives(t, ServiceUnit, []byte(render(t, base)))
	wantSocket := directives(t, SocketUnit, SocketFile(base))
	hostile := map[string]string{
		"registry\nExecStartPre=+/bin/sh -c 'id > /root/pwned'": "registry ExecStartPre=+/bin/sh -c 'id > /root/pwned'",
		"registry\r\nExecStartPre=+/bin/true":                   "registry  ExecStartPre=+/bin/true",
		"registry\rExecStartPre=+/bin/true":                     "registry ExecStartPre=+/bin/true",
		"registry\n[Service]\nUser=root":                        "registry [Service] User=root",
		"registry\u2028ExecStartPre=+/bin/true":                 "registry ExecStartPre=+/bin/true",
		"registry\u0085ExecStartPre=+/bin/true":                 "registry ExecStartPre=+/bin/true",
		"registry\x00\x1b[2J":                                   "registry  [2J",
		"registry \\":                                           "registry", // would continue into the next line
		"registry\\\\\\":                                        "registry",
		"100% %H %u %%":                                         "100%% %%H %%u %%%%",
		"registry\xff":                                          "registry\uFFFD",
		strings.Repeat("r", 5000):                               strings.Repeat("r", 5000),
	}
	for in, want := range hostile {
		o := base
		o.Description = in
		unit := []byte(render(t, o))
		got := directives(t, ServiceUnit, unit)
		if d := got["Unit.Description"]; len(d) != 1 || d[0] != want {
			t.Errorf("Description=%q reads back %q, want %q", in, d, want)
		}
		got["Unit.Description"] = wantService["Unit.Description"]
		if !maps.EqualFunc(got, wantService, slices.Equal) {
			t.Errorf("Description=%q changed the directives:\n%s", in, unit)
		}
		sock := directives(t, SocketUnit, SocketFile(o))
		sock["Unit.Description"] = wantSocket["Unit.Description"]
		if !maps.EqualFunc(sock, wantSocket, slices.Equal) {
			t.Errorf("Description=%q changed the socket's directives:\n%s", in, SocketFile(o))
		}
		if n := strings.Count(string(unit), "\n"); n != strings.Count(render(t, base), "\n") {
			t.Errorf("Description=%q changed the number of lines", in)
		}
	}
}

// Every other value is a word of a command line or of a list: one that
// could split, expand or break a line is refused, not written.
func TestServiceFileRefusesUnsafeValues(t *testing.T) {
	for name, change := range map[string]func(*UnitOptions){
		"binary with a space":        func(o *UnitOptions) { o.Binary = "/opt/x y/docker-registry" },
		"config path with a newline": func(o *UnitOptions) { o.ConfigPath = "/etc/c.yml\nExecStartPre=+/bin/true" },
		"data dir with a variable":   func(o *UnitOptions) { o.DataDir = "/srv/$HOME" },
		"config dir with specifier":  func(o *UnitOptions) { o.ConfigDir = "/etc/%H" },
		"relative env file":          func(o *UnitOptions) { o.EnvironmentFile = "environment" },
		"user with a newline":        func(o *UnitOptions) { o.User = "docker-registry\nUser=root" },
		"socket outside /run":        func(o *UnitOptions) { o.ControlSocket = "/tmp/control.sock" },
		"socket deep in /run":        func(o *UnitOptions) { o.ControlSocket = "/run/a/b/control.sock" },
		"memory with a newline":      func(o *UnitOptions) { o.MemoryMax = "2G\nMemoryMax=infinity" },
		"memory two suffixes":        func(o *UnitOptions) { o.MemoryMax = "2GM" },
	} {
		o := baseOptions()
		change(&o)
		if unit, err := ServiceFile(o); err == nil {
			t.Errorf("%s: rendered\n%s", name, unit)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error spans lines: %q", name, err)
		}
	}
}

// systemd-analyze (Debian's systemd package) scores the rendered unit's
// exposure from 0 (locked down) to 10; the charm promises at most 2.0,
// with and without the capability the debug port may need.
func TestSecurityScore(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): cannot score the unit")
	}
	score := regexp.MustCompile(`Overall exposure level for docker-registry\.service: ([0-9.]+)`)
	for _, privileged := range []bool{false, true} {
		o := baseOptions()
		o.BindsPrivilegedPort = privileged
		path := filepath.Join(t.TempDir(), ServiceUnit)
		if err := os.WriteFile(path, []byte(render(t, o)), 0o644); err != nil {
			t.Fatal(err)
		}
		// --threshold=100: the exit status says nothing about the score.
		out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=100", "--no-pager", path).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		m := score.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no overall exposure level in:\n%s", out)
		}
		got, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("BindsPrivilegedPort=%v: exposure %.1f", privileged, got)
		if got > 2.0 {
			t.Errorf("BindsPrivilegedPort=%v: exposure %.1f > 2.0:\n%s", privileged, got, out)
		}
	}
}
