package machine

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// startSocket binds every ListenStream= and keeps the sockets in the
// manager, so the service can stop and start while clients queue in the
// kernel's backlog instead of being refused.
func (m *manager) startSocket(us *unitState) error {
	m.mu.Lock()
	listening := len(us.listeners) > 0
	m.mu.Unlock()
	if listening {
		return nil
	}
	var files []*os.File
	for _, addr := range us.unit.Socket.ListenStream {
		f, err := listenStream(addr)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			m.fail(us, 1)
			return fmt.Errorf("Job for %s failed: %w", us.name, err)
		}
		files = append(files, f)
	}
	w, err := newSocketWatch()
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return err
	}
	m.mu.Lock()
	us.listeners, us.watch = files, w
	m.mu.Unlock()
	m.setState(us, "active", "listening")
	go m.watchSocket(us, files[0], w)
	return nil
}

// socketWatch lets stopSocket interrupt the activation watcher's poll:
// a socket closed while polled stays bound (and its port taken) until
// the poll returns.
type socketWatch struct {
	pollMu       sync.Mutex // held only while polling
	wakeR, wakeW *os.File
}

func newSocketWatch() (*socketWatch, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("cannot create socket watch: %w", err)
	}
	return &socketWatch{wakeR: r, wakeW: w}, nil
}

// listenStream binds "5000", "127.0.0.1:5000", "[::]:5000" or "/path".
func listenStream(addr string) (*os.File, error) {
	network := "tcp"
	switch {
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "@"):
		network = "unix"
		if !strings.HasPrefix(addr, "@") {
			os.Remove(addr)
		}
	case !strings.Contains(addr, ":"):
		addr = ":" + addr
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	defer l.Close()
	var f *os.File
	switch l := l.(type) {
	case *net.TCPListener:
		f, err = l.File()
	case *net.UnixListener:
		l.SetUnlinkOnClose(false)
		f, err = l.File()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot take socket %s: %w", addr, err)
	}
	return f, nil
}

func (m *manager) stopSocket(us *unitState) {
	m.mu.Lock()
	files, w := us.listeners, us.watch
	us.listeners, us.watch = nil, nil
	m.mu.Unlock()
	if w != nil {
		w.wakeW.Write([]byte{1})
		w.pollMu.Lock() // the watcher is out of poll and will not re-enter it
	}
	for _, f := range files {
		f.Close()
	}
	if w != nil {
		w.pollMu.Unlock()
		w.wakeW.Close()
	}
	m.setState(us, "inactive", "dead")
}

// socketsFor returns the listening sockets to pass to a service: those
// of active socket units that activate it.
func (m *manager) socketsFor(service string) []*os.File {
	m.mu.Lock()
	defer m.mu.Unlock()
	var files []*os.File
	for _, us := range m.socketUnits(service) {
		files = append(files, us.listeners...)
	}
	return files
}

func (m *manager) fdNames(service string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for _, us := range m.socketUnits(service) {
		name := us.unit.Socket.FDName
		if name == "" {
			name = us.name
		}
		for range us.listeners {
			names = append(names, name)
		}
	}
	return strings.Join(names, ":")
}

// socketUnits lists, in name order, the loaded socket units of service.
// Callers hold m.mu.
func (m *manager) socketUnits(service string) []*unitState {
	var out []*unitState
	for _, us := range m.units {
		if us.unit != nil && us.unit.Kind == "socket" && us.unit.ServiceName() == service {
			out = append(out, us)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].name < out[j-1].name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// watchSocket is socket activation: a pending connection on a listening
// socket whose service is not running starts the service. It ends when
// stopSocket wakes it (first identifies the sockets it watches).
func (m *manager) watchSocket(us *unitState, first *os.File, w *socketWatch) {
	defer w.wakeR.Close()
	for {
		m.mu.Lock()
		if len(us.listeners) == 0 || us.listeners[0] != first {
			m.mu.Unlock()
			return
		}
		fds := []unix.PollFd{{Fd: int32(w.wakeR.Fd()), Events: unix.POLLIN}}
		for _, f := range us.listeners {
			fds = append(fds, unix.PollFd{Fd: int32(rawFD(f)), Events: unix.POLLIN})
		}
		m.mu.Unlock()
		w.pollMu.Lock()
		n, _ := unix.Poll(fds, 1000)
		w.pollMu.Unlock()
		if fds[0].Revents != 0 {
			return
		}
		if n > 0 {
			m.activate(us, first)
		}
	}
}

func (m *manager) activate(socket *unitState, first *os.File) {
	svc := m.get(socket.unit.ServiceName())
	m.mu.Lock()
	idle := svc.main == nil && svc.sub != "auto-restart" && svc.active != "activating"
	m.mu.Unlock()
	if !idle {
		time.Sleep(100 * time.Millisecond) // the service has not accepted yet
		return
	}
	m.jobs.Lock()
	defer m.jobs.Unlock()
	m.mu.Lock()
	still := len(socket.listeners) > 0 && socket.listeners[0] == first && svc.main == nil && svc.sub != "auto-restart"
	m.mu.Unlock()
	if still && svc.unit != nil {
		if err := m.start(svc.name, map[string]bool{}); err != nil {
			m.logf(socket, "cannot activate %s: %v", svc.name, err)
			time.Sleep(time.Second)
		}
	}
}

// rawFD returns f's descriptor without File.Fd's side effect: Fd puts a
// non-blocking descriptor into blocking mode, and O_NONBLOCK belongs to the
// open file description that the service shares. A service whose listening
// socket turns blocking under it hangs in accept(2) and cannot close it on
// stop. systemd never touches its sockets' flags after creating them.
func rawFD(f *os.File) uintptr {
	var fd uintptr
	raw, err := f.SyscallConn()
	if err != nil {
		return f.Fd()
	}
	_ = raw.Control(func(d uintptr) { fd = d })
	return fd
}
