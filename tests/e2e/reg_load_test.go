package e2e

// The reload-under-load scenario through the charm: pull clients in the
// test process (internal/testing/load) keep the charm-deployed registry
// busy while the simulator applies reconfigurations and a certificate
// rotation with `juju config`. TestReloadUnderLoadThroughCharm asserts on
// it (in CI); BenchmarkCharmReloadUnderLoad reports its figures.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/load"
)

// loadOptions size the scenario.
type loadOptions struct {
	Clients int           // concurrent pull clients, each with its own keep-alive transport
	MaxIter int           // pulls per client at most (a pull = manifest + one blob)
	Steady  time.Duration // load before the first reconfiguration: the baseline
	Gap     time.Duration // between reconfigurations
	After   time.Duration // load after the last one
	MaxTime time.Duration // hard bound on the whole load
	Auth    bool          // basic auth on (constant) for every request
	HTTP1   bool          // HTTP/1.1 keep-alive instead of HTTP/2
}

// loadStep is one `juju config` applied under load.
type loadStep struct {
	Name   string
	Values map[string]any
	Check  func() error  // what a client sees of the change, checked right after the hook
	Hook   time.Duration // how long config-changed took
}

// loadReport is what the clients saw and what the steps took.
type loadReport struct {
	load.Report
	Opts     loadOptions
	Steps    []loadStep
	Restarts int           // main PID changes of the registry service over the steps
	Window   time.Duration // from the first reconfiguration to the end of the last
}

// runReloadUnderLoad deploys a unit serving TLS from blobs (tls-client-auth
// verify-if-given, so clients need no certificate) with basic auth when
// opts.Auth, pushes an image, starts the clients and applies ten
// reconfigurations and one certificate rotation through the simulator.
func runReloadUnderLoad(t testing.TB, opts loadOptions) loadReport {
	t.Helper()
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	cfg := pki.TLSConfig(t, u.Addr, "verify-if-given")
	c := deploy.Client{Env: u.E, CAPEM: pki.CAPEM}
	if opts.Auth {
		c.User, c.Password = "admin", newPassword(t)
		cfg["auth-basic-password"] = c.Password
	}
	u.Configure(cfg)
	u.WantReady(5000, "https")
	base := "https://" + u.Netloc(5000) + "/v2/load/pull/"
	round := pushLoadImage(t, c, u.Netloc(5000), base)
	lopts := load.Options{
		Clients: opts.Clients, MaxIter: opts.MaxIter, MaxTime: opts.MaxTime, HTTP1: opts.HTTP1,
		Transport: c.Transport, Round: round,
	}
	if opts.Auth {
		lopts.Credential = func(int) (string, string, func()) { return c.User, c.Password, nil }
	}
	run := load.Start(lopts)
	time.Sleep(opts.Steady)
	run.Reconfiguring()
	rep := loadReport{Opts: opts}
	stepErr := applySteps(t, u, c, pki, base, &rep)
	time.Sleep(opts.After)
	rep.Report = run.Stop()
	if stepErr != nil {
		t.Fatalf("reconfiguration under load: %v\nservice log (tail):\n%s", stepErr, u.LogTail(30))
	}
	return rep
}

// pushLoadImage pushes the image the clients pull and returns their
// round: the manifest and one blob, both by digest.
func pushLoadImage(t testing.TB, c deploy.Client, netloc, base string) func(client, n int) []load.Request {
	img, err := random.Image(32<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Ref(netloc, "load/pull:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.Options()...); err != nil {
		t.Fatalf("push: %v", err)
	}
	mt, _ := img.MediaType()
	digest, _ := img.Digest()
	layers, _ := img.Layers()
	var blobs []string
	for _, l := range layers {
		d, _ := l.Digest()
		blobs = append(blobs, d.String())
	}
	cfgName, _ := img.ConfigName()
	blobs = append(blobs, cfgName.String())
	return func(client, n int) []load.Request {
		blob := blobs[(client+n)%len(blobs)]
		return []load.Request{
			{URL: base + "manifests/" + digest.String(), Accept: string(mt), Digest: digest.String()},
			{URL: base + "blobs/" + blob, Digest: blob},
		}
	}
}

// probe is a check of what a client can see of some changes: the reload
// really happened.
func probe(c deploy.Client, method, url string, want int) func() error {
	return func() error {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			return err
		}
		if c.User != "" {
			req.SetBasicAuth(c.User, c.Password)
		}
		tr := c.Transport()
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s answered %d, want %d", method, url, resp.StatusCode, want)
		}
		return nil
	}
}

