package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// startService runs ExecStartPre= then the main process.
func (m *manager) startService(us *unitState) error {
	m.mu.Lock()
	running := us.main != nil || us.active == "active"
	m.mu.Unlock()
	if running {
		return nil
	}
	m.mu.Lock()
	us.invocation = newInvocationID()
	m.mu.Unlock()
	svc := &us.unit.Service
	if err := m.makeRuntimeDirs(us); err != nil {
		m.fail(us, 233) // systemd's EXIT_RUNTIME_DIRECTORY
		return fmt.Errorf("Job for %s failed: %w", us.name, err)
	}
	for _, c := range svc.ExecStartPre {
		if code, err := m.runToEnd(us, c, nil); (err != nil || code != 0) && !c.IgnoreFail {
			m.fail(us, code)
			return fmt.Errorf("Job for %s failed: ExecStartPre exited %d %v", us.name, code, errOrEmpty(err))
		}
	}
	if svc.Type == "oneshot" {
		return m.startOneshot(us)
	}
	var n *notifier
	if svc.Type == "notify" {
		var err error
		if n, err = newNotifier(us.name); err != nil {
			return err
		}
	}
	p, err := m.spawnService(us, svc.ExecStart[0], nil, n)
	if err != nil {
		m.fail(us, 203)
		return fmt.Errorf("Job for %s failed: %w", us.name, err)
	}
	m.mu.Lock()
	us.main, us.result = p, "success"
	m.mu.Unlock()
	if n == nil {
		m.setState(us, "active", "running")
		go m.monitor(us, p)
		return nil
	}
	m.setState(us, "activating", "start")
	go m.monitor(us, p)
	return m.waitReady(us, p, n)
}

func (m *manager) startOneshot(us *unitState) error {
	m.setState(us, "activating", "start")
	for _, c := range us.unit.Service.ExecStart {
		if code, err := m.runToEnd(us, c, nil); (err != nil || code != 0) && !c.IgnoreFail {
			m.fail(us, code)
			return fmt.Errorf("Job for %s failed: exit %d %v", us.name, code, errOrEmpty(err))
		}
	}
	if us.unit.Service.RemainAfterExit {
		m.setState(us, "active", "exited")
	} else {
		m.setState(us, "inactive", "dead")
	}
	return nil
}

func (m *manager) fail(us *unitState, code int) {
	m.mu.Lock()
	us.result, us.exitCode = "exit-code", code
	m.mu.Unlock()
	m.setState(us, "failed", "failed")
}

// monitor handles the main process exiting on its own: Restart= decides.
// It is a job, so no start sees the unit half torn down.
func (m *manager) monitor(us *unitState, p *proc) {
	<-p.done
	m.jobs.Lock()
	defer m.jobs.Unlock()
	m.mu.Lock()
	if us.main != p {
		m.mu.Unlock()
		return // stopService took it over
	}
	us.main = nil
	us.exitCode = p.exitCode()
	clean := p.status.Exited() && p.status.ExitStatus() == 0
	gen := us.gen
	svc := us.unit.Service
	invocation := us.invocation
	m.mu.Unlock()
	m.setState(us, "deactivating", "stop-sigterm")
	m.logf(us, "main process %d exited, status %d", p.pid, p.exitCode())
	if svc.KillMode != "process" && svc.KillMode != "none" {
		sig, _ := ParseSignal(svc.KillSignal)
		reapInvocation(invocation, p.pid, sig, svc.TimeoutStopSec)
	}
	restarting := restartWanted(svc.Restart, clean, p)
	m.removeRuntimeDirs(us, restarting)
	if !restarting {
		if clean {
			m.setState(us, "inactive", "dead")
		} else {
			m.fail(us, p.exitCode())
		}
		return
	}
	m.setState(us, "activating", "auto-restart")
	time.AfterFunc(svc.RestartSec, func() { m.autoRestart(us, gen) })
}

func restartWanted(policy string, clean bool, p *proc) bool {
	switch policy {
	case "always":
		return true
	case "on-failure":
		return !clean
	case "on-abnormal", "on-abort":
		return p.status.Signaled()
	case "on-success":
		return clean
	}
	return false
}

func (m *manager) autoRestart(us *unitState, gen int) {
	m.jobs.Lock()
	defer m.jobs.Unlock()
	m.mu.Lock()
	stale := us.gen != gen || us.sub != "auto-restart"
	limited := !stale && m.startLimitHit(us)
	if !stale && !limited {
		us.nrestarts++
	}
	m.mu.Unlock()
	if stale {
		return
	}
	if limited {
		m.logf(us, "start request repeated too quickly, refusing to start")
		m.fail(us, us.exitCode)
		m.mu.Lock()
		us.result = "start-limit-hit"
		m.mu.Unlock()
		return
	}
	m.setState(us, "inactive", "dead")
	if err := m.startService(us); err != nil {
		m.logf(us, "cannot restart: %v", err)
	}
}

// startLimitHit records a restart and says whether it is one too many.
// Callers hold m.mu.
func (m *manager) startLimitHit(us *unitState) bool {
	u := us.unit
	if u.StartLimitBurst <= 0 || u.StartLimitInterval <= 0 {
		return false
	}
	now := time.Now()
	recent := us.starts[:0]
	for _, t := range us.starts {
		if now.Sub(t) < u.StartLimitInterval {
			recent = append(recent, t)
		}
	}
	us.starts = append(recent, now)
	return len(us.starts) > u.StartLimitBurst
}

