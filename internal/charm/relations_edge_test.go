package charm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// An answer whose key is not the certificate's, or whose certificate does
// not name our address, is refused: blocked, http stays, clients are not
// told TLS.
func TestUnusableCertificateKeepsHTTP(t *testing.T) {
	for name, tamper := range map[string]func(a, other map[string]string){
		"key of another certificate": func(a, other map[string]string) {
			a["docker-registry_0.server.key"] = other["docker-registry_0.server.key"]
		},
		"certificate for another address": func(a, other map[string]string) {
			a["docker-registry_0.server.cert"] = other["docker-registry_0.server.cert"]
			a["docker-registry_0.server.key"] = other["docker-registry_0.server.key"]
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.Deploy(ctx, 1))
			clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
			h.must(err)
			ca, err := remote.NewEasyRSA()
			h.must(err)
			answer, err := ca.Answer(map[string]map[string]string{unit0: {"common_name": "127.0.10.1", "sans": `["127.0.10.1"]`}})
			h.must(err)
			other, err := ca.Answer(map[string]map[string]string{unit0: {"common_name": "127.0.99.9", "sans": `["127.0.99.9"]`}})
			h.must(err)
			tamper(answer, other)
			_, err = h.model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0", Data: answer})
			h.must(err)
			h.wantStatus(unit0, "blocked", "Certificate from cert-provider is unusable")
			if h.exists(unit0, "/etc/docker/registry/registry.crt") {
				t.Error("an unusable certificate was installed")
			}
			if raw := h.model.RelationData(clients, unit0)["tls_ca"]; raw != "null" {
				t.Errorf("clients told tls_ca %q", raw)
			}
		})
	}
}

// The proxy unit departs (haproxy scaled in): clients go back to the
// unit's own address, and the certificate request drops the proxy.
func TestProxyDepartureRestoresNetloc(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	ca, _ := relateEasyRSA(h)
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	web, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: "127.0.30.1"})
	h.must(err)
	v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if v.Netloc != "127.0.30.1:5000" || !strings.Contains(ca.Requests[unit0]["sans"], `"127.0.30.1"`) {
		t.Fatalf("with the proxy: netloc %q, sans %s", v.Netloc, ca.Requests[unit0]["sans"])
	}
	h.must(h.model.RemoveRemoteUnit(ctx, web, "haproxy/0"))
	v, err = remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if v.Netloc != "127.0.10.1:5000" {
		t.Errorf("after the proxy departed, netloc %q", v.Netloc)
	}
	if strings.Contains(ca.Requests[unit0]["sans"], "127.0.30.1") {
		t.Errorf("after the proxy departed, sans %s", ca.Requests[unit0]["sans"])
	}
}

// Leadership moves without a unit going: the new leader publishes the
// stanza, the old one clears it, so haproxy never sees two.
func TestLeaderChangeMovesTheStanza(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	web, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	h.must(err)
	h.must(h.model.SetLeader(ctx, "docker-registry/1"))
	old, cur := h.model.RelationData(web, unit0), h.model.RelationData(web, "docker-registry/1")
	if old["services"] != "" || old["port"] != "" {
		t.Errorf("old leader still publishes: %v", old)
	}
	var services []struct {
		Servers [][]any `yaml:"servers"`
	}
	h.must(yaml.Unmarshal([]byte(cur["services"]), &services))
	if len(services) != 1 || len(services[0].Servers) != 2 || cur["port"] != "5000" {
		t.Fatalf("new leader bag = %v", cur)
	}
	// Still the oldest unit first and primary, whoever leads.
	if services[0].Servers[0][0] != "docker-registry-0" || strings.Contains(services[0].Servers[0][3].(string), "backup") {
		t.Errorf("servers = %v", services[0].Servers)
	}
}

// The liveness probe must count a TLS alert for a missing client
// certificate (tls-client-auth=require, the default with cert-provider) as
// a live registry: over TCP that alert is a *net.OpError, not a
// tls.AlertError.
func TestProbeAcceptsMutualTLS(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool()}
	s.StartTLS()
	defer s.Close()
	port := s.Listener.Addr().(*net.TCPAddr).Port
	if !httpProbe(context.Background(), Probe{Port: port, TLS: true}) {
		t.Error("a registry asking for a client certificate is reported as not answering")
	}
}

// On a TLS unit the probe must not cost a handshake (the server's signature
// dominated update-status), yet still tell a TLS registry from a plain one.
func TestProbeTLSWithoutHandshake(t *testing.T) {
	var handshakes atomic.Int32
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if _, ok := c.(*tls.Conn); ok && st == http.StateActive {
			handshakes.Add(1)
		}
	}
	s.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		handshakes.Add(1)
		return nil, nil
	}}
	s.StartTLS()
	defer s.Close()
	port := s.Listener.Addr().(*net.TCPAddr).Port
	if !httpProbe(context.Background(), Probe{Port: port, TLS: true}) {
		t.Fatal("a TLS registry is reported as not answering")
	}
	if n := handshakes.Load(); n != 0 {
		t.Errorf("the probe started %d TLS handshakes, want 0", n)
	}

	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	port = plain.Listener.Addr().(*net.TCPAddr).Port
	if httpProbe(context.Background(), Probe{Port: port, TLS: true}) {
		t.Error("a plain-HTTP server passes for the TLS registry")
	}
	if !httpProbe(context.Background(), Probe{Port: port}) {
		t.Error("a plain-HTTP registry is reported as not answering")
	}
}
