package machine_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

const svcSocket = `[Unit]
Description=svc socket

[Socket]
ListenStream=8080

[Install]
WantedBy=sockets.target
`

const svcService = `[Unit]
Description=svc test service
After=network.target svc.socket
Requires=svc.socket

[Service]
Type=notify
User=simsvc
Group=simsvc
Environment="GREETING=hello world" STARTUP_DELAY=300ms
ExecStart=/usr/local/bin/svc
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=200ms
TimeoutStopSec=5
NoNewPrivileges=true
ProtectSystem=full
ReadWritePaths=/srv/registry /var/log

[Install]
WantedBy=multi-user.target
`

// serviceMachine is a machine with svc installed as a socket-activated
// service running as its own user.
func serviceMachine(t *testing.T) (*machine.Cloud, *machine.Machine) {
	c := newCloud(t)
	m := newMachine(t, c, "reg")
	installSvc(t, m)
	run(t, m, "useradd", "--system", "--no-create-home", "--user-group", "simsvc")
	run(t, m, "mkdir", "-p", "/srv/registry") // ReadWritePaths= must exist
	for name, data := range map[string]string{"svc.socket": svcSocket, "svc.service": svcService} {
		if err := m.WriteFile("/etc/systemd/system/"+name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustSystemctl(t, m, "daemon-reload")
	return c, m
}

var pidRE = regexp.MustCompile(`pid=(\d+)`)

func servedBy(t *testing.T, body string) string {
	t.Helper()
	m := pidRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no pid in %q", body)
	}
	return m[1]
}

func show(t *testing.T, m *machine.Machine, unit string) map[string]string {
	t.Helper()
	out := mustSystemctl(t, m, "show", "-p", "MainPID,ActiveState,SubState,NRestarts", unit)
	props := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("show printed %q", out)
		}
		props[k] = v
	}
	return props
}

func TestSocketActivatedService(t *testing.T) {
	c, m := serviceMachine(t)
	url := fmt.Sprintf("http://%s:8080/", m.Addr())
	if r := systemctl(t, m, "is-active", "svc"); r.ExitCode != 3 || string(r.Stdout) != "inactive\n" {
		t.Fatalf("before start: is-active %d %q", r.ExitCode, r.Stdout)
	}
	mustSystemctl(t, m, "start", "svc.socket", "svc.service")

	body := mustGet(t, c, url)
	uid := strings.TrimSpace(run(t, m, "id", "-u", "simsvc"))
	for _, want := range []string{"host=reg ", "uid=" + uid + " ", "via=socket", "nnp=1", `greeting="hello world"`, "fdnames=svc.socket"} {
		if !strings.Contains(body, want) {
			t.Errorf("service answered %q, want %q in it", body, want)
		}
	}
	pid := servedBy(t, body)
	props := show(t, m, "svc.service")
	if props["MainPID"] != pid || props["ActiveState"] != "active" || props["SubState"] != "running" || props["NRestarts"] != "0" {
		t.Errorf("show: %v, served by %s", props, pid)
	}

	t.Run("restart keeps the socket", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		ctx, cancel := context.WithCancel(context.Background())
		for i := 0; i < 3; i++ { // clients hammering across the restart
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
					// A request the old process had accepted may be reset
					// when it dies; a refused connection means the socket
					// was closed.
					if _, err := get(rctx, c, url); errors.Is(err, syscall.ECONNREFUSED) {
						errs <- err
					}
					rcancel()
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
		// The new process sleeps before serving: the clients above
		// arrive while nothing accepts, and must be queued, not refused.
		mustSystemctl(t, m, "restart", "svc")
		body := mustGet(t, c, url)
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("client during restart: %v", err)
		}
		if servedBy(t, body) == pid {
			t.Errorf("still served by the old process %s", pid)
		}
		pid = servedBy(t, body)
	})

	t.Run("reload sends SIGHUP to MainPID", func(t *testing.T) {
		mustSystemctl(t, m, "reload", "svc")
		eventually(t, "SIGHUP counted", func() error {
			if body := mustGet(t, c, url); !strings.Contains(body, "hups=1 ") || servedBy(t, body) != pid {
				return fmt.Errorf("after reload: %s", body)
			}
			return nil
		})
		if !strings.Contains(m.ServiceLog("svc"), "got SIGHUP") {
			t.Errorf("log lacks the SIGHUP:\n%s", m.ServiceLog("svc"))
		}
	})

	t.Run("Restart=always brings back a killed process", func(t *testing.T) {
		run(t, m, "kill", "-9", pid)
		eventually(t, "restarted", func() error {
			p := show(t, m, "svc")
			if p["NRestarts"] != "1" || p["ActiveState"] != "active" || p["MainPID"] == pid {
				return fmt.Errorf("show: %v", p)
			}
			return nil
		})
		pid = servedBy(t, mustGet(t, c, url))
	})

	t.Run("stop leaves the socket to activate the service", func(t *testing.T) {
		mustSystemctl(t, m, "stop", "svc")
		if r := systemctl(t, m, "is-active", "svc"); r.ExitCode != 3 {
			t.Errorf("after stop: is-active exit %d", r.ExitCode)
		}
		if out := mustSystemctl(t, m, "is-active", "svc.socket"); out != "active\n" {
			t.Errorf("socket: %q", out)
		}
		body := mustGet(t, c, url) // starts the service
		if servedBy(t, body) == pid {
			t.Errorf("served by the stopped process")
		}
	})

	t.Run("stopping the socket stops the service that requires it", func(t *testing.T) {
		mustSystemctl(t, m, "stop", "svc.socket")
		if out := systemctl(t, m, "is-active", "svc.socket", "svc.service"); string(out.Stdout) != "inactive\ninactive\n" {
			t.Errorf("after stopping the socket: %q", out.Stdout)
		}
		if r := systemctl(t, m, "start", "svc.service"); r.ExitCode != 0 {
			t.Fatalf("%s\n%s", r.Stderr, m.ServiceLog("svc.socket"))
		}
		if out := mustSystemctl(t, m, "is-active", "svc.socket", "svc.service"); out != "active\nactive\n" {
			t.Errorf("after starting the service: %q", out)
		}
		mustGet(t, c, url)
	})

	t.Run("hardening is recorded", func(t *testing.T) {
		out := mustSystemctl(t, m, "show", "-p", "ProtectSystem,ReadWritePaths,NoNewPrivileges,User", "svc")
		want := "ProtectSystem=full\nReadWritePaths=/srv/registry /var/log\nNoNewPrivileges=yes\nUser=simsvc\n"
		if out != want {
			t.Errorf("show: %q, want %q", out, want)
		}
	})
}