// applySteps applies the reconfigurations one by one, each followed by
// opts.Gap of load, and records them in rep; it stops at the first one
// that fails.
func applySteps(t testing.TB, u *regUnit, c deploy.Client, pki *regPKI, base string, rep *loadReport) error {
	pid := u.MainPID()
	newCert, newKey := pki.ServerPair(t, u.Addr)
	upload := base + "blobs/uploads/"
	rep.Steps = []loadStep{
		{Name: "log-level=debug", Values: map[string]any{"log-level": "debug"}},
		{Name: "storage-delete=true", Values: map[string]any{"storage-delete": true}},
		{Name: "storage-cache=disabled", Values: map[string]any{"storage-cache": "disabled"}},
		{Name: "prometheus-metrics=true", Values: map[string]any{"prometheus-metrics": true},
			Check: probe(c, http.MethodGet, "http://"+u.Netloc(5001)+"/metrics", http.StatusOK)},
		{Name: "storage-read-only=true", Values: map[string]any{"storage-read-only": true},
			Check: probe(c, http.MethodPost, upload, http.StatusMethodNotAllowed)},
		{Name: "certificate rotation (tls-cert-blob, tls-key-blob)", Values: map[string]any{"tls-cert-blob": b64(newCert), "tls-key-blob": b64(newKey)},
			Check: servesCert(u, pki, newCert)},
		{Name: "tls-client-auth=none", Values: map[string]any{"tls-client-auth": "none"}},
		{Name: "storage-cache=inmemory", Values: map[string]any{"storage-cache": "inmemory"}},
		{Name: "storage-read-only=false", Values: map[string]any{"storage-read-only": false},
			Check: probe(c, http.MethodPost, upload, http.StatusAccepted)},
		{Name: "tls-client-auth=verify-if-given", Values: map[string]any{"tls-client-auth": "verify-if-given"}},
		{Name: "log-level=info, prometheus-metrics=false, storage-delete=false", Values: map[string]any{"log-level": "info", "prometheus-metrics": false, "storage-delete": false}},
	}
	window := time.Now()
	defer func() { rep.Window = time.Since(window) }()
	for i := range rep.Steps {
		s := &rep.Steps[i]
		start := time.Now()
		if err := u.E.Model.SetConfig(context.Background(), s.Values); err != nil {
			return fmt.Errorf("%s: config-changed: %w", s.Name, err)
		}
		s.Hook = time.Since(start)
		if st := u.Status(); st.Name != "active" {
			return fmt.Errorf("%s: status %s %q", s.Name, st.Name, st.Message)
		}
		if p := u.MainPID(); p != pid {
			rep.Restarts++
			pid = p
		}
		if s.Check != nil {
			if err := s.Check(); err != nil {
				return fmt.Errorf("after %s: %w", s.Name, err)
			}
		}
		time.Sleep(rep.Opts.Gap)
	}
	return nil
}

// servesCert checks that the registry presents cert after a rotation.
func servesCert(u *regUnit, pki *regPKI, cert []byte) func() error {
	return func() error {
		serial, err := servedCertSerial(context.Background(), u.E, u.Netloc(5000), pki.CAPEM)
		if want := leafSerial(cert); err != nil || serial != want {
			return fmt.Errorf("the registry serves certificate %s (err %v), want the new one %s", serial, err, want)
		}
		return nil
	}
}

// Markdown renders the report as a section of benchmarks/e2e-registry.md.
func (r loadReport) Markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| pull clients | %d (keep-alive, %s) |\n", r.Opts.Clients, map[bool]string{false: "HTTP/2", true: "HTTP/1.1"}[r.Opts.HTTP1])
	fmt.Fprintf(&b, "| basic auth | %v |\n", map[bool]string{false: "off", true: "on (htpasswd, bcrypt cost 10; constant credentials)"}[r.Opts.Auth])
	fmt.Fprintf(&b, "| requests | %d (%s) |\n", r.Requests, protoList(r.Protos))
	fmt.Fprintf(&b, "| **failed requests** | **%d** |\n", r.Failed)
	fmt.Fprintf(&b, "| registry restarts | %d |\n", r.Restarts)
	fmt.Fprintf(&b, "| latency before reconfiguring | %s |\n", r.Steady)
	fmt.Fprintf(&b, "| latency while reconfiguring (%v) | %s |\n", r.Window.Round(time.Millisecond), r.Reconfig)
	b.WriteString("\nconfig-changed under load, in order:\n\n")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "- %s: %v\n", s.Name, s.Hook.Round(time.Millisecond))
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nfirst failures:\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- `%s`\n", e)
		}
	}
	return b.String()
}

func protoList(m map[string]int64) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
