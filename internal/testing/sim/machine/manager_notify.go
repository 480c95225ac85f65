package machine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"
)

// notifier is the NOTIFY_SOCKET of one Type=notify start: an abstract
// datagram socket, private to the machine's network namespace.
type notifier struct {
	addr  string
	conn  *net.UnixConn
	ready chan struct{}
}

func newNotifier(unit string) (*notifier, error) {
	b := make([]byte, 8)
	rand.Read(b)
	addr := "@simmachine-notify-" + unit + "-" + hex.EncodeToString(b)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("cannot create NOTIFY_SOCKET for %s: %w", unit, err)
	}
	return &notifier{addr: addr, conn: conn, ready: make(chan struct{})}, nil
}

// read records STATUS= and signals READY=1 until the socket is closed.
func (n *notifier) read(m *manager, us *unitState) {
	buf := make([]byte, 4096)
	readyOnce := false
	for {
		k, err := n.conn.Read(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:k]), "\n") {
			switch {
			case line == "READY=1" && !readyOnce:
				readyOnce = true
				close(n.ready)
			case strings.HasPrefix(line, "STATUS="):
				m.mu.Lock()
				us.status = strings.TrimPrefix(line, "STATUS=")
				m.mu.Unlock()
			}
		}
	}
}

// waitReady blocks the start job until the service says READY=1, exits,
// or overruns TimeoutStartSec=, as systemctl start does for Type=notify.
func (m *manager) waitReady(us *unitState, p *proc, n *notifier) error {
	go n.read(m, us)
	go func() { <-p.done; n.conn.Close() }()
	timeout := us.unit.Service.TimeoutStartSec
	if timeout <= 0 {
		timeout = DefaultTimeoutStopSec
	}
	select {
	case <-n.ready:
		m.mu.Lock()
		if us.main == p {
			us.active, us.sub, us.since = "active", "running", time.Now()
		}
		m.mu.Unlock()
		return nil
	case <-p.done:
		return fmt.Errorf("Job for %s failed: the process exited before READY=1", us.name)
	case <-time.After(timeout):
		m.logf(us, "start operation timed out, terminating")
		m.stopService(us)
		m.fail(us, 1)
		return fmt.Errorf("Job for %s failed: timeout waiting for READY=1", us.name)
	}
}
