package machine

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The agent is PID 1 of the machine's PID namespace, so every orphan of
// every daemon becomes its child. One reaper collects them all with
// wait4(-1); processes the agent started register first, so their status
// reaches whoever waits on them. os/exec's Wait is never used: it would
// race with the reaper for the same children.
type reaper struct {
	mu    sync.Mutex
	procs map[int]*proc
}

// proc is a child process started through the reaper.
type proc struct {
	pid    int
	done   chan struct{}
	status unix.WaitStatus
}

func newReaper() *reaper {
	r := &reaper{procs: map[int]*proc{}}
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		for range ch {
			r.reap()
		}
	}()
	return r
}

func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
		if p := r.procs[pid]; p != nil {
			p.status = ws
			delete(r.procs, pid)
			close(p.done)
		}
	}
}

// start starts argv in its own process group. Holding the lock across
// the fork makes sure the child is registered before it can be reaped.
// With newNS the child gets a private copy of the mount namespace.
func (r *reaper) start(argv, env []string, dir string, files []*os.File, cred *syscall.Credential, newNS bool) (*proc, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if newNS {
		sys.Unshareflags = syscall.CLONE_NEWNS // Go also makes / private in the child
	}
	attr := &os.ProcAttr{Dir: dir, Env: env, Files: files, Sys: sys}
	p, err := os.StartProcess(argv[0], argv, attr)
	if err != nil {
		return nil, err
	}
	pr := &proc{pid: p.Pid, done: make(chan struct{})}
	r.procs[p.Pid] = pr
	p.Release()
	return pr, nil
}

// killAll kills every process of the machine but the agent.
func (r *reaper) killAll() {
	unix.Kill(-1, unix.SIGKILL)
}

// exitCode maps a wait status to a shell-style exit code.
func (p *proc) exitCode() int {
	if p.status.Signaled() {
		return 128 + int(p.status.Signal())
	}
	return p.status.ExitStatus()
}

func (p *proc) signal(sig unix.Signal, group bool) error {
	pid := p.pid
	if group {
		pid = -pid
	}
	if err := unix.Kill(pid, sig); err != nil && err != unix.ESRCH {
		return fmt.Errorf("cannot send %v to %d: %w", sig, p.pid, err)
	}
	return nil
}
