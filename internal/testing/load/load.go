package e2e

// The reload-under-load scenario through the charm: pull clients in the
// test process keep the charm-deployed registry busy while the simulator
// applies reconfigurations and a certificate rotation with `juju config`.
// TestReloadUnderLoadThroughCharm asserts on it (in CI);
// BenchmarkCharmReloadUnderLoad reports its figures.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// loadReport is what the clients saw.
type loadReport struct {
	Opts             loadOptions
	Requests, Failed int64
	Errors           []string // the first few failures
	Steady, Reconfig latencies
	Steps            []loadStep
	Restarts         int // main PID changes of the registry service over the steps
	Protos           map[string]int64
	Window           time.Duration // from the first reconfiguration to the end of the last
}

type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (l latencies) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(l), r(l.pct(0.50)), r(l.pct(0.99)), r(l.pct(1)))
}

// runReloadUnderLoad deploys a unit serving TLS from blobs (tls-client-auth
// verify-if-given, so clients need no certificate) with basic auth when
// opts.Auth, pushes an image, starts the clients and applies ten
// reconfigurations and one certificate rotation through the simulator.
func runReloadUnderLoad(t testing.TB, opts loadOptions) loadReport {
	t.Helper()
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	pass := ""
	cfg := pki.TLSConfig(t, u.Addr, "verify-if-given")
	if opts.Auth {
		pass = newPassword(t)
		cfg["auth-basic-password"] = pass
	}
	u.Configure(cfg)
	u.WantReady(5000, "https")
	c := Client{Env: u.E, CAPEM: pki.CAPEM}
	if opts.Auth {
		c.User, c.Password = "admin", pass
	}
	img, err := random.Image(32<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Ref(u.Netloc(5000), "load/pull:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.Options()...); err != nil {
		t.Fatalf("push: %v", err)
	}
	mt, _ := img.MediaType()
	digest, _ := img.Digest()
	layers, _ := img.Layers()
	var blobs []v1.Hash
	for _, l := range layers {
		d, _ := l.Digest()
		blobs = append(blobs, d)
	}
	cfgName, _ := img.ConfigName()
	blobs = append(blobs, cfgName)

	rep := loadReport{Opts: opts, Protos: map[string]int64{}}
	var (
		requests, failed atomic.Int64
		phase            atomic.Int32 // 0 steady, 1 reconfiguring, 2 stop
		mu               sync.Mutex
		wg               sync.WaitGroup
	)
	base := "https://" + u.Netloc(5000) + "/v2/load/pull/"
	record := func(ph int32, d time.Duration, proto string, err error) {
		requests.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed.Add(1)
			if len(rep.Errors) < 8 {
				rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			}
			return
		}
		rep.Protos[proto]++
		if ph == 0 {
			rep.Steady = append(rep.Steady, d)
		} else {
			rep.Reconfig = append(rep.Reconfig, d)
		}
	}
	get := func(hc *http.Client, url, accept, want string) (string, error) {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if opts.Auth {
			req.SetBasicAuth("admin", pass)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		h := sha256.New()
		if _, err := io.Copy(h, resp.Body); err != nil {
			return resp.Proto, fmt.Errorf("%s: reading the body: %w", resp.Proto, err)
		}
		if resp.StatusCode != http.StatusOK {
			return resp.Proto, fmt.Errorf("%s: GET %s answered %d", resp.Proto, strings.TrimPrefix(url, base), resp.StatusCode)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != want {
			return resp.Proto, fmt.Errorf("GET %s: body digest %s", strings.TrimPrefix(url, base), got)
		}
		return resp.Proto, nil
	}
	deadline := time.Now().Add(opts.MaxTime)
	for i := 0; i < opts.Clients; i++ {
		tr := c.Transport()
		if opts.HTTP1 {
			tr.ForceAttemptHTTP2 = false
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		tr.MaxIdleConnsPerHost = 1
		hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer tr.CloseIdleConnections()
			for n := 0; n < opts.MaxIter && phase.Load() != 2 && time.Now().Before(deadline); n++ {
				blob := blobs[(i+n)%len(blobs)]
				for _, r := range []struct{ url, accept, want string }{
					{base + "manifests/" + digest.String(), string(mt), digest.String()},
					{base + "blobs/" + blob.String(), "", blob.String()},
				} {
					ph := phase.Load()
					start := time.Now()
					proto, err := get(hc, r.url, r.accept, r.want)
					record(ph, time.Since(start), proto, err)
				}
			}
		}(i)
	}

	time.Sleep(opts.Steady)
	phase.Store(1)
	pid := u.MainPID()
	newCert, newKey := pki.ServerPair(t, u.Addr)
	// What a client can see of some changes: the reload really happened.
	probe := func(method, url string, want int) func() error {
		return func() error {
			req, err := http.NewRequest(method, url, nil)
			if err != nil {
				return err
			}
			if opts.Auth {
				req.SetBasicAuth("admin", pass)
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
	upload := base + "blobs/uploads/"
	rep.Steps = []loadStep{
		{Name: "log-level=debug", Values: map[string]any{"log-level": "debug"}},
		{Name: "storage-delete=true", Values: map[string]any{"storage-delete": true}},
		{Name: "storage-cache=disabled", Values: map[string]any{"storage-cache": "disabled"}},
		{Name: "prometheus-metrics=true", Values: map[string]any{"prometheus-metrics": true},
			Check: probe(http.MethodGet, "http://"+u.Netloc(5001)+"/metrics", http.StatusOK)},
		{Name: "storage-read-only=true", Values: map[string]any{"storage-read-only": true},
			Check: probe(http.MethodPost, upload, http.StatusMethodNotAllowed)},
		{Name: "certificate rotation (tls-cert-blob, tls-key-blob)", Values: map[string]any{"tls-cert-blob": b64(newCert), "tls-key-blob": b64(newKey)}},
		{Name: "tls-client-auth=none", Values: map[string]any{"tls-client-auth": "none"}},
		{Name: "storage-cache=inmemory", Values: map[string]any{"storage-cache": "inmemory"}},
		{Name: "storage-read-only=false", Values: map[string]any{"storage-read-only": false},
			Check: probe(http.MethodPost, upload, http.StatusAccepted)},
		{Name: "tls-client-auth=verify-if-given", Values: map[string]any{"tls-client-auth": "verify-if-given"}},
		{Name: "log-level=info, prometheus-metrics=false, storage-delete=false", Values: map[string]any{"log-level": "info", "prometheus-metrics": false, "storage-delete": false}},
	}
	window := time.Now()
	var stepErr error
	for i := range rep.Steps {
		s := &rep.Steps[i]
		start := time.Now()
		if err := u.E.Model.SetConfig(context.Background(), s.Values); err != nil {
			stepErr = fmt.Errorf("%s: config-changed: %w", s.Name, err)
			break
		}
		s.Hook = time.Since(start)
		if st := u.Status(); st.Name != "active" {
			stepErr = fmt.Errorf("%s: status %s %q", s.Name, st.Name, st.Message)
			break
		}
		if p := u.MainPID(); p != pid {
			rep.Restarts++
			pid = p
		}
		if s.Check != nil {
			if err := s.Check(); err != nil {
				stepErr = fmt.Errorf("after %s: %w", s.Name, err)
				break
			}
		}
		if strings.HasPrefix(s.Name, "certificate rotation") {
			serial, err := servedCertSerial(context.Background(), u.E, u.Netloc(5000), pki.CAPEM)
			want := leafSerial(newCert)
			if err != nil || serial != want {
				stepErr = fmt.Errorf("after the rotation the registry serves certificate %s (err %v), want the new one %s", serial, err, want)
				break
			}
		}
		time.Sleep(opts.Gap)
	}
	rep.Window = time.Since(window)
	time.Sleep(opts.After)
	phase.Store(2)
	wg.Wait()
	rep.Requests, rep.Failed = requests.Load(), failed.Load()
	if stepErr != nil {
		t.Fatalf("reconfiguration under load: %v\nservice log (tail):\n%s", stepErr, u.LogTail(30))
	}
	return rep
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
