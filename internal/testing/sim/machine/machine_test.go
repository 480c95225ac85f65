package machine_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

func TestMachinesSideBySide(t *testing.T) {
	c := newCloud(t)
	a, b := newMachine(t, c, "a"), newMachine(t, c, "b")
	if a.Addr() == b.Addr() {
		t.Fatalf("both machines have %s", a.Addr())
	}
	for _, m := range []*machine.Machine{a, b} {
		installSvc(t, m)
		cmd := m.Command(context.Background(), "svc")
		cmd.Env = append(m.DefaultEnv(), "ADDR=:8080")
		if _, err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// From the test process, through the client namespace.
	for _, m := range []*machine.Machine{a, b} {
		url := fmt.Sprintf("http://%s:8080/", m.Addr())
		eventually(t, "GET "+url, func() error {
			body, err := get(context.Background(), c, url)
			if err == nil && !strings.Contains(body, "host="+m.Name()+" ") {
				err = fmt.Errorf("answered by the wrong host: %s", body)
			}
			return err
		})
	}
	// From machine to machine over the segment, and by machine name.
	if out := run(t, a, "svc", "get", fmt.Sprintf("http://%s:8080/", b.Addr())); !strings.Contains(out, "host=b ") {
		t.Errorf("a reached %q, want b", out)
	}
	if body := mustGet(t, c, "http://b:8080/"); !strings.Contains(body, "host=b ") {
		t.Errorf("DialContext by name reached %q", body)
	}
	// Each machine's loopback is its own.
	if out := run(t, a, "svc", "get", "http://127.0.0.1:8080/"); !strings.Contains(out, "host=a ") {
		t.Errorf("a's loopback reached %q", out)
	}
}

func TestMachineReachesTestServer(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	l, err := c.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "from the test")
	}))
	installSvc(t, m)
	port := l.Addr().(*net.TCPAddr).Port
	out := run(t, m, "svc", "get", fmt.Sprintf("http://%s:%d/", c.ClientAddr(), port))
	if out != "from the test\n" {
		t.Errorf("got %q", out)
	}
}

func TestFilesystemIsolation(t *testing.T) {
	c := newCloud(t)
	a, b := newMachine(t, c, "a"), newMachine(t, c, "b")
	const cfg = "/etc/docker/registry/config.yml"
	run(t, a, "sh", "-c", "mkdir -p /etc/docker/registry && echo 'version: 0.1' > "+cfg)
	if err := a.WriteFile("/srv/registry/marker", []byte("a"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := a.ReadFile(cfg); err != nil || string(data) != "version: 0.1\n" {
		t.Errorf("a reads back %q, %v", data, err)
	}
	if _, err := b.ReadFile(cfg); err == nil {
		t.Errorf("b sees a's %s", cfg)
	}
	for _, p := range []string{cfg, "/srv/registry/marker"} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("host sees %s: %v", p, err)
		}
	}
	if data, err := os.ReadFile(a.Path(cfg)); err != nil || string(data) != "version: 0.1\n" {
		t.Errorf("a's upper layer holds %q, %v", data, err)
	}
	// Accounts live in the machine's own /etc.
	run(t, a, "useradd", "--system", "--no-create-home", "simsvc")
	if out, err := b.Command(context.Background(), "id", "simsvc").CombinedOutput(); err == nil {
		t.Errorf("b knows a's user: %s", out)
	}
	if host, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(host), "simsvc:") {
		t.Errorf("useradd in a changed the host's /etc/passwd")
	}
	// Production paths of the charm are writable; /tmp is shared.
	run(t, a, "sh", "-c", "mkdir -p /var/lib/juju /opt/x /usr/local/lib/x /root/.docker /run/x /etc/nagios/nrpe.d")
	if out := run(t, a, "hostname"); out != "a\n" {
		t.Errorf("hostname = %q", out)
	}
	if out := run(t, a, "getent", "hosts", "a"); !strings.HasPrefix(out, "127.0.1.1 ") {
		t.Errorf("getent hosts a = %q", out)
	}
}

func TestMachineStartsFast(t *testing.T) {
	c := newCloud(t)
	newMachine(t, c, "warm") // the first one may build the agent
	start := time.Now()
	m := newMachine(t, c, "fast")
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("machine took %v to boot", d)
	}
	if out := run(t, m, "true"); out != "" {
		t.Errorf("true printed %q", out)
	}
}

func TestCommandResult(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	r, err := m.Command(context.Background(), "sh", "-c", "echo out; echo err >&2; exit 7").Result()
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 7 || string(r.Stdout) != "out\n" || string(r.Stderr) != "err\n" {
		t.Errorf("got %+v", r)
	}
	var exit *machine.ExitError
	if err := m.Command(context.Background(), "false").Run(); !errors.As(err, &exit) || exit.Code != 1 {
		t.Errorf("false: %v", err)
	}
	if r, _ := m.Command(context.Background(), "no-such-program").Result(); r.ExitCode != 127 {
		t.Errorf("missing program: %+v", r)
	}
	cmd := m.Command(context.Background(), "cat")
	cmd.Stdin = []byte("in")
	if out, err := cmd.Output(); err != nil || string(out) != "in" {
		t.Errorf("cat: %q %v", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := m.Command(ctx, "sleep", "30").Result(); err == nil {
		t.Errorf("sleep outlived its context")
	}
	p, err := m.Command(context.Background(), "sh", "-c", "echo started; exec sleep 30").Start()
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "output", func() error {
		if p.Output() != "started\n" {
			return fmt.Errorf("output %q", p.Output())
		}
		return nil
	})
	if code, err := p.Stop(5 * time.Second); err != nil || code != 128+15 {
		t.Errorf("stop: %d %v", code, err)
	}
}

func TestLinkAndPower(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	installSvc(t, m)
	unit := "[Service]\nExecStart=/usr/local/bin/svc\nEnvironment=ADDR=:8080\n[Install]\nWantedBy=multi-user.target\n"
	if err := m.WriteFile("/etc/systemd/system/svc.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "enable", "--now", "svc")
	url := fmt.Sprintf("http://%s:8080/", m.Addr())
	eventually(t, "serving", func() error { _, err := get(context.Background(), c, url); return err })

	if err := m.SetLink(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := get(ctx, c, url); err == nil {
		t.Errorf("reached a machine whose link is down")
	}
	if err := m.SetLink(true); err != nil {
		t.Fatal(err)
	}
	mustGet(t, c, url)

	if err := m.PowerOff(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := get(ctx, c, url); err == nil {
		t.Errorf("reached a machine that is off")
	}
	if _, err := m.Command(context.Background(), "true").Result(); err == nil {
		t.Errorf("ran a command on a machine that is off")
	}
	if err := m.PowerOn(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "serving after power on", func() error { _, err := get(context.Background(), c, url); return err })
}
