package image

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"testing"
	"time"
)

// clientPair is a client certificate signed by ca, as PEM.
func (ca *testCA) clientPair(t *testing.T) (certPEM, keyPEM []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "charm"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// TestPushToRegistryRequiringClientCertificates: the reference's tls-ca-path
// makes the registry demand client certificates (http.tls.clientcas).
func TestPushToRegistryRequiringClientCertificates(t *testing.T) {
	src := newRegistry(t, regOpts{})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 4<<10, 1))
	dst := newRegistry(t, regOpts{tls: true, clientCerts: true})

	tg := dst.target("", "")
	res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Target: tg})
	errContains(t, res.Err, "certificate")
	tg.ClientCert, tg.ClientKey = dst.ca.clientPair(t)
	if res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Target: tg}); res.Err != nil {
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
	if tr.(*guard).next.(*http.Transport).Proxy != nil {
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
	if res := Push(context.Background(), PushRequest{Source: src.Netloc + "/app:1", Target: tg}); res.Err != nil {
		t.Fatal(res.Err)
	}
}
