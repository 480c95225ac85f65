// Package load keeps pull clients busy against a registry and records what
// they see while the caller reconfigures it: the zero-drop scenario of a
// registry reload, run in-process by internal/registry's tests and through
// the charm by the end-to-end suite.
package load

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one GET of a client. Digest, when set ("sha256:…"), is what
// the body must hash to: a blob or a manifest fetched by digest.
type Request struct {
	URL, Accept, Digest string
}

// Options size a run and say what the clients ask for.
type Options struct {
	Clients int           // concurrent clients, each on its own keep-alive transport
	MaxIter int           // rounds per client at most
	MaxTime time.Duration // hard bound on the whole run
	HTTP1   bool          // HTTP/1.1 keep-alive instead of HTTP/2
	// Transport returns a new transport for one client (trusting the
	// registry's certificate, dialling where it lives).
	Transport func() *http.Transport
	// Round is what client i requests in its n-th round.
	Round func(client, n int) []Request
	// Credential, when set, gives the basic-auth user and password for
	// client i's next request; done, when not nil, runs once that request
	// is answered (a caller changing passwords waits on it).
	Credential func(client int) (user, pass string, done func())
}

// Report is what the clients saw.
type Report struct {
	Requests, Failed int64
	Errors           []string         // the first few failures
	Steady, Reconfig Latencies        // before and after Reconfiguring, sorted
	Protos           map[string]int64 // answered requests per protocol
}

// maxErrors bounds Report.Errors: the first failures say what went wrong,
// fifty clients repeating it add nothing.
const maxErrors = 10

// Run is a load in progress.
type Run struct {
	opts  Options
	phase atomic.Int32 // 0 steady, 1 reconfiguring, 2 stop
	wg    sync.WaitGroup
	mu    sync.Mutex
	rep   Report
	lat   [2][]time.Duration
}

// Start starts opts.Clients clients; they stop at Stop, after
// opts.MaxIter rounds or after opts.MaxTime, whichever comes first.
func Start(opts Options) *Run {
	r := &Run{opts: opts, rep: Report{Protos: map[string]int64{}}}
	deadline := time.Now().Add(opts.MaxTime)
	for i := range opts.Clients {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.client(i, deadline)
		}()
	}
	return r
}

// Reconfiguring marks the end of the steady phase: latencies from now on
// are those under reconfiguration.
func (r *Run) Reconfiguring() { r.phase.Store(1) }

// Stop stops the clients, waits for them and reports.
func (r *Run) Stop() Report {
	r.phase.Store(2)
	r.wg.Wait()
	for i := range r.lat {
		slices.Sort(r.lat[i])
	}
	r.rep.Steady, r.rep.Reconfig = r.lat[0], r.lat[1]
	return r.rep
}

func (r *Run) client(i int, deadline time.Time) {
	tr := r.opts.Transport()
	if r.opts.HTTP1 {
		tr.ForceAttemptHTTP2 = false
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	tr.MaxIdleConnsPerHost = 1
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	defer c.CloseIdleConnections()
	for n := 0; n < r.opts.MaxIter && r.phase.Load() != 2 && time.Now().Before(deadline); n++ {
		for _, req := range r.opts.Round(i, n) {
			r.get(i, c, req)
		}
	}
}

// get does one request and records its latency and outcome.
func (r *Run) get(i int, c *http.Client, q Request) {
	req, err := http.NewRequest(http.MethodGet, q.URL, nil)
	if err != nil {
		r.record(0, 0, "", fmt.Errorf("GET %s: %w", q.URL, err))
		return
	}
	if q.Accept != "" {
		req.Header.Set("Accept", q.Accept)
	}
	user, done := "", func() {}
	if r.opts.Credential != nil {
		var pass string
		var d func()
		user, pass, d = r.opts.Credential(i)
		req.SetBasicAuth(user, pass)
		if d != nil {
			done = d
		}
	}
	phase := min(r.phase.Load(), 1)
	start := time.Now()
	proto, err := fetch(c, req, q.Digest)
	elapsed := time.Since(start)
	done()
	if err != nil {
		err = fmt.Errorf("%s GET %s as %q: %w", start.Format("15:04:05.000"), req.URL.Path, user, err)
	}
	r.record(phase, elapsed, proto, err)
}

func (r *Run) record(phase int32, d time.Duration, proto string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Requests++
	if proto != "" {
		r.rep.Protos[proto]++
	}
	r.lat[phase] = append(r.lat[phase], d)
	if err != nil {
		r.rep.Failed++
		if len(r.rep.Errors) < maxErrors {
			r.rep.Errors = append(r.rep.Errors, err.Error())
		}
	}
}

// fetch does req and checks the answer; it returns the protocol of the
// answer, "" when none came.
func fetch(c *http.Client, req *http.Request, digest string) (string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	return resp.Proto, Check(resp, nil, digest)
}

// Check reads the whole of resp (the result of a Do, err its error) and
// closes it: it must be a 200 whose body hashes to digest when one is
// given ("sha256:…").
func Check(resp *http.Response, err error, digest string) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		return fmt.Errorf("%s: reading the body: %w", resp.Proto, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", resp.Proto, resp.StatusCode)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); digest != "" && got != digest {
		return fmt.Errorf("body digest %s, want %s", got, digest)
	}
	return nil
}

// Latencies are request durations, sorted.
type Latencies []time.Duration

// Pct is the p-quantile (0.5 the median, 1 the maximum).
func (l Latencies) Pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[min(len(l)-1, int(float64(len(l))*p))]
}

func (l Latencies) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", len(l), r(l.Pct(0.50)), r(l.Pct(0.99)), r(l.Pct(1)))
}