func TestEnabledServiceStartsAtBoot(t *testing.T) {
	c, m := serviceMachine(t)
	url := fmt.Sprintf("http://%s:8080/", m.Addr())
	if out := systemctl(t, m, "is-enabled", "svc"); out.ExitCode != 1 || string(out.Stdout) != "disabled\n" {
		t.Errorf("is-enabled before enable: %d %q", out.ExitCode, out.Stdout)
	}
	mustSystemctl(t, m, "enable", "svc.socket", "svc.service")
	if out := mustSystemctl(t, m, "is-enabled", "svc"); out != "enabled\n" {
		t.Errorf("is-enabled: %q", out)
	}
	if r := systemctl(t, m, "is-active", "svc"); r.ExitCode != 3 {
		t.Errorf("enable without --now started it")
	}
	if err := m.Reboot(); err != nil {
		t.Fatal(err)
	}
	if out := mustSystemctl(t, m, "is-active", "svc.socket", "svc.service"); out != "active\nactive\n" {
		t.Errorf("after reboot: %q", out)
	}
	body := mustGet(t, c, url)
	if !strings.Contains(body, "via=socket") {
		t.Errorf("after reboot: %s", body)
	}

	mustSystemctl(t, m, "disable", "--now", "svc.service")
	if err := m.Reboot(); err != nil {
		t.Fatal(err)
	}
	if out := systemctl(t, m, "is-active", "svc.service"); out.ExitCode != 3 {
		t.Errorf("disabled service started at boot")
	}
	// The socket is still enabled: a client activates the service.
	if body := mustGet(t, c, url); !strings.Contains(body, "via=socket") {
		t.Errorf("socket activation after reboot: %s", body)
	}
}

