package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// testConfig is the part of a distribution configuration the tests vary.
type testConfig struct {
	Addr        string
	RootDir     string // filesystem storage; empty = inmemory
	S3Endpoint  string // host:port of S3 storage, instead of RootDir
	Htpasswd    string
	Cert, Key   string
	ClientCAs   string
	LogLevel    string
	Delete      bool
	ReadOnly    bool
	NoCache     bool
	DebugAddr   string
	Prometheus  bool
	DrainTime   string
	Secret      string
	AccessLogOn bool
	// HealthEvery is the storage health check's interval (default 10s,
	// three failures to fail; with HealthEvery, one).
	HealthEvery string
}

var configTemplate = texttemplate.Must(texttemplate.New("config").Parse(`version: 0.1
log:
  level: {{or .LogLevel "info"}}
  formatter: json
  fields: {service: registry}
  accesslog: {disabled: {{not .AccessLogOn}}}
http:
  addr: {{.Addr}}
{{- if .Secret}}
  secret: {{.Secret}}
{{- end}}
{{- if .DrainTime}}
  draintimeout: {{.DrainTime}}
{{- end}}
  headers: {X-Content-Type-Options: [nosniff]}
{{- if .Cert}}
  tls:
    certificate: {{.Cert}}
    key: {{.Key}}
{{- if .ClientCAs}}
    clientcas: [{{.ClientCAs}}]
{{- end}}
{{- end}}
{{- if .DebugAddr}}
  debug:
    addr: {{.DebugAddr}}
    prometheus: {enabled: {{.Prometheus}}}
{{- end}}
storage:
{{- if .S3Endpoint}}
  s3: {region: us-east-1, bucket: registry, regionendpoint: "http://{{.S3Endpoint}}", accesskey: AKIDEXAMPLE, secretkey: test-only, secure: false, forcepathstyle: true}
{{- else if .RootDir}}
  filesystem: {rootdirectory: {{.RootDir}}}
{{- else}}
  inmemory: {}
{{- end}}
  delete: {enabled: {{.Delete}}}
  maintenance:
    uploadpurging: {enabled: false}
    readonly: {enabled: {{.ReadOnly}}}
{{- if not .NoCache}}
  cache: {blobdescriptor: inmemory}
{{- end}}
{{- if .Htpasswd}}
auth:
  charm-htpasswd: {realm: test, path: {{.Htpasswd}}}
{{- end}}
health:
{{- if .HealthEvery}}
  storagedriver: {enabled: true, interval: {{.HealthEvery}}, threshold: 1}
{{- else}}
  storagedriver: {enabled: true, interval: 10s, threshold: 3}
{{- end}}
`))

func (c testConfig) write(t testing.TB, path string) {
	t.Helper()
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		t.Fatal(err)
	}
	// Write-and-rename, as the charm does, so a reload never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// running is a Server serving in the background for one test.
type running struct {
	*Server
	cfgPath string
	stderr  *syncBuffer
	done    chan error
	cancel  context.CancelFunc
}

// startServer writes cfg (Addr defaults to 127.0.0.1:0) and serves it,
// keeping the registry's log in r.stderr.
func startServer(t testing.TB, cfg testConfig) *running {
	t.Helper()
	return serveConfig(t, cfg, false)
}

func serveConfig(t testing.TB, cfg testConfig, quiet bool) *running {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	r := &running{cfgPath: filepath.Join(t.TempDir(), "config.yml"), stderr: &syncBuffer{}, done: make(chan error, 1)}
	cfg.write(t, r.cfgPath)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	var logw io.Writer = r.stderr
	if quiet {
		logw = io.Discard
	}
	s, err := NewServer(ctx, ServeOptions{ConfigPath: r.cfgPath, Stdout: io.Discard, Stderr: logw})
	if err != nil {
		cancel()
		t.Fatalf("cannot start the registry: %v", err)
	}
	r.Server = s
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		r.done <- nil // a second stop returns at once
	case <-time.After(30 * time.Second):
		t.Error("the registry did not stop within 30s")
	}
}

// reconfigure writes cfg and reloads.
func (r *running) reconfigure(t testing.TB, cfg testConfig) {
	t.Helper()
	cfg.Addr = r.Addr().String()
	cfg.write(t, r.cfgPath)
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
}

