package e2e

// A source registry for the actions suite: the upstream registry binary
// running on a machine of the test's cloud, filled with crane (both run
// inside that machine, on its localhost), as an operator's mirror or a
// public registry would be.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
	"github.com/canonical/docker-registry-charm/tests/sim/machine"
)

// Ports of the source machine: anonymous plain http, and https with
// basic auth (the same storage behind both).
const (
	sourcePublicPort  = 5000
	sourcePrivatePort = 5443
	sourceUser        = "mirror-reader"
)

// sourceRegistry is the upstream registry on its own machine.
type sourceRegistry struct {
	t       testing.TB
	e       *Env
	m       *machine.Machine
	crane   string
	layers  map[string]string // arch → host path of a layer tar holding /hello
	Public  string            // host:port, anonymous, plain http
	Private string            // host:port, https + basic auth ("" unless asked for)
	CAPEM   []byte            // signs Private's certificate
	// Password is the private side's; never print it.
	Password string
}

// toolPath finds a Go-built test tool: in $TOOLS_DIR (what `make tools`
// fills), else in this checkout's .cache/tools (the same, for a bare `go
// test` after `make tools`), else on PATH. Under make, or with CI set, its
// absence is a failure; a bare `go test` without the tools skips.
func toolPath(t testing.TB, tool string) string {
	t.Helper()
	if dir := os.Getenv("TOOLS_DIR"); dir != "" {
		p := filepath.Join(dir, tool)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Fatalf("%s is not in TOOLS_DIR=%s: run make tools", tool, dir)
	}
	if p := filepath.Join(RepoRoot(), ".cache", "tools", tool); fileExists(p) {
		return p
	}
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found and CI is set: run make tools", tool)
		}
		t.Skipf("%s not found (make tools builds it into .cache/tools)", tool)
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// newSourceRegistry starts the upstream registry on a new machine named
// "source". With private, a second listener serves the same storage over
// https with basic auth (its CA in CAPEM, its password in Password).
func newSourceRegistry(t testing.TB, e *Env, private bool) *sourceRegistry {
	t.Helper()
	s := &sourceRegistry{t: t, e: e, crane: toolPath(t, "crane")}
	bin := toolPath(t, "registry")
	m, err := e.Cloud.NewMachine("source")
	if err != nil {
		t.Fatalf("cannot create the source machine: %v", err)
	}
	s.m = m
	s.Public = fmt.Sprintf("%s:%d", m.Addr(), sourcePublicPort)
	s.layers = helloLayers(t)

	configs := map[string]string{"/etc/source/public.yml": sourceConfig(sourcePublicPort, "")}
	if private {
		s.Private = fmt.Sprintf("%s:%d", m.Addr(), sourcePrivatePort)
		s.Password = randomSecret(t)
		ca := pkitest.NewCA(t, "source mirror CA")
		srv := ca.Issue(t, pkitest.Leaf{IPs: []string{m.Addr().String()}})
		s.CAPEM = ca.CertPEM
		hash, err := bcrypt.GenerateFromPassword([]byte(s.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		for path, data := range map[string][]byte{
			"/etc/source/tls.crt":  srv.CertPEM,
			"/etc/source/tls.key":  srv.KeyPEM,
			"/etc/source/htpasswd": []byte(sourceUser + ":" + string(hash) + "\n"),
		} {
			if err := m.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		configs["/etc/source/private.yml"] = sourceConfig(sourcePrivatePort, `  tls: {certificate: /etc/source/tls.crt, key: /etc/source/tls.key}
auth:
  htpasswd: {realm: source, path: /etc/source/htpasswd}
`)
	}
	ctx := context.Background()
	for path, conf := range configs {
		if err := m.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := m.Command(ctx, bin, "serve", path)
		cmd.Env = append(m.DefaultEnv(), "OTEL_TRACES_EXPORTER=none")
		p, err := cmd.Start()
		if err != nil {
			t.Fatalf("cannot start the source registry: %v", err)
		}
		t.Cleanup(func() { p.Stop(5 * time.Second) })
		s.waitReady(p, path)
	}
	return s
}

// sourceConfig is a plain filesystem registry; extra goes under http.
func sourceConfig(port int, extra string) string {
	return fmt.Sprintf(`version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: /srv/source}
  delete: {enabled: true}
  cache: {blobdescriptor: disabled}
http:
  addr: :%d
  secret: source-http-secret
`, port) + extra
}

func (s *sourceRegistry) waitReady(p *machine.Process, conf string) {
	s.t.Helper()
	scheme, netloc := "http", s.Public
	c := Client{Env: s.e}
	if strings.HasSuffix(conf, "private.yml") {
		scheme, netloc, c.CAPEM = "https", s.Private, s.CAPEM
	}
	hc := &http.Client{Transport: c.Transport(), Timeout: 2 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(scheme + "://" + netloc + "/v2/")
		if err == nil {
			resp.Body.Close()
			return // 200, or 401 from the private side: it answers
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the source registry on %s never answered: %v\n%s", netloc, err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// craneRun runs crane on the source machine against its localhost.
func (s *sourceRegistry) craneRun(args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.m.Command(ctx, s.crane, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("crane %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func local(ref string) string { return fmt.Sprintf("localhost:%d/%s", sourcePublicPort, ref) }

// buildMultiArch builds repo:tag as a two-platform index (linux/amd64 and
// linux/arm64), each image running the static /hello for its architecture,
// with crane append + mutate --set-platform + index append. extra, when
// not nil, adds a layer of its own to each platform (content no other
// image shares). It returns the index digest as the source registry
// serves it.
func (s *sourceRegistry) buildMultiArch(repoTag string, extra func(arch string) []byte) v1.Hash {
	s.t.Helper()
	repo, tag, _ := strings.Cut(repoTag, ":")
	var children []string
	for _, arch := range []string{"amd64", "arm64"} {
		child := local(fmt.Sprintf("%s:%s-%s", repo, tag, arch))
		args := []string{"append", "--oci-empty-base", "-f", s.layers[arch]}
		if extra != nil {
			p := filepath.Join(s.t.TempDir(), "extra-"+arch+".tar")
			writeLayerTar(s.t, p, map[string][]byte{"extra/" + arch: extra(arch)}, 0o644)
			args = append(args, "-f", p)
		}
		s.craneRun(append(args, "-t", child)...)
		s.craneRun("mutate", child, "--set-platform", "linux/"+arch, "--entrypoint", "/hello", "-t", child)
		children = append(children, "-m", child)
	}
	s.craneRun(append(append([]string{"index", "append"}, children...), "-t", local(repoTag))...)
	return s.Digest(repoTag)
}

// buildSingle pushes a one-layer, one-platform image holding the file
// /name with content unique to ref.
func (s *sourceRegistry) buildSingle(repoTag string) v1.Hash {
	s.t.Helper()
	p := filepath.Join(s.t.TempDir(), "single.tar")
	writeLayerTar(s.t, p, map[string][]byte{"name": []byte(repoTag + "\n")}, 0o644)
	s.craneRun("append", "--oci-empty-base", "-f", p, "-t", local(repoTag))
	s.craneRun("mutate", local(repoTag), "--set-platform", "linux/amd64", "-t", local(repoTag))
	return s.Digest(repoTag)
}

// copy copies src to dst inside the source registry (crane copy: every
// platform, digest kept).
func (s *sourceRegistry) copy(src, dst string) {
	s.t.Helper()
	s.craneRun("copy", local(src), local(dst))
}

// Digest reads repo:tag's digest from the public side.
func (s *sourceRegistry) Digest(repoTag string) v1.Hash {
	s.t.Helper()
	desc := s.Get(repoTag)
	return desc.Digest
}

// Get reads repo:tag's descriptor from the public side.
func (s *sourceRegistry) Get(repoTag string) *remote.Descriptor {
	s.t.Helper()
	c := Client{Env: s.e}
	ref, err := c.Ref(s.Public, repoTag)
	if err != nil {
		s.t.Fatal(err)
	}
	desc, err := remote.Get(ref, c.Options()...)
	if err != nil {
		s.t.Fatalf("cannot read %s from the source: %v", repoTag, err)
	}
	return desc
}

// privateOptions reach the private side from the test process.
func (s *sourceRegistry) privateRef(repoTag string, withAuth bool) (name.Reference, []remote.Option) {
	s.t.Helper()
	c := Client{Env: s.e, CAPEM: s.CAPEM}
	ref, err := c.Ref(s.Private, repoTag)
	if err != nil {
		s.t.Fatal(err)
	}
	opts := []remote.Option{remote.WithTransport(c.Transport())}
	if withAuth {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: sourceUser, Password: s.Password}))
	}
	return ref, opts
}

var (
	helloMu    sync.Mutex
	helloCache map[string]string
)

// helloLayers builds a tiny static Go program for amd64 and arm64 and
// wraps each binary in a layer tar as /hello, once per test binary (next
// to the charm env.go builds).
func helloLayers(t testing.TB) map[string]string {
	t.Helper()
	helloMu.Lock()
	defer helloMu.Unlock()
	if helloCache != nil {
		return helloCache
	}
	dir, err := os.MkdirTemp("", "e2e-hello-")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "hello.go")
	prog := "package main\n\nimport (\n\t\"os\"\n\t\"runtime\"\n)\n\nfunc main() { os.Stdout.WriteString(\"hello from \" + runtime.GOARCH + \"\\n\") }\n"
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	// Both at once: on a cold build cache the arm64 runtime takes tens of
	// seconds to compile.
	archs := []string{"amd64", "arm64"}
	errs := make([]error, len(archs))
	var wg sync.WaitGroup
	for i, arch := range archs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "hello-"+arch), src)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("cannot build hello for %s: %v\n%s", arch, err, b)
			}
		}()
	}
	wg.Wait()
	out := map[string]string{}
	for i, arch := range archs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		data, err := os.ReadFile(filepath.Join(dir, "hello-"+arch))
		if err != nil {
			t.Fatal(err)
		}
		layer := filepath.Join(dir, "hello-"+arch+".tar")
		writeLayerTar(t, layer, map[string][]byte{"hello": data}, 0o755)
		out[arch] = layer
	}
	helloCache = out
	return out
}

func writeLayerTar(t testing.TB, path string, files map[string][]byte, mode int64) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, data := range files {
		if dir := filepath.Dir(name); dir != "." {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// randomBytes is incompressible content of n bytes.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomSecret(t testing.TB) string {
	return rememberSecret(t, fmt.Sprintf("pw-%x", randomBytes(t, 12)))
}

// trustCA adds caPEM to a machine's system trust store, as an operator
// (or update-ca-certificates) would for a private mirror.
func trustCA(t testing.TB, m *machine.Machine, caPEM []byte) {
	t.Helper()
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	cur, _ := m.ReadFile(bundle)
	if err := m.WriteFile(bundle, append(append(cur, '\n'), caPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
}
