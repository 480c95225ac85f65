package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/images"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// relEasyRSA relates cert-provider to a simulated easyrsa/0 that
// answers every request our units commit, as the easyrsa charm does.
func relEasyRSA(ctx context.Context, t testing.TB, e *deploy.Env) (*remote.EasyRSA, int) {
	t.Helper()
	ca, err := remote.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	ca.Attach(e.Model, "easyrsa/0")
	rel, err := e.Model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	if err != nil {
		t.Fatalf("relate cert-provider: %v", err)
	}
	return ca, rel
}

// relWantProxied checks that every unit says it serves plain HTTP on 5000
// behind the website relation's proxy.
func relWantProxied(t testing.TB, e *deploy.Env, units ...string) {
	t.Helper()
	for _, u := range units {
		want := "Ready at " + e.Machine(u).Addr().String() + ":5000 (http, proxied)."
		if st := e.Model.Unit(u).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, want) {
			t.Errorf("%s status = %s %q, want %q", u, st.Name, st.Message, want)
		}
	}
}

// relRegistryView reads our unit's docker-registry bag as a worker does.
func relRegistryView(t testing.TB, e *deploy.Env, rel int, unit string) remote.RegistryView {
	t.Helper()
	v, err := remote.ReadRegistry(e.Model.RelationData(rel, unit))
	if err != nil {
		t.Fatalf("%s's docker-registry data would mislead a worker: %v", unit, err)
	}
	return v
}

// relParseCert reads the first certificate of PEM text (easyrsa's text dump
// before it is skipped).
func relParseCert(text string) (*x509.Certificate, error) {
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no certificate in PEM text")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

// relServedCert connects to addr (host:port) from the test process over
// TLS, verifying the server against caPEM and presenting client (the
// registry may require one), and returns the server's leaf certificate.
func relServedCert(ctx context.Context, e *deploy.Env, addr, caPEM string, client *tls.Certificate) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	host, _, _ := net.SplitHostPort(addr)
	cfg := &tls.Config{RootCAs: pool, ServerName: host}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := e.Cloud.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, cfg)
	defer conn.Close()
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return conn.ConnectionState().PeerCertificates[0], nil
}

// relWaitServed polls addr until it serves exactly want over verified TLS.
func relWaitServed(ctx context.Context, e *deploy.Env, addr, caPEM string, client *tls.Certificate, want *x509.Certificate) error {
	return relEventually(ctx, relTimeout, func() error {
		got, err := relServedCert(ctx, e, addr, caPEM, client)
		if err != nil {
			return err
		}
		if !got.Equal(want) {
			return fmt.Errorf("%s serves certificate serial %s, want serial %s", addr, got.SerialNumber, want.SerialNumber)
		}
		return nil
	})
}

// relWaitHTTP polls http://addr/v2/ (plain) until it answers with code.
func relWaitHTTP(ctx context.Context, e *deploy.Env, addr string, code int) error {
	c := &http.Client{Transport: deploy.Client{Env: e}.Transport(), Timeout: 5 * time.Second}
	return relEventually(ctx, relTimeout, func() error {
		resp, err := c.Get("http://" + addr + "/v2/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			return fmt.Errorf("http://%s/v2/ answered %d, want %d", addr, resp.StatusCode, code)
		}
		return nil
	})
}

// relTestImage is a small runnable-looking linux/amd64 image.
func relTestImage(t testing.TB) (v1.Image, string) {
	t.Helper()
	img, err := images.Random(2048, 2, images.Linux[0])
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d.String()
}

// relPush writes img to netloc/repo with c.
func relPush(c deploy.Client, netloc, repo string, img v1.Image) error {
	ref, err := c.Ref(netloc, repo)
	if err != nil {
		return err
	}
	return ggcrremote.Write(ref, img, c.Options()...)
}

// relPullDigest reads netloc/repo's manifest digest with c.
func relPullDigest(c deploy.Client, netloc, repo string) (string, error) {
	ref, err := c.Ref(netloc, repo)
	if err != nil {
		return "", err
	}
	img, err := ggcrremote.Image(ref, c.Options()...)
	if err != nil {
		return "", err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}

// relSecret is a random password for a test; never printed.
func relSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// relKeyPair loads easyrsa text+PEM into a tls.Certificate.
func relKeyPair(t testing.TB, cert, key string) *tls.Certificate {
	t.Helper()
	kp, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		t.Fatalf("cannot load a key pair: %v", err)
	}
	return &kp
}