// stopService sends KillSignal= to the main process group and waits up
// to TimeoutStopSec= before SIGKILL.
func (m *manager) stopService(us *unitState) error {
	m.mu.Lock()
	p := us.main
	us.main = nil
	m.mu.Unlock()
	if p == nil {
		m.mu.Lock()
		if us.active != "failed" {
			us.active, us.sub = "inactive", "dead"
		}
		m.mu.Unlock()
		return nil
	}
	m.setState(us, "deactivating", "stop-sigterm")
	svc := us.unit.Service
	for _, c := range svc.ExecStop {
		m.runToEnd(us, c, p)
	}
	sig, _ := ParseSignal(svc.KillSignal)
	m.mu.Lock()
	invocation := us.invocation
	m.mu.Unlock()
	signalStop(p, invocation, sig, svc.KillMode)
	waitOrKill(p, svc.TimeoutStopSec)
	switch svc.KillMode {
	case "mixed":
		killInvocation(invocation, p.pid, unix.SIGKILL)
	case "process", "none":
	default:
		waitInvocation(invocation, p.pid, svc.TimeoutStopSec)
	}
	m.logf(us, "stopped, main process %d status %d", p.pid, p.exitCode())
	m.removeRuntimeDirs(us, false)
	m.setState(us, "inactive", "dead")
	return nil
}

// reload runs ExecReload= with $MAINPID set, and waits for it.
func (m *manager) reload(name string) error {
	us := m.get(name)
	if us.unit == nil {
		return fmt.Errorf("Unit %s not found.", name)
	}
	if len(us.unit.Service.ExecReload) == 0 {
		return fmt.Errorf("Job type reload is not applicable for unit %s.", name)
	}
	m.mu.Lock()
	p := us.main
	m.mu.Unlock()
	if p == nil {
		return fmt.Errorf("Unit %s is not active, cannot reload.", name)
	}
	for _, c := range us.unit.Service.ExecReload {
		code, err := m.runToEnd(us, c, p)
		if (err != nil || code != 0) && !c.IgnoreFail {
			return fmt.Errorf("Job for %s failed: ExecReload exited %d %v", name, code, errOrEmpty(err))
		}
	}
	return nil
}

// runToEnd runs a control command (ExecStartPre, ExecReload, ExecStop)
// with the service's environment and waits for it.
func (m *manager) runToEnd(us *unitState, c Command, main *proc) (int, error) {
	p, err := m.spawnService(us, c, main, nil)
	if err != nil {
		return 203, err
	}
	waitOrKill(p, us.unit.Service.TimeoutStopSec)
	return p.exitCode(), nil
}

// spawnService starts one command of a service through the exec
// wrapper, which applies what must happen after fork in the child:
// LISTEN_PID, NoNewPrivileges, UMask, User=/Group=.
func (m *manager) spawnService(us *unitState, c Command, main *proc, n *notifier) (*proc, error) {
	svc := &us.unit.Service
	acct, err := m.account(svc, c)
	if err != nil {
		return nil, err
	}
	env, err := serviceEnv(us.unit, acct)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	env = append(env, "INVOCATION_ID="+us.invocation)
	m.mu.Unlock()
	env = append(env, runtimeEnv(svc)...)
	if main != nil {
		env = append(env, "MAINPID="+strconv.Itoa(main.pid))
	}
	argv := expandArgv(c, env, us.unit)
	var listeners []*os.File
	if main == nil {
		listeners = m.socketsFor(us.name)
	}
	if n != nil {
		env = append(env, "NOTIFY_SOCKET="+n.addr)
	}
	if len(listeners) > 0 {
		env = append(env, "LISTEN_FDS="+strconv.Itoa(len(listeners)), "LISTEN_FDNAMES="+m.fdNames(us.name))
	}
	log, err := m.openLog(us.name)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	files := append([]*os.File{null, log, log}, listeners...)
	box := sandboxOf(us.unit)
	if c.Privileged {
		box = sandbox{}
	}
	wargv := append([]string{m.wrapper, "exec-wrapper"}, wrapperFlags(us.unit, acct, len(listeners), c.Privileged)...)
	wargv = append(wargv, box.flags()...)
	if c.Argv0Override && len(argv) > 1 {
		// "@path argv0 args...": path runs with argv0 shown.
		wargv = append(wargv, "--argv0="+argv[1])
		argv = append(argv[:1], argv[2:]...)
	}
	wargv = append(append(wargv, "--"), argv...)
	dir, err := workingDir(svc.WorkingDirectory, acct)
	if err != nil {
		return nil, err
	}
	return m.reaper.start(wargv, env, dir, files, nil, !box.empty())
}

func (m *manager) account(svc *ServiceSection, c Command) (*account, error) {
	if c.Privileged || (svc.User == "" && svc.Group == "") {
		return nil, nil
	}
	return lookupAccount(svc.User, svc.Group)
}

func workingDir(dir string, acct *account) (string, error) {
	optional := len(dir) > 0 && dir[0] == '-'
	if optional {
		dir = dir[1:]
	}
	if dir == "~" {
		dir = "/root"
		if acct != nil {
			dir = acct.Home
		}
	}
	if dir == "" {
		return "/", nil
	}
	if _, err := os.Stat(dir); err != nil {
		if optional {
			return "/", nil
		}
		return "", fmt.Errorf("cannot use WorkingDirectory=%s: %w", dir, err)
	}
	return dir, nil
}

func (m *manager) openLog(name string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(m.logDir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open log of %s: %w", name, err)
	}
	return f, nil
}

// logf adds a manager line to the unit's log, as systemd does to the journal.
func (m *manager) logf(us *unitState, format string, args ...any) {
	f, err := m.openLog(us.name)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "simmachine: %s: %s\n", us.name, fmt.Sprintf(format, args...))
}

func errOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
