package machine

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// ip runs one or more ip(8) commands as a batch, in netns when given.
func ip(netns string, cmds ...string) error {
	args := []string{"-batch", "-"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot run ip %s: %v: %s", strings.Join(cmds, "; "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func netnsPath(name string) string { return "/run/netns/" + name }

// inNetns runs fn on an OS thread switched into the named network
// namespace. Sockets created and processes forked by fn keep that
// namespace; the thread is switched back before it is released. If it
// cannot be switched back it stays locked, and dies with the goroutine.
func inNetns(name string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot open own network namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(netnsPath(name))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot open network namespace %s: %w", name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot enter network namespace %s: %w", name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("cannot leave network namespace %s: %w", name, err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// dialIn dials addr (an IP literal and port) from inside netns.
func dialIn(ctx context.Context, netns, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := inNetns(netns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// listenIn listens on addr inside netns.
func listenIn(netns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(netns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}
