package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/sirupsen/logrus"

	"github.com/canonical/docker-registry-charm/internal/storagewait"
)

// ServeOptions says where the registry's configuration is and where it logs.
type ServeOptions struct {
	// ConfigPath is the distribution configuration file, re-read on reload.
	ConfigPath string
	// Stdout receives the access log (combined log format); default os.Stdout.
	Stdout io.Writer
	// Stderr receives the registry's own log; default os.Stderr.
	Stderr io.Writer
	// Ready, when set, is called once the listener is bound and the first
	// configuration is being served.
	Ready func(*Server)
}

// Server is the registry's HTTP server: one listening socket that stays open
// for the life of the process, in front of a distribution App that a reload
// replaces.
type Server struct {
	opts ServeOptions
	ln   *switchListener
	http *http.Server

	// base is the context of every App: the caller's values, not its
	// cancellation (an App outlives it until its last request is answered).
	base context.Context

	// reloadMu serialises Reload and shutdown.
	reloadMu sync.Mutex
	closed   bool
	// boundCfg is the configuration the socket was bound with (restart-only
	// settings are compared against it).
	boundCfg *configuration.Configuration
	// secret is the http.secret the App generated when the config had none;
	// later Apps reuse it so upload sessions survive a reload.
	secret string

	gen   atomic.Pointer[generation]
	tls   atomic.Pointer[tlsState]
	cert  atomic.Pointer[tlsCert]
	debug *debugServer
	// metrics serves distribution's metrics and ours (ownmetrics.go).
	metrics http.Handler
	// old lists the replaced generations not known to be retired yet;
	// retiring counts their retire goroutines.
	old      []*generation
	retiring sync.WaitGroup
}

// Serve runs the registry until ctx is done or SIGTERM/SIGINT arrives, then
// drains in-flight requests for up to http.draintimeout. SIGHUP reloads the
// configuration in place (see Reload). It is the "serve" subcommand.
func Serve(ctx context.Context, opts ServeOptions) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Registered before startup so an early SIGHUP queues a reload instead
	// of killing the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	s, err := NewServer(ctx, opts)
	if err != nil {
		return err
	}
	go reloadOnSignal(ctx, s, hup)
	return s.Run(ctx)
}

func reloadOnSignal(ctx context.Context, s *Server, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := s.Reload(); err != nil {
				logrus.Errorf("still serving the previous configuration: %v", err)
			}
		}
	}
}

// NewServer reads the configuration, builds the first App and binds the
// listener (or takes the socket-activated one). It does not serve yet.
func NewServer(ctx context.Context, opts ServeOptions) (*Server, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	logrus.SetOutput(opts.Stderr)
	installFieldsHook()
	storagewait.Bound(storageResponseTimeout)

	cfg, err := readConfig(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, boundCfg: cfg, base: context.WithoutCancel(ctx)}
	s.tls.Store(&tlsState{})
	s.metrics = newMetricsHandler(s)
	p, err := s.prepare(cfg)
	if err != nil {
		return nil, err
	}
	raw, activated, err := listen(cfg.HTTP.Net, cfg.HTTP.Addr)
	if err != nil {
		p.abort()
		return nil, err
	}
	s.ln = &switchListener{Listener: raw, tls: &s.tls}
	s.http = s.newHTTPServer(cfg)
	s.commit(p)
	logListening(raw.Addr(), activated, s.tls.Load().config != nil)
	return s, nil
}

func logListening(addr net.Addr, activated, tls bool) {
	how := "bound"
	if activated {
		how = "socket-activated"
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	logrus.Infof("listening on %v (%s, %s)", addr, how, scheme)
}

// newHTTPServer builds the one http.Server of the process. Its settings are
// fixed for the life of the socket; everything per-configuration lives in the
// generation and the TLS state it reads on each request and connection.
func (s *Server) newHTTPServer(cfg *configuration.Configuration) *http.Server {
	srv := &http.Server{
		Handler:     s,
		ConnContext: s.ln.connContext,
		// A slow client must not hold a connection slot forever before
		// sending its headers; bodies (blob uploads) stay unbounded.
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(logWriter{}, "", 0),
	}
	if cfg.HTTP.H2C.Enabled {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetHTTP2(!cfg.HTTP.HTTP2.Disabled)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	return srv
}

// logWriter sends net/http's own messages (TLS handshake errors, mostly) to
// the registry log. The charm's liveness probe sends plain HTTP to a TLS
// port from this machine (Go's answer to that proves TLS serves, without
// the cost of a handshake); that is logged at debug level only, or every
// update-status would leave a warning in the journal.
type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if isProbe(msg) {
		logrus.Debug(msg)
	} else {
		logrus.Warn(msg)
	}
	return len(p), nil
}

func isProbe(msg string) bool {
	return strings.Contains(msg, "TLS handshake error from 127.0.0.1:") &&
		strings.HasSuffix(msg, "client sent an HTTP request to an HTTPS server")
}

// Addr is the address the registry listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// DebugAddr is the address of the debug server, nil when there is none.
func (s *Server) DebugAddr() net.Addr {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.debug == nil {
		return nil
	}
	return s.debug.ln.Addr()
}

// ServeHTTP hands the request to the current generation. The generation is
// held until the request is answered, so a reload never shuts down an App
// under a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := s.acquire()
	if g == nil {
		http.Error(w, "registry is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer g.release()
	// A connection accepted under older TLS settings (or before TLS was
	// switched on or off) is answered, then closed: the client reconnects
	// and meets the current settings.
	if connEpoch(r.Context()) != s.tls.Load().epoch {
		w.Header().Set("Connection", "close")
	}
	g.handler.ServeHTTP(w, r)
}

// acquire returns the current generation, held, or nil once shutdown has
// retired it. A generation that fails to be held is being retired, and a
// reload stores its successor before retiring it, so the loop ends.
func (s *Server) acquire() *generation {
	for {
		g := s.gen.Load()
		if g.acquire() {
			return g
		}
		if s.gen.Load() == g {
			return nil
		}
	}
}

// Run serves until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()
	if s.opts.Ready != nil {
		s.opts.Ready(s)
	}
	select {
	case err := <-errc:
		s.shutdown(context.Background())
		return fmt.Errorf("cannot serve: %w", err)
	case <-ctx.Done():
	}
	return s.shutdown(context.Background())
}

// shutdown stops accepting, waits for in-flight requests up to
// http.draintimeout (no limit of our own when unset: systemd's stop timeout
// bounds it), then releases every App.
func (s *Server) shutdown(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.closed = true
	g := s.gen.Load()
	if d := g.cfg.HTTP.DrainTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	logrus.Info("stopping: draining in-flight requests")
	err := s.http.Shutdown(ctx)
	if err != nil {
		// Out of time: cut the remaining connections so their handlers end.
		s.http.Close()
		err = fmt.Errorf("cannot drain all requests in time: %w", err)
	}
	s.debug.stop()
	s.debug = nil
	g.retire()
	s.retiring.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
