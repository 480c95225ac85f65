package charm

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/service"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// harness runs the charm in-process under the simulated Juju model: state
// in, one event, state out. Each unit gets its own machine root; the
// service manager is a recorder, since no init system runs in these tests
// (the end-to-end suites run the real service under the systemd stand-in).
type harness struct {
	t     *testing.T
	model *sim.Model
	root  string
	svc   map[string]*recorder
	mu    sync.Mutex
	now   time.Time
	// disk is the data filesystem the charm sees (zero: unknown).
	disk Disk
	// account is the registry's system user; nil: the test's own ids.
	account *service.Account
	// storage answers the charm's object storage checks; nil: they pass
	// (no test here reaches an S3 service; tests/e2e runs the real check
	// against SeaweedFS).
	storage func(ctx context.Context, cfg *configuration.Configuration) error
	// failing are the health checks the registry reports failing.
	failing []string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, root: t.TempDir(), svc: map[string]*recorder{}, now: time.Now()}
	m, err := sim.NewModel(sim.Options{CharmDir: "../..", Executor: sim.FuncExecutor(h.dispatch)})
	if err != nil {
		t.Fatal(err)
	}
	h.model = m
	return h
}

func (h *harness) dispatch(ctx context.Context, env map[string]string, r juju.Runner) int {
	e := juju.LoadEnv(func(k string) string { return env[k] }, "dispatch")
	c := h.charm(e, r)
	ev := e.Event()
	if err := c.Dispatch(ctx, ev); err != nil {
		h.t.Logf("%s on %s: %v", ev.Name, e.UnitName, err)
		return 1
	}
	return 0
}

func (h *harness) charm(e juju.Env, r juju.Runner) *Charm {
	rec := h.services(e.UnitName)
	return &Charm{
		Juju:         &juju.Client{Runner: r, Env: e},
		Services:     rec,
		Workload:     harnessWorkload{h, rec},
		Machine:      harnessMachine{h},
		Paths:        Paths{Root: h.unitRoot(e.UnitName)},
		Version:      "v3.1.2",
		ReadyTimeout: time.Millisecond,
	}
}

// harnessWorkload is a registry that answers while the recorder says its
// service is active and reloads through the recorder.
type harnessWorkload struct {
	h   *harness
	rec *recorder
}

func (w harnessWorkload) Answers(context.Context, Probe) bool {
	return w.rec.active(service.ServiceUnit)
}

func (w harnessWorkload) Reload(ctx context.Context, _ bool) error {
	return w.rec.Reload(ctx, service.ServiceUnit)
}

func (w harnessWorkload) FailingChecks(context.Context) ([]string, error) {
	w.h.mu.Lock()
	defer w.h.mu.Unlock()
	return w.h.failing, nil
}

// harnessMachine is the test's machine as the harness sets it up: its
// clock, the data filesystem's space, the service account and what
// object storage answers.
type harnessMachine struct{ h *harness }

func (m harnessMachine) Account(context.Context) (service.Account, error) {
	if m.h.account != nil {
		return *m.h.account, nil
	}
	return service.Account{Name: "docker-registry", UID: os.Getuid(), GID: os.Getgid()}, nil
}

func (m harnessMachine) LookupAccount() (service.Account, bool, error) {
	acc, err := m.Account(context.Background())
	return acc, true, err
}

func (m harnessMachine) Disk(string) Disk {
	m.h.mu.Lock()
	defer m.h.mu.Unlock()
	return m.h.disk
}

func (m harnessMachine) CheckStorage(ctx context.Context, cfg *configuration.Configuration) error {
	if m.h.storage == nil {
		return nil
	}
	return m.h.storage(ctx, cfg)
}

func (m harnessMachine) Now() time.Time { return m.h.now }

func (h *harness) unitRoot(unit string) string {
	return filepath.Join(h.root, strings.ReplaceAll(unit, "/", "-"))
}

