package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/registry"
)

// The unit allows the registry only the system calls of systemd's
// @system-service set (SystemCallFilter=, the rest fail with EPERM). This
// runs `serve` under strace through start-up, a push, a pull, a reload, a
// health question and shutdown, and checks that every system call it made
// is in that set, as this machine's systemd-analyze expands it: a new
// dependency or Go release that needs more fails here rather than on an
// operator's machine. The trace also shows no memory both writable and
// executable (MemoryDenyWriteExecute=).
func TestServeStaysWithinSystemServiceSyscalls(t *testing.T) {
	if os.Getenv("SYSCALLS_HELPER_CONFIG") != "" {
		// strace keeps signals to itself: the test signals this process.
		os.WriteFile(os.Getenv("SYSCALLS_HELPER_PIDFILE"), []byte(strconv.Itoa(os.Getpid())), 0o600)
		os.Exit(serve([]string{"--config", os.Getenv("SYSCALLS_HELPER_CONFIG"), "--control", os.Getenv("SYSCALLS_HELPER_CONTROL")}))
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed (apt-get install strace): cannot trace the registry's system calls")
	}
	allowed, err := syscallSet("@system-service", map[string]bool{})
	if err != nil {
		t.Skipf("systemd-analyze cannot expand @system-service (apt-get install systemd): %v", err)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n  secret: s\nhealth:\n  storagedriver:\n    enabled: true\n    interval: 1s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	control := filepath.Join(dir, "control.sock")
	trace := filepath.Join(dir, "trace")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pidfile := filepath.Join(dir, "pid")
	cmd := exec.CommandContext(ctx, strace, "-f", "-qq", "-o", trace, self, "-test.run=^TestServeStaysWithinSystemServiceSyscalls$")
	cmd.Env = append(os.Environ(), "SYSCALLS_HELPER_CONFIG="+cfg, "SYSCALLS_HELPER_CONTROL="+control, "SYSCALLS_HELPER_PIDFILE="+pidfile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	exercise(t, addr, control)
	pid, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(string(pid))
	if err := syscall.Kill(n, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve under strace: %v\n%s", err, out.String())
	}
	data, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\d+\s+([a-z0-9_]+)\(`).FindAllSubmatch(data, -1) {
		used[string(m[1])] = true
	}
	var outside []string
	for s := range used {
		if !allowed[s] {
			outside = append(outside, s)
		}
	}
	sort.Strings(outside)
	t.Logf("%d distinct system calls, %d in @system-service (%d calls)", len(used), len(used)-len(outside), bytes.Count(data, []byte("\n")))
	if len(outside) > 0 {
		t.Errorf("serve made system calls outside @system-service, which the unit's filter refuses: %v", outside)
	}
	// What MemoryDenyWriteExecute= refuses: memory both writable and
	// executable, or made executable after the fact. (The test binary,
	// unlike the charm's static one, may map libc's code: allowed.)
	wx := regexp.MustCompile(`(?m)^\d+\s+(mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|mprotect\(.*PROT_EXEC).*$`)
	if m := wx.Find(data); m != nil {
		t.Errorf("serve asked for memory MemoryDenyWriteExecute= refuses: %s", m)
	}
}

// exercise waits for the registry, pushes and pulls a blob, reloads and
// asks about health.
func exercise(t *testing.T, addr, control string) {
	t.Helper()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry did not answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	blob := []byte("hello")
	const digest = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	resp, err := http.Post(base+"/v2/t/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+digest, bytes.NewReader(blob))
	if !strings.HasPrefix(loc, "http") {
		req, _ = http.NewRequest(http.MethodPut, base+loc+sep+"digest="+digest, bytes.NewReader(blob))
	}
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err = http.Get(base + "/v2/t/blobs/" + digest); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pull: %v %v", resp, err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := registry.RequestReload(ctx, control, true); err != nil {
		t.Fatal(err)
	}
	if _, err := registry.RequestFailingChecks(ctx, control); err != nil {
		t.Fatal(err)
	}
}

// syscallSet expands a systemd system call group with systemd-analyze.
func syscallSet(group string, into map[string]bool) (map[string]bool, error) {
	out, err := exec.Command("systemd-analyze", "syscall-filter", "--no-pager", group).Output()
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(out), "\n")
	for _, l := range lines[1:] { // the first line names the group
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "@"):
			if _, err := syscallSet(l, into); err != nil {
				return nil, err
			}
		default:
			into[l] = true
		}
	}
	return into, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
