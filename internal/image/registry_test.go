package image

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

func init() {
	// distribution logs every request at info; tests only want failures.
	logrus.SetOutput(io.Discard)
}

// testRegistry is a real distribution App served on 127.0.0.1.
type testRegistry struct {
	srv    *httptest.Server
	cfg    *configuration.Configuration
	root   string // filesystem storage root
	Netloc string
	CAPEM  []byte // set when served over TLS
	ca     *pkitest.CA
}

type regOpts struct {
	tls      bool
	user     string
	password string
	root     string // reuse a storage root (a "reload" of the same data)
	noDelete bool
	noCache  bool
	readOnly bool // storage.maintenance.readonly
	// clientCerts makes the server require client certificates signed by
	// its CA, as http.tls.clientcas does.
	clientCerts bool
}

func newRegistry(t testing.TB, o regOpts) *testRegistry {
	t.Helper()
	r := &testRegistry{root: o.root}
	if r.root == "" {
		r.root = t.TempDir()
	}
	r.cfg = registryConfig(t, r.root, o)
	r.srv = httptest.NewUnstartedServer(newApp(t, r.cfg))
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if o.tls {
		ca := pkitest.NewCA(t, "test CA")
		srv := ca.Issue(t, pkitest.Leaf{IPs: []string{"127.0.0.1"}})
		r.srv.TLS = &tls.Config{Certificates: []tls.Certificate{srv.TLS()}}
		if o.clientCerts {
			r.srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
			r.srv.TLS.ClientCAs = ca.Pool()
		}
		r.CAPEM, r.ca = ca.CertPEM, ca
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
	t.Cleanup(r.srv.Close)
	r.Netloc = r.srv.Listener.Addr().String()
	return r
}

func newApp(t testing.TB, cfg *configuration.Configuration) *handlers.App {
	t.Helper()
	return handlers.NewApp(context.Background(), cfg)
}

func registryConfig(t testing.TB, root string, o regOpts) *configuration.Configuration {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "test-secret"
	cfg.Catalog.MaxEntries = 1000 // configuration.Parse's default
	cfg.Storage = configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": root},
		"delete":     configuration.Parameters{"enabled": !o.noDelete},
	}
	if o.readOnly {
		cfg.Storage["maintenance"] = configuration.Parameters{"readonly": map[any]any{"enabled": true}}
	}
	if !o.noCache {
		cfg.Storage["cache"] = configuration.Parameters{"blobdescriptor": "inmemory"}
	}
	if o.user != "" {
		cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{
			"realm": "test", "path": writeHtpasswd(t, o.user, o.password),
		}}
	}
	return cfg
}

func writeHtpasswd(t testing.TB, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// target returns the Target that reaches this registry.
func (r *testRegistry) target(user, password string) Target {
	return Target{Netloc: r.Netloc, Insecure: r.CAPEM == nil, Username: user, Password: password, CAPEM: r.CAPEM}
}

// diskUsage is the bytes of regular files under the storage root.
func (r *testRegistry) diskUsage(t testing.TB) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(r.root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// errContains fails unless err mentions every word.
func errContains(t testing.TB, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error mentioning %q, got none", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}