func TestServiceWithoutSocketFails(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	unit := "[Service]\nExecStart=/bin/sh -c 'echo $$MSG; exit 3'\nEnvironment=MSG=bye\n"
	if err := m.WriteFile("/etc/systemd/system/once.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "once")
	eventually(t, "failed", func() error {
		if r := systemctl(t, m, "is-failed", "once"); r.ExitCode != 0 {
			return fmt.Errorf("is-failed: %d %s", r.ExitCode, r.Stdout)
		}
		return nil
	})
	if !strings.Contains(m.ServiceLog("once"), "bye") {
		t.Errorf("log: %q", m.ServiceLog("once"))
	}
	for _, verb := range []string{"start", "stop", "restart"} {
		if r := systemctl(t, m, verb, "nope"); r.ExitCode != 5 {
			t.Errorf("%s of a missing unit: %d %s", verb, r.ExitCode, r.Stderr)
		}
	}
	for _, verb := range []string{"enable", "disable"} {
		if r := systemctl(t, m, verb, "nope"); r.ExitCode != 1 {
			t.Errorf("%s of a missing unit: %d %s", verb, r.ExitCode, r.Stderr)
		}
	}
	if out := mustSystemctl(t, m, "is-enabled", "once"); out != "static\n" {
		t.Errorf("is-enabled: %q", out)
	}
	if out := mustSystemctl(t, m, "cat", "once"); !strings.HasPrefix(out, "# /etc/systemd/system/once.service\n") {
		t.Errorf("cat: %q", out)
	}
}

func TestSandbox(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	installSvc(t, m)
	run(t, m, "mkdir", "-p", "/srv/registry", "/var/lib/registry-ro")
	unit := `[Service]
ExecStart=/usr/local/bin/svc
Environment=ADDR=:8080
ProtectSystem=strict
ReadWritePaths=/srv/registry -/does/not/exist
ProtectHome=yes
PrivateTmp=yes
`
	if err := m.WriteFile("/etc/systemd/system/box.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "box")
	base := fmt.Sprintf("http://%s:8080/write?path=", m.Addr())
	eventually(t, "serving", func() error { _, err := get(context.Background(), c, base+"/srv/registry/a"); return err })
	for path, want := range map[string]string{
		"/srv/registry/blob": "ok",
		"/tmp/private":       "ok",
		"/etc/x":             "read-only file system",
		"/var/lib/x":         "read-only file system",
		"/usr/local/x":       "read-only file system",
		"/root/x":            "read-only file system",
	} {
		if got := mustGet(t, c, base+path); !strings.Contains(got, want) {
			t.Errorf("writing %s: %q, want %q", path, got, want)
		}
	}
	if _, err := m.ReadFile("/srv/registry/blob"); err != nil {
		t.Errorf("the machine does not see the service's write: %v", err)
	}
	if _, err := m.ReadFile("/tmp/private"); err == nil {
		t.Errorf("PrivateTmp= file is visible outside the service")
	}
	// The machine itself is not confined.
	run(t, m, "touch", "/etc/x", "/var/lib/x")

	// A missing ReadWritePaths= entry fails the start, as in systemd.
	bad := strings.Replace(unit, "-/does/not/exist", "/does/not/exist", 1)
	if err := m.WriteFile("/etc/systemd/system/bad.service", []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "bad")
	eventually(t, "failed", func() error {
		if r := systemctl(t, m, "is-failed", "bad"); r.ExitCode != 0 {
			return fmt.Errorf("is-failed: %s", r.Stdout)
		}
		return nil
	})
	if log := m.ServiceLog("bad"); !strings.Contains(log, "ReadWritePaths=/does/not/exist") {
		t.Errorf("log: %s", log)
	}
}

func TestCapabilities(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	installSvc(t, m)
	run(t, m, "useradd", "--system", "--no-create-home", "--user-group", "simsvc")
	units := map[string]string{
		// An unprivileged user binds port 80 with an ambient capability.
		"low.service": `[Service]
ExecStart=/usr/local/bin/svc
Environment=ADDR=:80
User=simsvc
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
`,
		// Without it, the same bind fails.
		"nocap.service": "[Service]\nExecStart=/usr/local/bin/svc\nEnvironment=ADDR=:81\nUser=simsvc\n",
		// Root with an empty bounding set has no capability at all.
		"root.service": "[Service]\nExecStart=/usr/local/bin/svc\nEnvironment=ADDR=:8082\nCapabilityBoundingSet=\n",
	}
	for name, data := range units {
		if err := m.WriteFile("/etc/systemd/system/"+name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustSystemctl(t, m, "start", "low", "nocap", "root")
	var body string
	eventually(t, "port 80", func() error {
		var err error
		body, err = get(context.Background(), c, fmt.Sprintf("http://%s:80/", m.Addr()))
		return err
	})
	if !strings.Contains(body, "capeff=0000000000000400 capbnd=0000000000000400") || strings.Contains(body, "uid=0 ") {
		t.Errorf("low: %s", body)
	}
	eventually(t, "nocap fails", func() error {
		if !strings.Contains(m.ServiceLog("nocap"), "permission denied") {
			return fmt.Errorf("log: %s", m.ServiceLog("nocap"))
		}
		return nil
	})
	eventually(t, "root", func() error {
		var err error
		body, err = get(context.Background(), c, fmt.Sprintf("http://%s:8082/", m.Addr()))
		return err
	})
	if !strings.Contains(body, "uid=0 ") || !strings.Contains(body, "capeff=0000000000000000 capbnd=0000000000000000") {
		t.Errorf("root: %s", body)
	}
}

func TestNotifyService(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	installSvc(t, m)
	units := map[string]string{
		"slow.service":  "[Service]\nType=notify\nExecStart=/usr/local/bin/svc\nEnvironment=ADDR=:8080 STARTUP_DELAY=300ms\n",
		"never.service": "[Service]\nType=notify\nExecStart=/usr/local/bin/svc\nEnvironment=ADDR=:8081 NO_NOTIFY=1\nTimeoutStartSec=500ms\n",
	}
	for name, data := range units {
		if err := m.WriteFile("/etc/systemd/system/"+name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	mustSystemctl(t, m, "start", "slow")
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("start returned after %v, before READY=1", d)
	}
	// Ready means serving: no retry needed.
	mustGet(t, c, fmt.Sprintf("http://%s:8080/", m.Addr()))
	if out := mustSystemctl(t, m, "show", "-p", "ActiveState,StatusText", "slow"); out != "ActiveState=active\nStatusText=serving\n" {
		t.Errorf("show: %q", out)
	}
	if r := systemctl(t, m, "start", "never"); r.ExitCode == 0 || !strings.Contains(string(r.Stderr), "READY=1") {
		t.Errorf("start of a service that never notifies: %d %s", r.ExitCode, r.Stderr)
	}
	if r := systemctl(t, m, "is-failed", "never"); r.ExitCode != 0 {
		t.Errorf("never.service is %s", r.Stdout)
	}
}

func TestStartLimit(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	unit := "[Unit]\nStartLimitBurst=3\nStartLimitIntervalSec=10\n[Service]\nExecStart=/bin/false\nRestart=always\nRestartSec=50ms\n"
	if err := m.WriteFile("/etc/systemd/system/crash.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "crash")
	eventually(t, "start limit", func() error {
		out := mustSystemctl(t, m, "show", "-p", "ActiveState,NRestarts,Result", "crash")
		if out != "ActiveState=failed\nNRestarts=3\nResult=start-limit-hit\n" {
			return fmt.Errorf("show: %q", out)
		}
		return nil
	})
	mustSystemctl(t, m, "reset-failed", "crash")
	mustSystemctl(t, m, "start", "crash") // allowed again
}

func TestStopKillsTheWholeService(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	// The child leaves the process group; only its environment ties it
	// to the service, as its cgroup would under systemd.
	unit := "[Service]\nExecStart=/bin/sh -c 'setsid sleep 1001 & exec sleep 1002'\n"
	if err := m.WriteFile("/etc/systemd/system/fork.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "fork")
	eventually(t, "both running", func() error {
		if out, _ := m.Command(context.Background(), "pgrep", "-c", "-f", "sleep 100[12]").Output(); string(out) != "2\n" {
			return fmt.Errorf("pgrep: %q", out)
		}
		return nil
	})
	mustSystemctl(t, m, "stop", "fork")
	if out, _ := m.Command(context.Background(), "pgrep", "-a", "-f", "sleep 100[12]").Output(); len(out) != 0 {
		t.Errorf("left after stop: %s", out)
	}

	// KillMode=process stops the main process only.
	unit = strings.Replace(unit, "[Service]\n", "[Service]\nKillMode=process\n", 1)
	if err := m.WriteFile("/etc/systemd/system/fork.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "daemon-reload")
	mustSystemctl(t, m, "start", "fork")
	eventually(t, "both running", func() error {
		if out, _ := m.Command(context.Background(), "pgrep", "-c", "-f", "sleep 100[12]").Output(); string(out) != "2\n" {
			return fmt.Errorf("pgrep: %q", out)
		}
		return nil
	})
	mustSystemctl(t, m, "stop", "fork")
	if out, _ := m.Command(context.Background(), "pgrep", "-f", "sleep 100[12]").Output(); strings.Count(string(out), "\n") != 1 {
		t.Errorf("KillMode=process: left %q, want the setsid child only", out)
	}
}
