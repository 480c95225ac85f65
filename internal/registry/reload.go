package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/health"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
)

// generation is one configuration being served: its App (storage driver
// instance, access controller, blob-descriptor cache, upload purger), its
// health checks and its handler chain.
type generation struct {
	cfg    *configuration.Configuration
	app    *handlers.App
	cancel context.CancelFunc
	health *health.Registry
	// advisory holds checks that say what is wrong without gating
	// requests (RedisCheck).
	advisory *health.Registry
	handler  http.Handler

	// inflight is read-held by every request on this generation; retire
	// write-locks it, which waits for them and refuses new holders.
	inflight sync.RWMutex
	// retired is closed once retire has shut the App down.
	retired chan struct{}
}

func (g *generation) acquire() bool { return g.inflight.TryRLock() }
func (g *generation) release()      { g.inflight.RUnlock() }

// retire waits for the generation's requests to finish, then stops its
// background work (upload purger, health polls, proxy scheduler).
func (g *generation) retire() {
	g.inflight.Lock()
	if err := g.app.Shutdown(); err != nil {
		logrus.Warnf("cannot shut down the previous registry app cleanly: %v", err)
	}
	g.cancel()
	close(g.retired)
}

// FailingChecks names the failing health checks (the storage driver's)
// of the configuration being served, sorted; nil when all pass.
func (s *Server) FailingChecks() []string {
	g := s.gen.Load()
	if g == nil {
		return nil
	}
	var names []string
	for name := range g.health.CheckStatus(s.base) {
		names = append(names, name)
	}
	for name := range g.advisory.CheckStatus(s.base) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// WaitRetired returns once every configuration replaced before the call has
// answered its last request and released its App. After a Reload that made
// the registry read-only, it means no write begun earlier can still commit
// (what garbage collection needs before it marks).
func (s *Server) WaitRetired() {
	s.reloadMu.Lock()
	old := s.old
	s.reloadMu.Unlock()
	for _, g := range old {
		<-g.retired
	}
}

// retireLater retires g once its requests are answered, without holding up
// the caller; reloadMu must be held.
func (s *Server) retireLater(g *generation) {
	// Forget generations already retired, so the list stays short.
	s.old = slices.DeleteFunc(s.old, func(o *generation) bool {
		select {
		case <-o.retired:
			return true
		default:
			return false
		}
	})
	s.old = append(s.old, g)
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		g.retire()
	}()
}

// pending is everything a configuration needs, built but not yet serving.
type pending struct {
	gen    *generation
	tls    *loadedTLS
	log    logSettings
	debug  *debugServer
	secret string
}

// abort releases what prepare built when the configuration is not used.
func (p *pending) abort() {
	p.gen.app.Shutdown()
	p.gen.cancel()
	if p.debug != nil && p.debug.fresh {
		p.debug.ln.Close()
	}
}

// Reload re-reads the configuration file and, if it is valid, serves it from
// the next request on: requests already running finish on the previous App,
// which is then shut down. On any error nothing changes and the previous
// configuration keeps serving. The listening address cannot change in place
// (the socket may come from systemd): a changed http.addr is logged as
// needing a restart and otherwise ignored.
func (s *Server) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.closed {
		return errors.New("cannot reload: the registry is shutting down")
	}
	cfg, err := readConfig(s.opts.ConfigPath)
	if err != nil {
		return err
	}
	warnRestartOnly(s.boundCfg, cfg)
	p, err := s.prepare(cfg)
	if err != nil {
		return err
	}
	s.retireLater(s.commit(p))
	logrus.Info("configuration reloaded")
	return nil
}

func readConfig(path string) (*configuration.Configuration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read registry configuration: %w", err)
	}
	defer f.Close()
	cfg, err := configuration.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("cannot parse registry configuration %s: %w", path, err)
	}
	return cfg, nil
}

// warnRestartOnly logs the settings that only take effect when the process
// restarts: they belong to the socket and the http.Server around it.
func warnRestartOnly(bound, cfg *configuration.Configuration) {
	if bound.HTTP.Net != cfg.HTTP.Net || bound.HTTP.Addr != cfg.HTTP.Addr {
		logrus.Warnf("http.addr changed to %q: restart the registry to listen there; still listening on %q",
			cfg.HTTP.Addr, bound.HTTP.Addr)
	}
	if bound.HTTP.H2C.Enabled != cfg.HTTP.H2C.Enabled {
		logrus.Warn("http.h2c changed: takes effect on restart")
	}
}

// prepare builds everything cfg needs without touching what is serving.
func (s *Server) prepare(cfg *configuration.Configuration) (*pending, error) {
	if err := checkSupported(cfg); err != nil {
		return nil, err
	}
	ls, err := newLogSettings(cfg)
	if err != nil {
		return nil, err
	}
	tm, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	p := &pending{tls: tm, log: ls, secret: s.secret}
	generated := cfg.HTTP.Secret == ""
	if generated {
		cfg.HTTP.Secret = s.secret // empty the first time: NewApp draws one
	}
	if p.gen, err = s.newGeneration(cfg); err != nil {
		return nil, err
	}
	if generated {
		p.secret = cfg.HTTP.Secret
	}
	if p.debug, err = s.prepareDebug(cfg); err != nil {
		p.abort()
		return nil, err
	}
	return p, nil
}

// commit makes p the configuration being served and returns the generation
// it replaces (nil on the first commit).
func (s *Server) commit(p *pending) *generation {
	p.log.apply()
	s.commitTLS(p.tls)
	s.secret = p.secret
	old := s.gen.Swap(p.gen)
	s.commitDebug(p.debug)
	return old
}

// checkSupported refuses configurations whose effects we do not want at
// runtime.
func checkSupported(cfg *configuration.Configuration) error {
	if cfg.HTTP.TLS.LetsEncrypt.CacheFile != "" {
		return fmt.Errorf("cannot use http.tls.letsencrypt: not supported by this registry")
	}
	// A missing htpasswd file is charm-htpasswd's to refuse (it never
	// creates one); distribution's "htpasswd", which would, with a random
	// password it logs, is not linked (drivers.go).
	return nil
}

// newGeneration builds the App for cfg. handlers.NewApp reports a bad
// configuration by panicking; that becomes an error here.
func (s *Server) newGeneration(cfg *configuration.Configuration) (g *generation, err error) {
	ctx, cancel := context.WithCancel(s.base)
	defer func() {
		if r := recover(); r != nil {
			cancel()
			g, err = nil, fmt.Errorf("cannot build the registry from its configuration: %v", r)
		}
	}()
	g = &generation{cfg: cfg, cancel: cancel, health: health.NewRegistry(), advisory: health.NewRegistry(), retired: make(chan struct{})}
	g.app = newApp(ctx, cfg)
	// Health checks go to a registry of this generation: the global one
	// refuses a second registration of the same check.
	g.app.RegisterHealthChecks(g.health)
	watchStorageDeadline(ctx, cfg, g.health)
	watchRedis(ctx, cfg, g.advisory)
	g.handler = s.handlerChain(g)
	return g, nil
}

// newApp builds the App. With Prometheus enabled, NewApp registers its
// per-route metrics globally, which a second App would find already
// registered (and panic): the later App's metrics replace the earlier's.
func newApp(ctx context.Context, cfg *configuration.Configuration) *handlers.App {
	if cfg.HTTP.Debug.Prometheus.Enabled {
		defer replaceMetricsDuring()()
	}
	return handlers.NewApp(ctx, cfg)
}