func (h *harness) services(unit string) *recorder {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.svc[unit] == nil {
		h.svc[unit] = &recorder{state: map[string]bool{}}
	}
	return h.svc[unit]
}

// file reads a file from a unit's machine.
func (h *harness) file(unit, path string) string {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.unitRoot(unit), path))
	if err != nil {
		h.t.Fatalf("cannot read %s on %s: %v", path, unit, err)
	}
	return string(data)
}

func (h *harness) exists(unit, path string) bool {
	_, err := os.Stat(filepath.Join(h.unitRoot(unit), path))
	return err == nil
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) status(unit string) sim.Status { return h.model.Unit(unit).Status() }

func (h *harness) wantStatus(unit, name, msgPrefix string) {
	h.t.Helper()
	st := h.status(unit)
	if st.Name != name || !strings.HasPrefix(st.Message, msgPrefix) {
		h.t.Fatalf("%s status = %s %q, want %s %q...", unit, st.Name, st.Message, name, msgPrefix)
	}
}

// recorder stands in for systemd: it records each call and tracks which
// units are active.
type recorder struct {
	mu    sync.Mutex
	calls []string
	state map[string]bool
	// rejectReload makes reload fail, as when the registry refuses a
	// configuration.
	rejectReload bool
	// busyPorts makes the socket unit fail to start.
	busyPort bool
	// crash makes the service exit as it starts, with this journal line
	// ("" : it stays up).
	crash string
	// failOnce makes the next call of this verb ("daemon-reload",
	// "restart", ...) fail, as a hook killed at that point would leave
	// it undone.
	failOnce string
}

func (r *recorder) failed(verb string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failOnce == verb {
		r.failOnce = ""
		return true
	}
	return false
}

func (r *recorder) record(call string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
}

func (r *recorder) set(unit string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state[unit] = on
}

func (r *recorder) active(unit string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state[unit]
}

// since returns the calls recorded after mark.
func (r *recorder) since(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls[mark:]...)
}

func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *recorder) DaemonReload(context.Context) error {
	if r.failed("daemon-reload") {
		return errors.New("killed")
	}
	r.record("daemon-reload")
	return nil
}
func (r *recorder) Enable(_ context.Context, units ...string) error {
	r.record("enable " + strings.Join(units, " "))
	return nil
}
func (r *recorder) Disable(_ context.Context, units ...string) error {
	r.record("disable " + strings.Join(units, " "))
	return nil
}
func (r *recorder) Start(_ context.Context, u string) error {
	r.record("start " + u)
	r.mu.Lock()
	busy := r.busyPort && u == "docker-registry.socket"
	r.mu.Unlock()
	if busy {
		return errors.New("Address already in use")
	}
	r.set(u, r.crash == "" || u != service.ServiceUnit)
	return nil
}
func (r *recorder) Stop(_ context.Context, u string) error {
	r.record("stop " + u)
	r.set(u, false)
	return nil
}
func (r *recorder) Restart(_ context.Context, u string) error {
	if r.failed("restart") {
		return errors.New("killed")
	}
	r.record("restart " + u)
	r.mu.Lock()
	busy := r.busyPort && u == "docker-registry.socket"
	r.mu.Unlock()
	if busy {
		r.set(u, false)
		return errors.New("Address already in use")
	}
	r.set(u, r.crash == "" || u != service.ServiceUnit)
	return nil
}
func (r *recorder) Reload(_ context.Context, u string) error {
	r.record("reload " + u)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rejectReload {
		return errors.New("the registry did not reload")
	}
	return nil
}
func (r *recorder) Failure(_ context.Context, u, prefix string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.crash == "" || u != service.ServiceUnit {
		return "", nil
	}
	return service.LastLine([]byte(r.crash), prefix), nil
}

func (r *recorder) IsActive(_ context.Context, u string) (bool, error) {
	return r.active(u), nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
