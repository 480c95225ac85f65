package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The control socket makes `systemctl reload` synchronous. systemd runs
// ExecReload (`docker-registry reload`) and waits for it; that command asks
// the running server to reload over this socket and exits only when the
// new configuration serves, or with the reason it could not. So when the
// charm's reload returns, clients already see the new configuration, and a
// configuration the registry refuses fails the reload visibly instead of
// being logged and forgotten. The charm also asks it which health checks
// fail.
//
// Who may answer matters: a false "ok" hides a failed reload, a false
// "failing" a healthy registry. The socket is therefore a file in the
// service's runtime directory (RuntimeDirectory= in the unit: systemd
// creates /run/docker-registry owned by the service user, mode 0750, and
// only root may create anything in /run), not an abstract socket, whose
// name any local user could bind while the service is down (and so also
// keep the service from starting). Both ends check the other with
// SO_PEERCRED as well, so that a socket path in a directory others can
// write is still refused:
//   - the server answers only root and its own user;
//   - the client believes only root and the owner of the socket's
//     directory (the service user), and only if no one else could have
//     created that directory (its parent is root's and writable by root
//     alone).

// DefaultControlSocket is where the service's control socket is: in the
// runtime directory the unit asks systemd for.
const DefaultControlSocket = "/run/docker-registry/control.sock"

const controlTimeout = 60 * time.Second

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

// ControlListener is a bound control socket, not serving yet: serve binds
// it before the registry starts, so that a socket it cannot bind stops the
// service (and systemd says why) instead of a registry nobody can reload.
type ControlListener struct {
	ln   *net.UnixListener
	path string
}

// ListenControl binds the control socket at path. A socket file left by a
// registry that is gone (killed before it could remove it) is replaced; a
// live one is an error.
func ListenControl(path string) (*ControlListener, error) {
	if err := removeStaleControlSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on the control socket %s: %w", path, err)
	}
	// Connecting needs write permission on the socket file: the service
	// user and root only (the directory and the peer check keep others
	// out as well; the service's UMask=0077 already gives this mode).
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot restrict the control socket %s: %w", path, err)
	}
	return &ControlListener{ln: ln, path: path}, nil
}

// removeStaleControlSocket removes a socket file nothing answers on.
func removeStaleControlSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot use the control socket %s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("cannot use the control socket %s: it exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("cannot use the control socket %s: another process serves it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove the stale control socket %s: %w", path, err)
	}
	return nil
}

// Serve answers reload and health requests for s until ctx is done, then
// closes the socket (which removes its file).
func (l *ControlListener) Serve(ctx context.Context, s *Server) {
	l.serve(ctx, control{reload: s.Reload, drain: s.WaitRetired, failing: s.FailingChecks})
}

func (l *ControlListener) serve(ctx context.Context, c control) {
	go func() {
		<-ctx.Done()
		l.ln.Close()
	}()
	go func() {
		for {
			conn, err := l.ln.AcceptUnix()
			if err != nil {
				return
			}
			go serveControl(conn, c)
		}
	}()
}

// listenControl binds and serves in one step (tests).
func listenControl(ctx context.Context, path string, c control) error {
	l, err := ListenControl(path)
	if err != nil {
		return err
	}
	l.serve(ctx, c)
	return nil
}

func serveControl(conn *net.UnixConn, c control) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(controlTimeout))
	if err := checkClient(conn); err != nil {
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

// checkClient admits root and the server's own user.
func checkClient(conn *net.UnixConn) error {
	uid, err := peerUID(conn)
	if err != nil {
		return err
	}
	if uid != 0 && uid != os.Getuid() {
		return fmt.Errorf("permission denied: uid %d may not use the registry's control socket (root and the registry's user only)", uid)
	}
	return nil
}

// peerUID is the user of the process at the other end of conn, as the
// kernel recorded it when the connection (client) or the socket (server)
// was made.
func peerUID(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if credErr != nil {
		return 0, fmt.Errorf("cannot identify the other end of the control socket: %w", credErr)
	}
	return int(cred.Uid), nil
}

// ErrUnreachable is a request that found no registry listening: it is not
// running, or is a version without this control socket.
var ErrUnreachable = errors.New("cannot reach the running registry")

// ErrImpostor is an answer from a process that is neither root nor the
// registry's user: it is not believed.
var ErrImpostor = errors.New("refusing the control socket's answer")

// RequestReload asks the server listening at socket to reload and waits
// for the outcome; with drain, also until requests on the previous
// configuration have finished.
func RequestReload(ctx context.Context, socket string, drain bool) error {
	req := reqReload
	if drain {
		req = reqReloadDrain
	}
	line, err := ask(ctx, socket, req)
	if err != nil {
		return err
	}
	if line != "ok" {
		return fmt.Errorf("the registry did not reload: %s", strings.TrimPrefix(line, "error: "))
	}
	return nil
}

// RequestFailingChecks asks the server listening at socket which health
// checks of the configuration it serves fail (none: nil).
func RequestFailingChecks(ctx context.Context, socket string) ([]string, error) {
	line, err := ask(ctx, socket, reqHealth)
	if err != nil {
		return nil, err
	}
	if names, ok := strings.CutPrefix(line, "failing: "); ok {
		return strings.Fields(names), nil
	}
	if rest, ok := strings.CutPrefix(line, "error: "); ok {
		return nil, fmt.Errorf("the registry did not answer: %s", rest)
	}
	return nil, nil
}

// ask sends one request and returns the one-line answer of a server it
// trusts.
func ask(ctx context.Context, socket, req string) (string, error) {
	owner, err := trustedOwner(filepath.Dir(socket))
	if err != nil {
		return "", err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()
	uid, err := peerUID(conn)
	if err != nil {
		return "", err
	}
	if uid != 0 && uid != owner {
		return "", fmt.Errorf("%w: %s is served by uid %d, which is neither root nor the registry's user (uid %d, the owner of %s)",
			ErrImpostor, socket, uid, owner, filepath.Dir(socket))
	}
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

// trustedOwner returns the owner of dir, the directory holding the
// control socket, after checking that no user but root and that owner
// could have put a socket there: dir is writable by its owner alone, and
// its parent (which decides who could create dir) is root's and writable
// by root alone. A missing dir means no registry runs.
func trustedOwner(dir string) (int, error) {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s does not exist (the registry service is not running)", ErrUnreachable, dir)
	}
	if err != nil {
		return 0, fmt.Errorf("cannot check the control socket's directory: %w", err)
	}
	owner, err := checkDir(dir, st)
	if err != nil {
		return 0, err
	}
	parent := filepath.Dir(dir)
	pst, err := os.Lstat(parent)
	if err != nil {
		return 0, fmt.Errorf("cannot check the control socket's directory: %w", err)
	}
	if puid, err := checkDir(parent, pst); err != nil {
		return 0, err
	} else if puid != 0 {
		return 0, fmt.Errorf("%w: %s is owned by uid %d, not root, so others could have made %s", ErrImpostor, parent, puid, dir)
	}
	return owner, nil
}

// checkDir refuses what is not a directory or is writable by others
// than its owner (a sticky world-writable /tmp included: anyone may
// create a directory there).
func checkDir(dir string, st fs.FileInfo) (int, error) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok {
		return 0, fmt.Errorf("%w: %s is not a directory", ErrImpostor, dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return 0, fmt.Errorf("%w: %s is writable by users other than its owner (mode %04o)", ErrImpostor, dir, st.Mode().Perm())
	}
	return int(sys.Uid), nil
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
