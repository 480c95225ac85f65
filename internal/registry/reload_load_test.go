package registry

import (
	"net/http"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
	"github.com/canonical/docker-registry-charm/internal/testing/load"
)

// loadOpts sizes the reload-under-load scenario.
type loadOpts struct {
	clients  int           // concurrent pull clients
	interval time.Duration // between reconfigurations
	steady   time.Duration // load without reloads first (the baseline); 0 = none
	maxTime  time.Duration // hard bound of the whole run
	maxIter  int           // per client
	http1    bool          // HTTP/1.1 keep-alive instead of HTTP/2
	// start serves cfg; nil is our Server in-process, reconfigured by Reload.
	start func(t testing.TB, cfg testConfig) loadTarget
}

// loadTarget is the registry under load and the way it takes a new
// configuration.
type loadTarget struct {
	host    string
	cfgPath string
	reload  func() error
	stop    func()
}

// inProcess serves cfg with our Server and reconfigures it with Reload.
func inProcess(t testing.TB, cfg testConfig) loadTarget {
	r := startServerQuiet(t, cfg)
	return loadTarget{host: r.host(), cfgPath: r.cfgPath, reload: r.Reload, stop: func() { r.stop(t) }}
}

// loadResult is what the pull clients saw.
type loadResult struct {
	requests, failed int64
	reloads          int
	protos           map[string]int64 // responses per protocol
	errors           []string         // the first few failures
	steady, reload   latencies
	goroutines       [2]int // before the server started, after it retired all Apps
}

// latencies are the load runner's, with the name the benchmarks use.
type latencies load.Latencies

func (l latencies) pct(p float64) time.Duration { return load.Latencies(l).Pct(p) }
func (l latencies) String() string              { return load.Latencies(l).String() }

// creds is the credential the clients use; gen orders changes.
type creds struct {
	user, pass string
	gen        int64
}

// loadScenario is one registry under pull load plus the actor that
// reconfigures it.
type loadScenario struct {
	opts    loadOpts
	r       loadTarget
	ca      *pkitest.CA
	cfg     testConfig
	htp     string
	cert    string
	key     string
	round   []load.Request
	cred    atomic.Pointer[creds]
	acked   []atomic.Int64 // per client: the newest credential gen it completed a request with
	reloads int
	passwds map[string]string
}

// runReloadUnderLoad serves a TLS + basic-auth registry with a pushed image,
// runs opts.clients pull clients (manifest GET + blob GET, keep-alive) and
// meanwhile applies ten reconfigurations and one certificate rotation.
func runReloadUnderLoad(t testing.TB, opts loadOpts) loadResult {
	s := &loadScenario{opts: opts, acked: make([]atomic.Int64, opts.clients)}
	var res loadResult
	res.goroutines[0] = runtime.NumGoroutine()
	s.setUp(t)
	run := load.Start(load.Options{
		Clients: opts.clients, MaxIter: opts.maxIter, MaxTime: opts.maxTime, HTTP1: opts.http1,
		Transport:  func() *http.Transport { return clientTransport(s.ca) },
		Round:      func(_, n int) []load.Request { return []load.Request{s.round[0], s.round[1+n%(len(s.round)-1)]} },
		Credential: s.credential,
	})
	if opts.steady > 0 {
		time.Sleep(opts.steady)
	}
	run.Reconfiguring()
	s.reconfigureAll(t)
	time.Sleep(opts.interval) // the last configuration under load too
	rep := run.Stop()

	s.r.stop()
	res.goroutines[1] = settledGoroutines(res.goroutines[0])
	res.requests, res.failed, res.reloads = rep.Requests, rep.Failed, s.reloads
	res.protos, res.errors = rep.Protos, rep.Errors
	res.steady, res.reload = latencies(rep.Steady), latencies(rep.Reconfig)
	return res
}

// credential is what client i sends next, and marks the credential's
// generation acknowledged by i once the request is answered.
func (s *loadScenario) credential(i int) (user, pass string, done func()) {
	cr := s.cred.Load()
	return cr.user, cr.pass, func() { s.acked[i].Store(cr.gen) }
}

