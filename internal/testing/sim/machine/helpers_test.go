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

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// newCloud creates a cloud and, after it is closed, checks that it left
// no namespace, mount or process behind.
func newCloud(t *testing.T) *machine.Cloud {
	t.Helper()
	if reason := machine.Unsupported(); reason != "" {
		t.Skip(reason)
	}
	var c *machine.Cloud
	var procs map[int]string
	t.Cleanup(func() { checkClean(t, c, procs) })
	c = machine.NewCloud(t)
	t.Cleanup(func() {
		procs = machineProcesses(c)
		checkAgentLogs(t, c)
	})
	return c
}

// machineProcesses finds every process in the PID namespaces of the
// cloud's running agents, by PID and start time (namespace inode numbers
// and PIDs are both reused, the pair is not).
func machineProcesses(c *machine.Cloud) map[int]string {
	ns := map[string]bool{}
	for pid := range processes() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmdline), "agent\x00--state\x00"+c.StateDir()+"/") {
			if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil {
				ns[link] = true
			}
		}
	}
	procs := map[int]string{}
	for pid := range processes() {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && ns[link] {
			procs[pid] = startTime(pid)
		}
	}
	return procs
}

// startTime is field 22 of /proc/PID/stat, or "" if PID is gone.
func startTime(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
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

func checkClean(t *testing.T, c *machine.Cloud, procs map[int]string) {
	if c == nil {
		return
	}
	if len(procs) == 0 && !t.Failed() {
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
	for pid, start := range procs {
		if startTime(pid) == start {
			stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			t.Errorf("process of a machine left behind: %s", stat)
		}
	}
}

// checkAgentLogs fails on what an agent reported: with SIMMACHINE_RACE
// set, data races inside the agents.
func checkAgentLogs(t *testing.T, c *machine.Cloud) {
	logs, _ := filepath.Glob(filepath.Join(c.StateDir(), "*", "agent.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if strings.Contains(string(data), "DATA RACE") || strings.Contains(string(data), "panic:") {
			t.Errorf("%s:\n%s", l, data)
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
