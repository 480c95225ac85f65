package e2e

// Helpers of the registry suites (registry_*_test.go, conformance_test.go):
// one deployed unit with its machine, certificates from a test CA for the
// tls-*-blob options, and small probes of what a user of the registry sees.

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/images"
	remotecharm "github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// unit0 is the first unit of the application under test.
const unit0 = "docker-registry/0"

// regServiceUnit and regServiceUser are the names the charm gives the
// registry's systemd service and its system user.
const (
	regServiceUnit = "docker-registry.service"
	regServiceUser = "docker-registry"
)

// regUnit is one deployed unit of the application and its machine.
type regUnit struct {
	T    testing.TB
	E    *deploy.Env
	Name string
	M    *machine.Machine
	Addr string // the machine's address on the cloud
}

// regDeploy deploys one unit after applying config (nil: the defaults), so
// that the first start of the registry already sees it. Deploy must leave
// the unit active.
func regDeploy(t testing.TB, config map[string]any) *regUnit {
	t.Helper()
	e := deploy.New(t)
	ctx := context.Background()
	if config != nil {
		if err := e.Model.SetConfig(ctx, config); err != nil {
			t.Fatalf("config before deploy: %v", err)
		}
	}
	start := time.Now()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, e.Machine(unit0).ServiceLog(regServiceUnit))
	}
	u := &regUnit{T: t, E: e, Name: unit0, M: e.Machine(unit0)}
	u.Addr = u.M.Addr().String()
	t.Logf("deployed in %v", time.Since(start).Round(time.Millisecond))
	return u
}

// Netloc is host:port of the registry on this unit.
func (u *regUnit) Netloc(port int) string { return net.JoinHostPort(u.Addr, strconv.Itoa(port)) }

// Status is the unit's workload status as `juju status` shows it.
func (u *regUnit) Status() sim.Status { return u.E.Model.Unit(u.Name).Status() }

// WantStatus fails unless the unit's status is name with a message
// containing every one of parts.
func (u *regUnit) WantStatus(name string, parts ...string) {
	u.T.Helper()
	st := u.Status()
	ok := st.Name == name
	for _, p := range parts {
		ok = ok && strings.Contains(st.Message, p)
	}
	if !ok {
		u.T.Fatalf("status = %s %q, want %s containing %q\nservice log (tail):\n%s",
			st.Name, st.Message, name, parts, u.LogTail(30))
	}
	u.T.Logf("status: %s %q", st.Name, st.Message)
}

// WantReady fails unless the unit is active and says where it serves.
func (u *regUnit) WantReady(port int, scheme string) {
	u.T.Helper()
	u.WantStatus("active", fmt.Sprintf("Ready at %s (%s).", u.Netloc(port), scheme))
}

// Configure sets options as `juju config` does and checks that
// config-changed exited 0 (an operator error is a status, never a hook
// error). Values are never printed: some are secrets.
func (u *regUnit) Configure(values map[string]any) time.Duration {
	u.T.Helper()
	start := time.Now()
	err := u.E.Model.SetConfig(context.Background(), values)
	took := time.Since(start)
	if err != nil {
		u.T.Fatalf("config-changed (options %s): %v", optionNames(values), err)
	}
	if f := u.E.Model.Unit(u.Name).Failed(); f != nil {
		u.T.Fatalf("unit in error state after setting %s: %s", optionNames(values), f.Hook)
	}
	return took
}

func optionNames(values map[string]any) string {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	return strings.Join(names, ",")
}

// LogTail is the end of the registry service's log, for failure messages.
// The registry never logs secrets (the tests check it); the manager's
// notes are about processes.
func (u *regUnit) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(u.M.ServiceLog(regServiceUnit), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Run runs a command inside the machine as root and returns its stdout;
// a failure fails the test.
func (u *regUnit) Run(args ...string) string {
	u.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := u.M.Command(ctx, args[0], args[1:]...).Result()
	if err != nil {
		u.T.Fatalf("cannot run %s on the machine: %v", args, err)
	}
	if r.ExitCode != 0 {
		u.T.Fatalf("%s on the machine exited %d: %s", args, r.ExitCode, r.Stderr)
	}
	return string(r.Stdout)
}

// MainPID is the registry service's main process in the machine's PID
// namespace, 0 when it is not running.
func (u *regUnit) MainPID() int {
	u.T.Helper()
	out := strings.TrimSpace(u.Run("systemctl", "show", "-p", "MainPID", "--value", regServiceUnit))
	pid, err := strconv.Atoi(out)
	if err != nil {
		u.T.Fatalf("systemctl show -p MainPID: %q", out)
	}
	return pid
}

// regImage is what a test pushed: its reference by tag and by digest.
type regImage struct {
	Repo   string
	Digest v1.Hash
}

// Push pushes a small random image to repo:tag with c and returns it.
func (u *regUnit) Push(c deploy.Client, port int, repoTag string) regImage {
	u.T.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		u.T.Fatal(err)
	}
	ref, err := c.Ref(u.Netloc(port), repoTag)
	if err != nil {
		u.T.Fatal(err)
	}
	if err := remote.Write(ref, img, c.Options()...); err != nil {
		u.T.Fatalf("push %s: %v", repoTag, err)
	}
	d, _ := img.Digest()
	return regImage{Repo: strings.SplitN(repoTag, ":", 2)[0], Digest: d}
}