func (s *loadScenario) setUp(t testing.TB) {
	dir := t.TempDir()
	s.ca = pkitest.NewCA(t, "test CA")
	s.cert, s.key = filepath.Join(dir, "registry.crt"), filepath.Join(dir, "registry.key")
	issueAt(t, s.ca, s.cert, s.key)
	s.htp = filepath.Join(dir, "htpasswd")
	s.passwds = map[string]string{"alice": "alice-0", "bob": "bob-0"}
	writeHtpasswd(t, s.htp, s.passwds)
	s.cfg = testConfig{RootDir: t.TempDir(), Htpasswd: s.htp, Cert: s.cert, Key: s.key, LogLevel: "info", DrainTime: "10s"}
	if s.opts.start == nil {
		s.opts.start = inProcess
	}
	s.r = s.opts.start(t, s.cfg)
	s.cfg.Addr = s.r.host
	s.cred.Store(&creds{user: "alice", pass: "alice-0"})

	ref, img := pushRandom(t, s.r.host, "load/image", 64<<10, 2,
		remote.WithTransport(clientTransport(s.ca)), basic("alice", "alice-0"))
	base := "https://" + s.r.host + "/v2/load/image/"
	s.round = []load.Request{{URL: base + "manifests/" + ref.Identifier(), Accept: "application/vnd.docker.distribution.manifest.v2+json"}}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		s.round = append(s.round, load.Request{URL: base + "blobs/" + d.String(), Digest: d.String()})
	}
}

// startServerQuiet is startServer with the registry log discarded (fifty
// clients at info level would fill memory).
func startServerQuiet(t testing.TB, cfg testConfig) *running {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	return serveConfig(t, cfg, true)
}

// reconfigureAll applies ten reconfigurations and one certificate rotation.
func (s *loadScenario) reconfigureAll(t testing.TB) {
	steps := []func(c *testConfig){
		func(c *testConfig) { c.LogLevel = "warn" },
		func(c *testConfig) { s.changePassword(t, "alice") },
		func(c *testConfig) { c.Delete = true },
		func(c *testConfig) { issueAt(t, s.ca, s.cert, s.key) },
		func(c *testConfig) { c.LogLevel = "error" },
		func(c *testConfig) { s.changePassword(t, "bob") },
		func(c *testConfig) { c.NoCache = true },
		func(c *testConfig) { c.ReadOnly = true },
		func(c *testConfig) { c.ReadOnly, c.NoCache = false, false },
		func(c *testConfig) { c.DrainTime = "20s" },
		func(c *testConfig) { c.Delete, c.LogLevel = false, "info" },
	}
	for _, step := range steps {
		time.Sleep(s.opts.interval)
		step(&s.cfg)
		s.cfg.write(t, s.r.cfgPath)
		if err := s.r.reload(); err != nil {
			t.Errorf("Reload: %v", err)
		}
		s.reloads++
	}
}

// changePassword changes user's password the way an operator would without
// failing anyone: clients move to the other user first, and only once no
// request with the old credential is in flight does the file change.
func (s *loadScenario) changePassword(t testing.TB, user string) {
	other := map[string]string{"alice": "bob", "bob": "alice"}[user]
	cur := s.cred.Load()
	next := &creds{user: other, pass: s.passwds[other], gen: cur.gen + 1}
	s.cred.Store(next)
	s.waitAcked(t, next.gen)
	s.passwds[user] += "+"
	writeHtpasswd(t, s.htp, s.passwds)
}

func (s *loadScenario) waitAcked(t testing.TB, gen int64) {
	deadline := time.Now().Add(30 * time.Second)
	for i := range s.acked {
		for s.acked[i].Load() < gen {
			if time.Now().After(deadline) {
				t.Errorf("client %d never completed a request with the new credential", i)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// checkResponse reads and checks the answer to a Do: a 200 whose body,
// when wantHex is set, hashes to it.
func checkResponse(resp *http.Response, err error) func(wantHex string) error {
	return func(wantHex string) error {
		digest := ""
		if wantHex != "" {
			digest = "sha256:" + wantHex
		}
		return load.Check(resp, err, digest)
	}
}

// settledGoroutines waits briefly for goroutines to wind down to about
// base (idle connections and retired Apps take a moment) and returns the
// count.
func settledGoroutines(base int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > base+5; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

func TestReloadUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	for _, http1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP2", true: "HTTP1.1"}[http1], func(t *testing.T) {
			testReloadUnderLoad(t, http1)
		})
	}
}

func testReloadUnderLoad(t *testing.T, http1 bool) {
	res := runReloadUnderLoad(t, loadOpts{
		clients: 50, interval: 250 * time.Millisecond, steady: 500 * time.Millisecond,
		maxTime: 60 * time.Second, maxIter: 1 << 20, http1: http1,
	})
	t.Logf("%d requests %v, %d failed, %d reloads (10 reconfigurations + 1 certificate rotation)", res.requests, res.protos, res.failed, res.reloads)
	t.Logf("latency without reloads: %v", res.steady)
	t.Logf("latency while reloading: %v", res.reload)
	t.Logf("goroutines: %d before, %d after shutdown", res.goroutines[0], res.goroutines[1])
	for _, e := range res.errors {
		t.Error(e)
	}
	if res.failed != 0 {
		t.Fatalf("%d of %d requests failed across reloads", res.failed, res.requests)
	}
	if res.reloads != 11 || len(res.reload) == 0 {
		t.Fatalf("the scenario did not run fully: %d reloads, %d requests while reloading", res.reloads, len(res.reload))
	}
}
