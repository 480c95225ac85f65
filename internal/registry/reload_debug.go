package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

// debugServer serves /debug/health and, when enabled, Prometheus metrics on
// http.debug.addr. It is bound by us (never socket-activated), so a reload
// can move it: the new address is bound before the old one is released.
type debugServer struct {
	addr  string
	ln    net.Listener
	srv   *http.Server
	fresh bool // bound by the pending reload, not serving yet
}

// prepareDebug returns the debug server cfg needs: the running one when the
// address is unchanged, a newly bound one otherwise, nil when there is none.
func (s *Server) prepareDebug(cfg *configuration.Configuration) (*debugServer, error) {
	addr := cfg.HTTP.Debug.Addr
	if addr == "" {
		return nil, nil
	}
	if s.debug != nil && s.debug.addr == addr {
		return s.debug, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on http.debug.addr %q: %w", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serveDebug), ReadHeaderTimeout: 10 * time.Second}
	return &debugServer{addr: addr, ln: ln, srv: srv, fresh: true}, nil
}

// commitDebug starts d if it is new and stops the one it replaces.
func (s *Server) commitDebug(d *debugServer) {
	if d == s.debug {
		return
	}
	s.debug.stop()
	s.debug = d
	if d == nil {
		return
	}
	d.fresh = false
	logrus.Infof("debug server listening on %v", d.ln.Addr())
	go func() {
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logrus.Errorf("cannot serve the debug server: %v", err)
		}
	}()
}

func (d *debugServer) stop() {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.srv.Close()
	}
}

// serveDebug routes by the current configuration, so turning Prometheus on
// or moving its path needs no new server. Only these paths are served: no
// pprof or expvar.
func (s *Server) serveDebug(w http.ResponseWriter, r *http.Request) {
	prom := s.gen.Load().cfg.HTTP.Debug.Prometheus
	path := prom.Path
	if path == "" {
		path = "/metrics"
	}
	switch {
	case r.URL.Path == "/debug/health":
		s.healthStatus(w, r)
	case prom.Enabled && r.URL.Path == path:
		s.metrics.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// replaceMetricsDuring makes registrations into Prometheus's default
// registry replace an already registered collector with the same metrics,
// until the returned function restores it. A new App's per-route metrics
// thereby supersede the previous App's (the counters restart from zero,
// which Prometheus treats as a counter reset).
func replaceMetricsDuring() (restore func()) {
	orig := prometheus.DefaultRegisterer
	prometheus.DefaultRegisterer = replacingRegisterer{orig}
	return func() { prometheus.DefaultRegisterer = orig }
}

type replacingRegisterer struct{ prometheus.Registerer }

func (r replacingRegisterer) Register(c prometheus.Collector) error {
	err := r.Registerer.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		r.Registerer.Unregister(dup.ExistingCollector)
		err = r.Registerer.Register(c)
	}
	return err
}

func (r replacingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}
