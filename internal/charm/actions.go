package charm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/image"
	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// errNotReady is the reference charm's answer before the registry is set
// up, kept word for word for scripts that match on it.
var errNotReady = errors.New("Docker Registry charm is not yet ready.")

// Action runs one action. A failure the operator can act on is reported
// with action-fail and a nil error; an error means a bug or a broken
// machine.
func (c *Charm) Action(ctx context.Context, name string) error {
	c.endStaleGCHold(ctx)
	handlers := map[string]func(context.Context, *actionEnv) (map[string]string, error){
		"push":            c.actPush,
		"images":          c.actImages,
		"rmi":             c.actRmi,
		"garbage-collect": c.actGC,
		"start":           c.actStart,
		"stop":            c.actStop,
	}
	h, ok := handlers[name]
	if !ok {
		return c.Juju.ActionFail(ctx, fmt.Sprintf("unknown action %q", name))
	}
	env, err := c.actionEnv(ctx, name)
	if err != nil {
		return c.Juju.ActionFail(ctx, err.Error())
	}
	if name != "start" && name != "stop" {
		if err := c.reachRegistry(ctx, env); err != nil {
			return c.Juju.ActionFail(ctx, err.Error())
		}
	}
	results, err := h(ctx, env)
	if len(results) > 0 {
		if serr := c.Juju.ActionSet(ctx, results); serr != nil {
			return serr
		}
	}
	if err != nil {
		return c.Juju.ActionFail(ctx, err.Error())
	}
	return nil
}

// actionEnv is what every action handler starts from.
type actionEnv struct {
	cfg   config.Config
	state LocalState
	// target reaches this unit's registry (reachRegistry sets it).
	target image.Target
	// started is when the action began: files of the charm's older than
	// that are no running action's.
	started time.Time
}

func (c *Charm) actionEnv(ctx context.Context, name string) (*actionEnv, error) {
	started := time.Now()
	st, err := loadState(c.Paths.StateFile())
	if err != nil {
		return nil, err
	}
	env := &actionEnv{state: st, started: started}
	if err := c.Juju.ConfigGetAll(ctx, &env.cfg); err != nil {
		return nil, err
	}
	if st.Last == nil || !st.Last.Configured {
		return nil, errNotReady
	}
	if name == "start" || name == "stop" {
		return env, nil
	}
	if st.Stopped {
		return nil, fmt.Errorf("%s service is stopped; run the start action first", env.cfg.RegistryName)
	}
	return env, nil
}

// reachRegistry finds the registry and checks, within image.PingTimeout,
// that it answers: an action against a registry that is stopped, starting
// over and over, or stuck fails in seconds naming the problem, instead of
// waiting on it while holding the machine lock.
func (c *Charm) reachRegistry(ctx context.Context, env *actionEnv) error {
	t, err := c.target(ctx, env)
	if err != nil {
		return err
	}
	if err := t.Ping(ctx); err != nil {
		return fmt.Errorf("%w; check `systemctl status %s`, `journalctl -u %s` and juju status",
			err, service.ServiceUnit, service.ServiceUnit)
	}
	env.target = t
	return nil
}

// target is how the charm's own client reaches the registry on this unit:
// by its private address (which the certificate covers), with the
// configured credentials, the CA, and the cert-provider client certificate
// when the registry requires one.
func (c *Charm) target(ctx context.Context, env *actionEnv) (image.Target, error) {
	addr, err := c.Juju.UnitGet(ctx, "private-address")
	if err != nil {
		return image.Target{}, err
	}
	t := image.Target{Netloc: hostPort(addr, env.cfg.RegistryPort), Insecure: env.state.Last.Scheme != "https"}
	if n := env.state.Last.Netloc; n != "" && n != t.Netloc {
		// References may name the registry as clients know it (http-host,
		// a proxy): they still mean this registry.
		t.Aliases = []string{n}
	}
	if env.cfg.BasicAuth() {
		t.Username, t.Password = env.cfg.AuthBasicUser, env.cfg.AuthBasicPassword
	}
	if t.Insecure {
		return t, nil
	}
	if t.CAPEM, err = c.servingCA(env.cfg); err != nil {
		return t, err
	}
	t.ClientCert, _ = os.ReadFile(c.Paths.ClientCert())
	t.ClientKey, _ = os.ReadFile(c.Paths.ClientKey())
	return t, nil
}

// servingCA is what the client trusts: the CA file, or the certificate
// itself when TLS was configured without a CA.
func (c *Charm) servingCA(cfg config.Config) ([]byte, error) {
	if ca, err := os.ReadFile(c.Paths.At(cfg.TLSCAPath)); err == nil && len(ca) > 0 {
		return ca, nil
	}
	cert, err := os.ReadFile(c.Paths.At(cfg.TLSCertPath))
	if err != nil {
		return nil, fmt.Errorf("cannot read the registry certificate: %w", err)
	}
	return cert, nil
}

func (c *Charm) actStart(ctx context.Context, env *actionEnv) (map[string]string, error) {
	return c.setStopped(ctx, env, false)
}

func (c *Charm) actStop(ctx context.Context, env *actionEnv) (map[string]string, error) {
	return c.setStopped(ctx, env, true)
}

// setStopped records the operator's intent and lets the reconcile act on
// it, so the service stays as asked across every later hook.
func (c *Charm) setStopped(ctx context.Context, env *actionEnv, stopped bool) (map[string]string, error) {
	st := env.state
	st.Stopped = stopped
	if err := saveState(c.Paths.StateFile(), st); err != nil {
		return nil, err
	}
	if err := c.Reconcile(ctx); err != nil {
		return nil, err
	}
	verb := "started"
	if stopped {
		verb = "stopped"
	}
	return map[string]string{"outcome": "success", "message": fmt.Sprintf("%s service %s", env.cfg.RegistryName, verb)}, nil
}

func (c *Charm) actImages(ctx context.Context, env *actionEnv) (map[string]string, error) {
	var p struct {
		Repository string `json:"repository"`
		Options    string `json:"options"`
		Details    bool   `json:"details"`
	}
	if err := c.Juju.ActionGet(ctx, &p); err != nil {
		return nil, err
	}
	details := p.Details || wantsDetails(p.Options)
	repos, err := image.List(ctx, env.target, p.Repository, details)
	if err != nil {
		return nil, fmt.Errorf("cannot list images: %w", err)
	}
	return c.imagesResults(repos, details)
}

// wantsDetails maps docker-images-style flags of the reference's options
// param to the details switch.
func wantsDetails(options string) bool {
	for _, f := range strings.Fields(options) {
		switch f {
		case "--digests", "-a", "--all", "--no-trunc", "--details":
			return true
		}
	}
	return false
}

func (c *Charm) actRmi(ctx context.Context, env *actionEnv) (map[string]string, error) {
	var p struct {
		Image   string `json:"image"`
		Options string `json:"options"`
	}
	if err := c.Juju.ActionGet(ctx, &p); err != nil {
		return nil, err
	}
	refs := strings.Fields(p.Image)
	if len(refs) == 0 {
		return nil, errors.New("image: give one or more tags or digests to delete")
	}
	if !env.cfg.StorageDelete {
		return nil, errors.New("deleting images is disabled: set storage-delete=true (juju config <app> storage-delete=true), then run rmi again")
	}
	deleted, err := image.Delete(ctx, env.target, refs)
	out := deletedResults(deleted)
	if err != nil {
		return out, err
	}
	out["outcome"] = "success"
	return out, nil
}

func logProgress(ctx context.Context, j *juju.Client) func(string) {
	return func(msg string) { _ = j.ActionLog(ctx, msg) }
}
