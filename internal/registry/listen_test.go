package registry

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The child side of TestSocketActivation: a re-executed test binary that
// plays the registry started by systemd with the socket on fd 3.
func init() {
	if os.Getenv("SERVE_TEST_ACTIVATED_CHILD") == "" {
		return
	}
	// systemd sets LISTEN_PID between fork and exec; os/exec cannot, so the
	// child sets it to itself.
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	os.Setenv("LISTEN_FDS", "1")
	err := Serve(context.Background(), ServeOptions{
		ConfigPath: os.Getenv("SERVE_TEST_CONFIG"),
		Stdout:     io.Discard,
		Stderr:     os.Stderr,
		Ready: func(s *Server) {
			fmt.Printf("ready %s LISTEN_FDS=%q LISTEN_PID=%q\n", s.Addr(), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_PID"))
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestSocketActivation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the child's copy (fd 3) keeps the socket listening

	// http.addr names a port in use, so the child fails if it binds instead
	// of taking fd 3.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yml")
	cfg := testConfig{Addr: busy.Addr().String(), RootDir: t.TempDir()}
	cfg.write(t, cfgPath)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SERVE_TEST_ACTIVATED_CHILD=1", "SERVE_TEST_CONFIG="+cfgPath)
	cmd.ExtraFiles = []*os.File{f}
	// Not REGISTRY_*: configuration.Parse takes those as overrides.
	var childLog syncBuffer
	cmd.Stderr = &childLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("child log:\n%s", childLog.String())
		}
	})
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the child did not get ready: %v", err)
	}
	if !strings.HasPrefix(line, "ready "+addr) || !strings.Contains(line, `LISTEN_FDS="" LISTEN_PID=""`) {
		t.Fatalf("child: %q; want it serving %s with LISTEN_* unset", line, addr)
	}
	ref, img := pushRandom(t, addr, "test/activated", 1<<16, 1)

	// SIGHUP reloads: switching on basic auth must show.
	htp := filepath.Join(dir, "htpasswd")
	writeHtpasswd(t, htp, map[string]string{"admin": "pw"})
	cfg.Htpasswd = htp
	cfg.write(t, cfgPath)
	cmd.Process.Signal(syscall.SIGHUP)
	waitStatus(t, "http://"+addr+"/v2/", http.StatusUnauthorized)
	if err := pullAndCompare(t, ref, img, basic("admin", "pw")); err != nil {
		t.Fatal(err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not stop on SIGTERM")
	}
}

// waitStatus polls url until it answers want (a SIGHUP reload is
// asynchronous to the sender).
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered %d (last: %v)", url, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSystemdListenerChecksPID(t *testing.T) {
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()+1))
	t.Setenv("LISTEN_FDS", "1")
	ln, err := systemdListener()
	if ln != nil || err != nil {
		t.Fatalf("systemdListener for another PID = %v, %v; want nil, nil", ln, err)
	}
	if os.Getenv("LISTEN_FDS") != "1" {
		t.Error("LISTEN_FDS meant for another process was unset")
	}
}

func TestListenBindsWithoutActivation(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	ln, activated, err := listen("", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if activated {
		t.Error("reported socket activation without LISTEN_PID")
	}
	sock := filepath.Join(t.TempDir(), "registry.sock")
	uln, _, err := listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	uln.Close()
}
