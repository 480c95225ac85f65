package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// listenFDStart is the first file descriptor systemd passes to an activated
// service (SD_LISTEN_FDS_START).
const listenFDStart = 3

// systemdListener returns the socket systemd passed on fd 3, or nil when the
// process was not socket-activated. The LISTEN_* variables are unset so that
// a child process does not mistake itself for the activated service.
func systemdListener() (net.Listener, error) {
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil, nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		return nil, nil
	}
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	return listenerFromFD(listenFDStart)
}

// listenerFromFD turns an inherited listening socket into a net.Listener.
func listenerFromFD(fd int) (net.Listener, error) {
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd))
	// FileListener duplicates the descriptor, so ours can be closed.
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("cannot use socket-activation fd %d: %w", fd, err)
	}
	return ln, nil
}

// listen binds http.addr unless systemd already passed a socket.
func listen(network, addr string) (ln net.Listener, activated bool, err error) {
	ln, err = systemdListener()
	if err != nil || ln != nil {
		return ln, ln != nil, err
	}
	if network == "" {
		network = "tcp"
	}
	if network == "unix" {
		removeStaleSocket(addr)
	}
	ln, err = net.Listen(network, addr)
	if err != nil {
		return nil, false, fmt.Errorf("cannot listen on %s %q: %w", network, addr, err)
	}
	return ln, false, nil
}

// removeStaleSocket removes a unix socket left by a previous run; anything
// else at that path is left alone and makes Listen fail.
func removeStaleSocket(path string) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
}

// switchListener decides per accepted connection whether it speaks TLS, from
// the TLS settings current at accept time, so a reload can turn TLS on or off
// on the same socket. A TLS connection must reach http.Server as *tls.Conn
// (that is how it fills Request.TLS and answers plain HTTP with a 400), so
// the TLS side is not wrapped; the plain side rejects a TLS handshake itself.
type switchListener struct {
	net.Listener
	tls   *atomic.Pointer[tlsState]
	epoch sync.Map // net.Conn → uint64, handed to connContext once
}

func (l *switchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	st := l.tls.Load()
	if st.config == nil {
		return &plainConn{Conn: c, epoch: st.epoch}, nil
	}
	tc := tls.Server(c, st.config)
	l.epoch.Store(net.Conn(tc), st.epoch)
	return tc, nil
}

// connEpochKey carries the TLS epoch a connection was accepted under.
type connEpochKey struct{}

// connContext is http.Server.ConnContext: it records the TLS epoch of the
// connection so a request can tell whether its connection predates a change
// of TLS settings.
func (l *switchListener) connContext(ctx context.Context, c net.Conn) context.Context {
	var epoch uint64
	if pc, ok := c.(*plainConn); ok {
		epoch = pc.epoch
	} else if v, ok := l.epoch.LoadAndDelete(c); ok {
		epoch = v.(uint64)
	}
	return context.WithValue(ctx, connEpochKey{}, epoch)
}

func connEpoch(ctx context.Context) uint64 {
	v, _ := ctx.Value(connEpochKey{}).(uint64)
	return v
}

// tlsRecordHandshake is the first byte of every TLS ClientHello record.
const tlsRecordHandshake = 0x16

// alertHandshakeFailure is a fatal TLS handshake_failure alert record: the
// client reports "remote error: tls: handshake failure" instead of a reset
// or a garbled plain-HTTP 400.
var alertHandshakeFailure = []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28}

// errTLSOnPlain is returned by the first Read of a TLS client on a plain
// listener. It is a read OpError so that http.Server closes the connection
// quietly instead of writing a plain-HTTP 400 after the alert.
var errTLSOnPlain = &net.OpError{Op: "read", Net: "tcp",
	Err: errors.New("TLS handshake on a plain-HTTP listener")}

// plainConn is a connection accepted while TLS is off. Its first read checks
// for a TLS ClientHello.
type plainConn struct {
	net.Conn
	epoch   uint64
	checked bool
}

func (c *plainConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if p[0] == tlsRecordHandshake {
		c.Conn.Write(alertHandshakeFailure)
		return 0, errTLSOnPlain
	}
	return n, err
}

// CloseWrite lets http.Server half-close after a response, as it does for a
// bare *net.TCPConn.
func (c *plainConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the kernel copy paths (sendfile/splice) of *net.TCPConn.
func (c *plainConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}
