package registry

import (
	"encoding/json"
	"net/http"
	"runtime/debug"

	"github.com/distribution/distribution/v3/health"
	"github.com/distribution/distribution/v3/registry/api/errcode"
	gorhandlers "github.com/gorilla/handlers"
	"github.com/sirupsen/logrus"
)

// handlerChain wraps a generation's App the way the upstream binary does:
// access log → panic recovery → "/" alive → health gate → App.
func (s *Server) handlerChain(g *generation) http.Handler {
	var h http.Handler = g.app
	h = healthGate(g.health, h)
	h = alive(h)
	h = recoverPanics(h)
	if !g.cfg.Log.AccessLog.Disabled {
		h = gorhandlers.CombinedLoggingHandler(s.opts.Stdout, h)
	}
	return h
}

// alive answers "/" with 200 whatever the state of storage: it says the
// process is up, for load balancers and check_http.
func alive(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// healthGate answers 503 while a health check of this generation fails, as
// upstream's health.Handler does for the global registry.
func healthGate(reg *health.Registry, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(reg.CheckStatus(r.Context())) != 0 {
			errcode.ServeJSON(w, errcode.ErrorCodeUnavailable.
				WithDetail("health check failed: please see /debug/health"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// healthStatus serves the checks of the current generation as JSON, 503 if
// any fails (the debug server's /debug/health).
func (s *Server) healthStatus(w http.ResponseWriter, r *http.Request) {
	checks := s.gen.Load().health.CheckStatus(r.Context())
	status := http.StatusOK
	if len(checks) != 0 {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(checks)
}

// recoverPanics turns a panic in a handler into a logged error and a 500,
// instead of net/http's silent connection reset.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logrus.WithField("stack", string(debug.Stack())).
				Errorf("panic serving %s %s: %v", r.Method, r.URL.Path, v)
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}
