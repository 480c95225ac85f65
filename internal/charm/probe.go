package charm

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Probe is where the registry answers on this machine.
type Probe struct {
	Port int  `json:"port"`
	TLS  bool `json:"tls"`
}

func (c *Charm) probe(ctx context.Context, p Probe) bool {
	if c.Probe != nil {
		return c.Probe(ctx, p)
	}
	return httpProbe(ctx, p)
}

// waitReady polls the registry until it answers or ReadyTimeout passes,
// so that an active status always means a registry that serves.
func (c *Charm) waitReady(ctx context.Context, p Probe) bool {
	timeout := c.ReadyTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		if c.probe(ctx, p) {
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
	scheme := "http"
	if p.TLS {
		scheme = "https"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	tr := &http.Transport{
		// Liveness only: trust is checked by clients, not by the probe.
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	addr := fmt.Sprintf("127.0.0.1:%d", p.Port)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/", nil)
	if err != nil {
		return false
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		resp.Body.Close()
		return resp.StatusCode < 500
	}
	return p.TLS && handshakes(ctx, addr)
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
