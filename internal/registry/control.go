package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The control socket makes `systemctl reload` synchronous. systemd runs
// ExecReload (`docker-registry reload`) and waits for it; that command asks
// the running server to reload over this socket and exits only when the
// new configuration serves, or with the reason it could not. So when the
// charm's reload returns, clients already see the new configuration, and a
// configuration the registry refuses fails the reload visibly instead of
// being logged and forgotten.
//
// The socket is abstract: it needs no writable path under ProtectSystem=
// strict, and it lives in the network namespace, one per machine. Only
// root and the service's own user may use it.

const controlTimeout = 60 * time.Second

// controlAddr names the socket after the configuration file, so that two
// registries on one machine (tests) do not answer for each other.
func controlAddr(configPath string) string {
	return "@docker-registry-control:" + configPath
}

// Requests on the control socket.
const (
	reqReload = "reload"
	// reqReloadDrain also waits until every request that started on an
	// earlier configuration has finished: garbage collection needs no
	// upload to still be committing when it marks.
	reqReloadDrain = "reload-drain"
	// reqHealth asks which of the serving configuration's health checks
	// (the storage driver's) fail. Over HTTP only "/" could tell, and on a
	// TLS port only after a handshake.
	reqHealth = "health"
)

// control is what the control socket serves.
type control struct {
	reload func() error
	drain  func()
	// failing names the failing health checks of the serving
	// configuration.
	failing func() []string
}

// ListenControl serves reload and health requests for s until ctx is done.
func ListenControl(ctx context.Context, configPath string, s *Server) error {
	return listenControl(ctx, configPath, control{reload: s.Reload, drain: s.WaitRetired, failing: s.FailingChecks})
}

func listenControl(ctx context.Context, configPath string, c control) error {
	ln, err := net.Listen("unix", controlAddr(configPath))
	if err != nil {
		return fmt.Errorf("cannot listen on the control socket: %w", err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveControl(conn.(*net.UnixConn), c)
		}
	}()
	return nil
}

func serveControl(conn *net.UnixConn, c control) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(controlTimeout))
	if err := checkPeer(conn); err != nil {
		fmt.Fprintf(conn, "error: %v\n", err)
		return
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	req := strings.TrimSpace(line)
	switch {
	case err != nil:
		fmt.Fprintln(conn, "error: unknown request")
	case req == reqHealth:
		// Check names only: their errors may quote storage URLs.
		if failing := c.failing(); len(failing) > 0 {
			fmt.Fprintf(conn, "failing: %s\n", strings.Join(failing, " "))
			return
		}
		fmt.Fprintln(conn, "ok")
	case req == reqReload || req == reqReloadDrain:
		if err := c.reload(); err != nil {
			fmt.Fprintf(conn, "error: %v\n", oneLine(err))
			return
		}
		if req == reqReloadDrain {
			c.drain()
		}
		fmt.Fprintln(conn, "ok")
	default:
		fmt.Fprintln(conn, "error: unknown request")
	}
}

// checkPeer admits root and the server's own user.
func checkPeer(conn *net.UnixConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if credErr != nil {
		return fmt.Errorf("cannot identify the caller: %w", credErr)
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Getuid() {
		return errors.New("permission denied")
	}
	return nil
}

// ErrUnreachable is a RequestReload that found no registry listening: it
// is not running, or is a version without a control socket.
var ErrUnreachable = errors.New("cannot reach the running registry")

// RequestReload asks the server of configPath to reload and waits for the
// outcome; with drain, also until requests on the previous configuration
// have finished.
func RequestReload(ctx context.Context, configPath string, drain bool) error {
	req := reqReload
	if drain {
		req = reqReloadDrain
	}
	line, err := ask(ctx, configPath, req)
	if err != nil {
		return err
	}
	if line != "ok" {
		return fmt.Errorf("the registry did not reload: %s", strings.TrimPrefix(line, "error: "))
	}
	return nil
}

// RequestFailingChecks asks the server of configPath which health checks of the
// configuration it serves fail (none: nil). A registry too old to answer
// is taken as healthy: its HTTP answers are all there is to go by.
func RequestFailingChecks(ctx context.Context, configPath string) ([]string, error) {
	line, err := ask(ctx, configPath, reqHealth)
	if err != nil {
		return nil, err
	}
	if names, ok := strings.CutPrefix(line, "failing: "); ok {
		return strings.Fields(names), nil
	}
	return nil, nil
}

// ask sends one request and returns the one-line answer.
func ask(ctx context.Context, configPath, req string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", controlAddr(configPath))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(controlTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = conn.SetDeadline(deadline)
	if _, err := fmt.Fprintln(conn, req); err != nil {
		return "", fmt.Errorf("cannot ask the registry (%s): %w", req, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("cannot read the registry's answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
