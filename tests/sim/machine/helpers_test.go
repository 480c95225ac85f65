package machine_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/tests/sim/machine"
)

// newCloud creates a cloud and, after it is closed, checks that it left
// no namespace, mount or process behind.
func newCloud(t *testing.T) *machine.Cloud {
	t.Helper()
	if reason := machine.Unsupported(); reason != "" {
		t.Skip(reason)
	}
	var c *machine.Cloud
	var pidns map[string]bool
	t.Cleanup(func() { checkClean(t, c, pidns) })
	c = machine.NewCloud(t)
	t.Cleanup(func() { pidns = machinePIDNamespaces(c) })
	return c
}

// machinePIDNamespaces finds the PID namespaces of the cloud's running
// agents: every process of a machine is in one of them.
func machinePIDNamespaces(c *machine.Cloud) map[string]bool {
	ns := map[string]bool{}
	for pid := range processes() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), "agent\x00--state\x00"+c.StateDir()) {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil {
				ns[link] = true
			}
		}
	}
	return ns
}

func processes() map[int]bool {
	pids := map[int]bool{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
			pids[pid] = true
		}
	}
	return pids
}

func checkClean(t *testing.T, c *machine.Cloud, pidns map[string]bool) {
	if c == nil {
		return
	}
	if len(pidns) == 0 && !t.Failed() {
		t.Errorf("found no running agents before cleanup")
	}
	for _, ns := range c.Namespaces() {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("network namespace %s left behind", ns)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), c.StateDir()) {
		t.Errorf("mount under %s left behind", c.StateDir())
	}
	for pid := range processes() {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && pidns[link] {
			t.Errorf("process %d of a machine left behind", pid)
		}
	}
}

func newMachine(t *testing.T, c *machine.Cloud, name string) *machine.Machine {
	t.Helper()
	start := time.Now()
	m, err := c.NewMachine(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("machine %s (%s) booted in %v", name, m.Addr(), time.Since(start))
	return m
}

var svc struct {
	once sync.Once
	data []byte
	err  error
}

// installSvc builds the test workload once and installs it in m.
func installSvc(t *testing.T, m *machine.Machine) {
	t.Helper()
	svc.once.Do(func() {
		dir, err := os.MkdirTemp("", "svc-")
		if err != nil {
			svc.err = err
			return
		}
		defer os.RemoveAll(dir)
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "svc"), "./testdata/svc").CombinedOutput()
		if err != nil {
			svc.err = fmt.Errorf("cannot build svc: %v\n%s", err, out)
			return
		}
		svc.data, svc.err = os.ReadFile(filepath.Join(dir, "svc"))
	})
	if svc.err != nil {
		t.Fatal(svc.err)
	}
	if err := m.WriteFile("/usr/local/bin/svc", svc.data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// get fetches url through the cloud's client namespace.
func get(ctx context.Context, c *machine.Cloud, url string) (string, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: c.DialContext, DisableKeepAlives: true}}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func mustGet(t *testing.T, c *machine.Cloud, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := get(ctx, c, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return body
}

// eventually retries f until it succeeds or 10 s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func systemctl(t *testing.T, m *machine.Machine, args ...string) machine.Result {
	t.Helper()
	r, err := m.Systemctl(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSystemctl(t *testing.T, m *machine.Machine, args ...string) string {
	t.Helper()
	r := systemctl(t, m, args...)
	if r.ExitCode != 0 {
		t.Fatalf("systemctl %s: exit %d: %s%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
	}
	return string(r.Stdout)
}

func run(t *testing.T, m *machine.Machine, name string, args ...string) string {
	t.Helper()
	out, err := m.Command(context.Background(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
