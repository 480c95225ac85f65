package image

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// TestPushToRegistryRequiringClientCertificates: the reference's tls-ca-path
// makes the registry demand client certificates (http.tls.clientcas).
func TestPushToRegistryRequiringClientCertificates(t *testing.T) {
	src := newRegistry(t, regOpts{})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 4<<10, 1))
	dst := newRegistry(t, regOpts{tls: true, clientCerts: true})

	tg := dst.target("", "")
	res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: tg})
	errContains(t, res.Err, "certificate")
	client := dst.ca.Issue(t, pkitest.Leaf{CommonName: "charm", Client: true})
	tg.ClientCert, tg.ClientKey = client.CertPEM, client.KeyPEM
	if res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: tg}); res.Err != nil {
		t.Fatal(res.Err)
	}
	pullAndVerify(t, tg, "app:1")
}

func TestProxyAppliesToTheSourceOnly(t *testing.T) {
	p := ProxyFromJuju(envMap{
		"JUJU_CHARM_HTTPS_PROXY": "http://squid.internal:3128",
		"JUJU_CHARM_NO_PROXY":    "mirror.internal",
	}.get)
	fn := p.proxyFunc()
	for host, want := range map[string]string{"quay.io": "http://squid.internal:3128", "mirror.internal": ""} {
		req, _ := http.NewRequest("GET", "https://"+host+"/v2/", nil)
		u, err := fn(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(u); (u == nil && want != "") || (u != nil && got != want) {
			t.Errorf("%s: proxy %v, want %q", host, u, want)
		}
	}
	if (Proxy{}).proxyFunc() != nil {
		t.Error("no settings must mean no proxy, not the process environment")
	}
	tr, _ := Target{Netloc: "10.0.0.5:5000"}.transport(nil)
	if tr.(stallGuard).next.(*guard).next.(*http.Transport).Proxy != nil {
		t.Error("the target is reached through a proxy")
	}
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }

// The charm trusts the serving certificate itself when TLS is configured
// without a CA file; Go accepts a leaf found in the root pool.
func TestTargetTrustsItsOwnCertificate(t *testing.T) {
	src := newRegistry(t, regOpts{})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 1<<10, 1))
	dst := newRegistry(t, regOpts{tls: true})
	leaf := dst.srv.TLS.Certificates[0].Certificate[0]
	tg := dst.target("", "")
	tg.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf})
	if res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: tg}); res.Err != nil {
		t.Fatal(res.Err)
	}
}
