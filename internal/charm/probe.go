package charm

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Probe is where the registry answers on this machine.
type Probe struct {
	Port int  `json:"port"`
	TLS  bool `json:"tls"`
}

// checkHealth probes the registry and, when it answers, asks which of
// its health checks fail: "/" answers 200 whatever the storage, and the
// API's 503 is behind a TLS handshake and authentication, so the registry
// tells over its control socket instead.
// Both questions are asked at once: each is a local round trip, and
// update-status is little else.
func (c *Charm) checkHealth(ctx context.Context, p Probe) (answers bool, failing []string) {
	done := make(chan []string, 1)
	go func() { done <- c.failingChecks(ctx) }()
	answers = c.Workload.Answers(ctx, p)
	failing = <-done
	if !answers {
		return false, nil
	}
	return true, failing
}

// failingChecks names the registry's failing health checks. A registry
// that cannot tell (not reachable on its socket, or an older binary still
// running) is taken at its HTTP answer.
func (c *Charm) failingChecks(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	failing, err := c.Workload.FailingChecks(ctx)
	if err != nil {
		return nil
	}
	return failing
}

// waitReady polls the registry until it answers or ReadyTimeout passes,
// so that an active status always means a registry that serves.
func (c *Charm) waitReady(ctx context.Context, p Probe) bool {
	deadline := time.Now().Add(c.ReadyTimeout)
	for {
		if c.Workload.Answers(ctx, p) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpProbe asks the registry's liveness endpoint ("/"). Any HTTP answer
// counts: the probe checks that the process serves, not who may use it.
func httpProbe(ctx context.Context, p Probe) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", p.Port)
	if !p.TLS {
		resp, err := get(ctx, "http://"+addr+"/")
		return err == nil && resp.StatusCode < 500
	}
	if answersPlainWithTLS(ctx, addr) {
		return true
	}
	resp, err := get(ctx, "https://"+addr+"/")
	if err == nil {
		return resp.StatusCode < 500
	}
	return handshakes(ctx, addr)
}

// plainOnTLS is how Go's TLS server answers a plain HTTP request: at once,
// before any cryptography.
const plainOnTLS = "Client sent an HTTP request to an HTTPS server."

// answersPlainWithTLS tells whether a Go TLS server (ours) serves at addr,
// without a handshake: the server's RSA signature would be most of what
// update-status costs on a unit with TLS. The answer proves the registry
// accepts connections on the port and serves TLS there; what it serves
// over TLS was checked when the configuration was loaded.
func answersPlainWithTLS(ctx context.Context, addr string) bool {
	resp, err := get(ctx, "http://"+addr+"/")
	return err == nil && resp.StatusCode == http.StatusBadRequest &&
		strings.Contains(string(resp.Body), plainOnTLS)
}

type answer struct {
	StatusCode int
	Body       []byte
}

// get makes one request on a fresh connection, bypassing any proxy, and
// trusting any certificate: trust is checked by clients, not by the probe.
func get(ctx context.Context, url string) (answer, error) {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return answer{StatusCode: resp.StatusCode, Body: body}, nil
}

// handshakes tells whether a TLS server answers at addr. A registry that
// requires client certificates refuses the probe's request (with an alert,
// or by closing the connection), but only after completing the handshake
// that proves it is up: in TLS 1.3 the client's side finishes first.
func handshakes(ctx context.Context, addr string) bool {
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return strings.Contains(err.Error(), "remote error: tls:")
	}
	conn.Close()
	return true
}