// PullByDigest pulls the image by digest (manifest and every layer) and
// checks what came back.
func (u *regUnit) PullByDigest(c deploy.Client, port int, im regImage) error {
	ref, err := c.Ref(u.Netloc(port), im.Repo+"@"+im.Digest.String())
	if err != nil {
		return err
	}
	img, err := remote.Image(ref, c.Options()...)
	if err != nil {
		return err
	}
	if err := images.ReadLayers(img); err != nil {
		return err
	}
	if d, _ := img.Digest(); d != im.Digest {
		return fmt.Errorf("pulled %s, want %s", d, im.Digest)
	}
	return nil
}

// WaitPull polls PullByDigest until it succeeds or the deadline passes.
func (u *regUnit) WaitPull(c deploy.Client, port int, im regImage, within time.Duration) {
	u.T.Helper()
	deadline := time.Now().Add(within)
	for {
		err := u.PullByDigest(c, port, im)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			u.T.Fatalf("pull by digest still failing after %v: %v\nservice log (tail):\n%s", within, err, u.LogTail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Get sends GET path to the registry with c's transport (and basic auth
// when user is not empty) and returns the response with its body read.
func (u *regUnit) Get(c deploy.Client, scheme string, port int, path, user, pass string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+u.Netloc(port)+path, nil)
	if err != nil {
		return nil, err
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	tr := c.Transport()
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	_, err = drain(resp.Body)
	resp.Body.Close()
	return resp, err
}

// regPKI is a test CA with server certificates for the registry's address
// and a client pair, as an operator would hand them over in tls-*-blob.
type regPKI struct {
	ca         *remotecharm.EasyRSA
	CAPEM      []byte
	ClientCert tls.Certificate // signed by the CA, for client auth
}

func newRegPKI(t testing.TB) *regPKI {
	t.Helper()
	ca, err := remotecharm.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair([]byte(ca.ClientCert), []byte(ca.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	return &regPKI{ca: ca, CAPEM: []byte(ca.CAPEM), ClientCert: pair}
}

// ServerPair issues a new server certificate for addr: PEM certificate and
// PEM key (the easyrsa text dump stripped, as an operator pastes a PEM).
func (p *regPKI) ServerPair(t testing.TB, addr string) (cert, key []byte) {
	t.Helper()
	bag, err := p.ca.Answer(map[string]map[string]string{
		"docker-registry/0": {"common_name": addr, "sans": fmt.Sprintf("[%q]", addr), "unit_name": "docker-registry/0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return pemOnly(bag["docker-registry_0.server.cert"]), pemOnly(bag["docker-registry_0.server.key"])
}

// TLSConfig is the tls-*-blob options for a fresh server pair for addr,
// with the CA, and tls-client-auth set to clientAuth ("" leaves the
// option alone).
func (p *regPKI) TLSConfig(t testing.TB, addr, clientAuth string) map[string]any {
	cert, key := p.ServerPair(t, addr)
	cfg := map[string]any{
		"tls-cert-blob": b64(cert),
		"tls-key-blob":  b64(key),
		"tls-ca-blob":   b64(p.CAPEM),
	}
	if clientAuth != "" {
		cfg["tls-client-auth"] = clientAuth
	}
	return cfg
}

func pemOnly(s string) []byte {
	var out []byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		out = append(out, pem.EncodeToMemory(b)...)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// newPassword is a random password; tests never print it.
func newPassword(t testing.TB) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return deploy.RememberSecret(t, hex.EncodeToString(b))
}

// servedCertSerial is the serial number of the certificate the registry
// presents on a TLS handshake.
func servedCertSerial(ctx context.Context, e *deploy.Env, netloc string, caPEM []byte) (string, error) {
	raw, err := e.Cloud.DialContext(ctx, "tcp", netloc)
	if err != nil {
		return "", err
	}
	host, _, _ := net.SplitHostPort(netloc)
	c := deploy.Client{Env: e, CAPEM: caPEM}
	conf := c.Transport().TLSClientConfig.Clone()
	conf.ServerName = host
	conn := tls.Client(raw, conf)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := conn.HandshakeContext(ctx); err != nil {
		return "", err
	}
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func drain(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

// leafSerial is the serial number of the first certificate in a PEM bundle.
func leafSerial(certPEM []byte) string {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return ""
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return ""
	}
	return c.SerialNumber.String()
}
