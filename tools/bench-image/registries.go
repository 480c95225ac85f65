package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// upstream is one `registry serve` process of the upstream binary.
type upstream struct {
	cmd    *exec.Cmd
	Netloc string
	Root   string
}

type serveOpts struct {
	dir      string // holds config, storage root, certs
	tls      bool   // needs ca.crt/server.crt/server.key in dir (writeCerts)
	htpasswd string // path, "" for no auth
}

func startRegistry(bin string, o serveOpts) (*upstream, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	u := &upstream{Netloc: fmt.Sprintf("127.0.0.1:%d", port), Root: filepath.Join(o.dir, "storage")}
	conf := filepath.Join(o.dir, "config.yml")
	if err := os.WriteFile(conf, []byte(registryYAML(u, o)), 0o600); err != nil {
		return nil, fmt.Errorf("cannot write the registry config: %w", err)
	}
	u.cmd = exec.Command(bin, "serve", conf)
	u.cmd.Stdout, u.cmd.Stderr = nil, nil
	if err := u.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", bin, err)
	}
	if err := u.waitReady(o.tls); err != nil {
		u.Stop()
		return nil, err
	}
	return u, nil
}

// registryYAML mirrors the charm's defaults that matter for speed:
// filesystem storage and the inmemory blob-descriptor cache.
func registryYAML(u *upstream, o serveOpts) string {
	y := fmt.Sprintf(`version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: %s}
  delete: {enabled: true}
  cache: {blobdescriptor: inmemory}
http:
  addr: %s
  secret: bench-secret
`, u.Root, u.Netloc)
	if o.tls {
		y += fmt.Sprintf("  tls: {certificate: %s, key: %s}\n", filepath.Join(o.dir, "server.crt"), filepath.Join(o.dir, "server.key"))
	}
	if o.htpasswd != "" {
		y += fmt.Sprintf("auth:\n  htpasswd: {realm: bench, path: %s}\n", o.htpasswd)
	}
	return y
}

func (u *upstream) waitReady(tls bool) error {
	scheme := "http"
	client := &http.Client{Timeout: time.Second}
	if tls {
		scheme = "https"
		client.Transport = insecureTransport() // readiness only; the contestants verify
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(scheme + "://" + u.Netloc + "/v2/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("cannot reach the registry on %s", u.Netloc)
}

// Stop ends the process we started, by its PID.
func (u *upstream) Stop() {
	if u.cmd != nil && u.cmd.Process != nil {
		u.cmd.Process.Kill()
		u.cmd.Wait()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeCerts makes a CA and a server certificate for 127.0.0.1 in dir, and
// a copy of the CA as certDir/ca.crt for skopeo's --dest-cert-dir.
func writeCerts(dir, certDir string) ([]byte, error) {
	ca := pkitest.NewCA(mustT{}, "bench CA")
	srv := ca.Issue(mustT{}, pkitest.Leaf{IPs: []string{"127.0.0.1"}})
	files := map[string][]byte{
		filepath.Join(dir, "server.crt"): srv.CertPEM,
		filepath.Join(dir, "server.key"): srv.KeyPEM,
		filepath.Join(certDir, "ca.crt"): ca.CertPEM,
	}
	for p, b := range files {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", p, err)
		}
	}
	return ca.CertPEM, nil
}

// mustT runs the test PKI outside a test: creating a key or a certificate
// from fixed templates does not fail short of a broken machine, so a
// failure panics.
type mustT struct{}

func (mustT) Helper() {}

func (mustT) Fatal(args ...any) { panic(fmt.Sprint(args...)) }

func writeHtpasswd(path, user, password string) error {
	// Cost 5 is what `htpasswd -B` writes by default; distribution checks it
	// on every request, so the cost shows in both contestants' times.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 5)
	if err != nil {
		return fmt.Errorf("cannot hash the password: %w", err)
	}
	return os.WriteFile(path, []byte(user+":"+string(hash)+"\n"), 0o600)
}

// insecureTransport is for the readiness probe only.
func insecureTransport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
}

// cpu is the user+system time the registry process has used so far.
func (u *upstream) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", u.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" closing the command name; utime and stime are
	// the 14th and 15th fields of the whole line, in clock ticks (100/s).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * 10 * time.Millisecond
}
