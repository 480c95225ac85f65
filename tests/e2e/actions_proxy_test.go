package e2e

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// forwardProxy is an HTTP forward proxy (absolute-URI requests and
// CONNECT tunnels) listening in the cloud's client namespace, as a site's
// proxy that Juju's juju-http-proxy names. It records the hosts asked for.
type forwardProxy struct {
	URL string

	mu    sync.Mutex
	hosts map[string]int
	env   *deploy.Env
}

func newForwardProxy(t testing.TB, e *deploy.Env) *forwardProxy {
	t.Helper()
	l, err := e.Cloud.Listen("tcp", e.Cloud.ClientAddr().String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	p := &forwardProxy{URL: "http://" + l.Addr().String(), hosts: map[string]int{}, env: e}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Seen is how many requests (or tunnels) the proxy took for host:port.
func (p *forwardProxy) Seen(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[host]
}

// Total is every request the proxy took.
func (p *forwardProxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.hosts {
		n += v
	}
	return n
}

func (p *forwardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if r.Method != http.MethodConnect {
		host = r.URL.Host
	}
	p.mu.Lock()
	p.hosts[host]++
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := (&http.Transport{DialContext: p.env.Cloud.DialContext}).RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *forwardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	up, err := p.env.Cloud.DialContext(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	down, _, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		up.Close()
		down.Close()
		return
	}
	go func() { io.Copy(up, down); up.Close() }()
	go func() { io.Copy(down, up); down.Close() }()
}