func (r *running) host() string { return r.Addr().String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// writeHtpasswd writes user:bcrypt(password) lines. MinCost keeps load tests
// CPU-bound on the registry, not on bcrypt (distribution verifies the hash
// on every request).
func writeHtpasswd(t testing.TB, path string, users map[string]string) {
	t.Helper()
	var b strings.Builder
	for u, p := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", u, h)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// issueAt writes a new server certificate for 127.0.0.1 and its key at
// fixed paths, each by a rename (as the charm does on rotation), and returns
// its serial.
func issueAt(t testing.TB, ca *pkitest.CA, certPath, keyPath string) int64 {
	t.Helper()
	p := ca.Issue(t, pkitest.Leaf{IPs: []string{"127.0.0.1"}})
	for _, f := range []struct {
		path string
		pem  []byte
	}{{certPath, p.CertPEM}, {keyPath, p.KeyPEM}} {
		writeTestFile(t, f.path+".new", f.pem)
		if err := os.Rename(f.path+".new", f.path); err != nil {
			t.Fatal(err)
		}
	}
	return p.Cert.SerialNumber.Int64()
}

func writeTestFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// transport is a fresh client transport trusting ca (nil: plain HTTP only).
func clientTransport(ca *pkitest.CA) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	if ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
	}
	return tr
}

// pushRandom pushes a random image of layers×size bytes to host/repo:tag.
func pushRandom(t testing.TB, host, repo string, size, layers int64, opts ...remote.Option) (name.Reference, v1.Image) {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("cannot push %s: %v", ref, err)
	}
	return ref, img
}

// pullAndCompare pulls ref and checks every layer's digest against want.
func pullAndCompare(t testing.TB, ref name.Reference, want v1.Image, opts ...remote.Option) error {
	t.Helper()
	got, err := remote.Image(ref, opts...)
	if err != nil {
		return err
	}
	wd, _ := want.Digest()
	gd, err := got.Digest()
	if err != nil {
		return err
	}
	if wd != gd {
		return fmt.Errorf("manifest digest %s, want %s", gd, wd)
	}
	layers, err := got.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest while reading
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func basic(user, pass string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: user, Password: pass})
}

func TestPushPullPlainHTTP(t *testing.T) {
	r := startServer(t, testConfig{RootDir: t.TempDir()})
	ref, img := pushRandom(t, r.host(), "test/plain", 1<<20, 3)
	if err := pullAndCompare(t, ref, img); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + r.host() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / = %d, want 200 (alive)", resp.StatusCode)
	}
}

func TestHtpasswdAuth(t *testing.T) {
	dir := t.TempDir()
	htp := filepath.Join(dir, "htpasswd")
	writeHtpasswd(t, htp, map[string]string{"admin": "first"})
	cfg := testConfig{RootDir: t.TempDir(), Htpasswd: htp}
	r := startServer(t, cfg)

	check := func(user, pass string, want int) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+r.host()+"/v2/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /v2/ as %q/%q = %d, want %d", user, pass, resp.StatusCode, want)
		}
	}
	check("", "", http.StatusUnauthorized)
	check("admin", "wrong", http.StatusUnauthorized)
	check("admin", "first", http.StatusOK)

	ref, img := pushRandom(t, r.host(), "test/auth", 1<<16, 1, basic("admin", "first"))
	if err := pullAndCompare(t, ref, img, basic("admin", "first")); err != nil {
		t.Fatal(err)
	}

	// A password change takes effect with the reload.
	writeHtpasswd(t, htp, map[string]string{"admin": "second"})
	r.reconfigure(t, cfg)
	check("admin", "first", http.StatusUnauthorized)
	check("admin", "second", http.StatusOK)
}

func TestMissingHtpasswdIsRefused(t *testing.T) {
	cfg := testConfig{Addr: "127.0.0.1:0", Htpasswd: filepath.Join(t.TempDir(), "absent")}
	path := filepath.Join(t.TempDir(), "config.yml")
	cfg.write(t, path)
	var stderr syncBuffer
	_, err := NewServer(context.Background(), ServeOptions{ConfigPath: path, Stdout: io.Discard, Stderr: &stderr})
	if err == nil || !strings.Contains(err.Error(), "cannot use htpasswd file") {
		t.Fatalf("NewServer = %v, want a refusal of the missing htpasswd file", err)
	}
	if _, err := os.Stat(cfg.Htpasswd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the htpasswd file was created (with a random password): %v", err)
	}
}
