package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the uid (and gid) of the other local user in these tests.
const nobody = 65534

// asNobody runs this test binary as uid nobody in helper mode. The binary
// is run from an open file (/proc/self/fd/3) because the go tool builds it
// in a directory only root may enter.
func asNobody(t *testing.T, mode, socket string) *exec.Cmd {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a process as another user (nobody)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	cmd := &exec.Cmd{
		Path:       "/proc/self/fd/3",
		Args:       []string{"registry.test", "-test.run=^TestControlPeerHelper$"},
		Env:        []string{"CONTROL_HELPER=" + mode, "CONTROL_SOCKET=" + socket},
		ExtraFiles: []*os.File{bin},
		Dir:        "/",
		SysProcAttr: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true},
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	return cmd
}

// TestControlPeerHelper is the other user's process: a fake registry
// that answers every request "ok" (mode serve), or a client asking for a
// reload (mode ask). It does nothing in a normal test run.
func TestControlPeerHelper(t *testing.T) {
	socket := os.Getenv("CONTROL_SOCKET")
	switch os.Getenv("CONTROL_HELPER") {
	case "serve":
		ln, err := net.Listen("unix", socket)
		if err != nil {
			fmt.Println("cannot listen:", err)
			os.Exit(1)
		}
		os.Chmod(socket, 0o777)
		fmt.Println("listening")
		for {
			conn, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			bufio.NewReader(conn).ReadString('\n')
			fmt.Fprintln(conn, "ok")
			conn.Close()
		}
	case "ask":
		conn, err := net.Dial("unix", socket)
		if err != nil {
			fmt.Println("cannot dial:", err)
			os.Exit(1)
		}
		fmt.Fprintln(conn, reqReload)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		fmt.Print(line)
		os.Exit(0)
	}
}

// runDir makes a runtime directory like the one systemd creates for the
// service, in a root-owned parent only root may write.
func runDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	parent := t.TempDir()
	// Let nobody reach it; the test's own temporary directories are 0700.
	for d := parent; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(parent, "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startImpostor starts the other user's fake registry on socket and waits
// until it listens.
func startImpostor(t *testing.T, socket string) {
	t.Helper()
	cmd := asNobody(t, "serve", socket)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "listening" {
		t.Fatalf("the impostor did not listen: %q", line)
	}
}

// A local user who binds the control socket's name in a directory it can
// write (here one left writable by all, the worst case) and answers "ok"
// is not believed: its answer would hide a failed reload.
func TestControlClientRefusesAnotherUsersServer(t *testing.T) {
	dir := runDir(t, 0o777)
	socket := filepath.Join(dir, "control.sock")
	startImpostor(t, socket)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := RequestReload(ctx, socket, false)
	if !errors.Is(err, ErrImpostor) || !strings.Contains(err.Error(), "writable by users other than its owner") {
		t.Fatalf("reload answered by another user: got %v, want the directory refused", err)
	}
	// Even with the directory made private again afterwards, the socket
	// the impostor bound there stays: the peer check refuses it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err = RequestReload(ctx, socket, false)
	want := fmt.Sprintf("is served by uid %d, which is neither root nor the registry's user (uid 0", nobody)
	if !errors.Is(err, ErrImpostor) || !strings.Contains(err.Error(), want) {
		t.Fatalf("reload answered by uid %d: got %v, want %q", nobody, err, want)
	}
	if _, err := RequestFailingChecks(ctx, socket); !errors.Is(err, ErrImpostor) {
		t.Fatalf("health answered by uid %d: got %v, want refused", nobody, err)
	}
}

// The client also refuses a directory anyone could have created: its
// parent must be root's and writable by root alone.
func TestControlClientRefusesDirectoryOthersCouldMake(t *testing.T) {
	parent := runDir(t, 0o1777) // sticky and world-writable, like /tmp
	dir := filepath.Join(parent, "docker-registry")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := RequestReload(context.Background(), filepath.Join(dir, "control.sock"), false)
	if !errors.Is(err, ErrImpostor) || !strings.Contains(err.Error(), "writable by users other than its owner") {
		t.Fatalf("got %v, want the parent directory refused", err)
	}
}

// The server answers only root and its own user, even when the socket
// file is reachable.
func TestControlServerRefusesAnotherUsersClient(t *testing.T) {
	dir := runDir(t, 0o755)
	socket := filepath.Join(dir, "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := 0
	c := control{reload: func() error { reloads++; return nil }, drain: func() {}, failing: func() []string { return nil }}
	if err := listenControl(ctx, socket, c); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(socket, 0o777); err != nil { // as if the file mode were wrong
		t.Fatal(err)
	}
	out, err := asNobody(t, "ask", socket).Output()
	if err != nil {
		t.Fatalf("client as nobody: %v (%s)", err, out)
	}
	want := fmt.Sprintf("error: permission denied: uid %d may not use the registry's control socket", nobody)
	if !strings.HasPrefix(string(out), want) || reloads != 0 {
		t.Fatalf("nobody's reload: answer %q, reloads %d; want %q and none", out, reloads, want)
	}
	if err := RequestReload(ctx, socket, false); err != nil || reloads != 1 {
		t.Fatalf("root's reload: %v, reloads %d", err, reloads)
	}
}

// The server does not start on a socket another process serves, and
// replaces one nothing answers on (left by a killed registry).
func TestListenControlRefusesLiveSocketReplacesStale(t *testing.T) {
	dir := runDir(t, 0o755)
	socket := filepath.Join(dir, "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	c := control{reload: func() error { return nil }, drain: func() {}, failing: func() []string { return nil }}
	if err := listenControl(ctx, socket, c); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenControl(socket); err == nil || !strings.Contains(err.Error(), "another process serves it") {
		t.Fatalf("second server on a live socket: %v", err)
	}
	cancel()
	// A socket file nothing listens on, as SIGKILL leaves it.
	time.Sleep(50 * time.Millisecond)
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	l, err := ListenControl(socket)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l.ln.Close()
	if err := os.WriteFile(socket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenControl(socket); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("a plain file at the socket's path: %v", err)
	}
	if st, err := os.Stat(socket); err != nil || st.Mode().IsRegular() == false {
		t.Fatal("the plain file was removed")
	}
}
