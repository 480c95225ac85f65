package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// ToolServer serves the model's hook tools on a unix socket to jujutool
// forwarders running in charm processes.
type ToolServer struct {
	m    *Model
	ln   net.Listener
	path string
	wg   sync.WaitGroup
}

// ServeTools listens on the filesystem socket path (abstract sockets do
// not cross network namespaces) and makes it the JUJU_AGENT_SOCKET_ADDRESS
// of later hooks. Close stops it.
func (m *Model) ServeTools(path string) (*ToolServer, error) {
	_ = os.Remove(path) // a stale socket from a killed run
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot serve hook tools: %w", err)
	}
	// Hooks may run as any user on the simulated machine.
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("cannot serve hook tools: %w", err)
	}
	m.mu.Lock()
	m.socket = path
	m.mu.Unlock()
	s := &ToolServer{m: m, ln: ln, path: path}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Path is the socket's path.
func (s *ToolServer) Path() string { return s.path }

func (s *ToolServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(conn)
		}()
	}
}

func (s *ToolServer) serve(conn net.Conn) {
	defer conn.Close()
	var req ToolRequest
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		resp := ToolResponse{Stderr: fmt.Appendf(nil, "ERROR bad request: %v\n", err), Code: 1}
		_ = json.NewEncoder(conn).Encode(resp)
		return
	}
	resp := s.m.execRemote(req)
	_ = json.NewEncoder(conn).Encode(resp)
}

// Close stops listening, waits for calls in flight and removes the socket.
func (s *ToolServer) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// execRemote is ExecContext for the forwarder, which writes -o files
// itself: the tool may run in another mount namespace.
func (m *Model) execRemote(req ToolRequest) ToolResponse {
	m.mu.Lock()
	hc := m.contexts[req.ContextID]
	m.mu.Unlock()
	if hc == nil {
		stdout, stderr, code := m.ExecContext(req.ContextID, req.Dir, req.Argv, req.Stdin)
		return ToolResponse{Stdout: stdout, Stderr: stderr, Code: code}
	}
	var out string
	stdout, stderr, code := m.exec(hc, req.Dir, req.Argv, req.Stdin, &out)
	return ToolResponse{Stdout: stdout, Stderr: stderr, Code: code, OutputFile: out}
}
