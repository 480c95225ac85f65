package e2e

// N units on one S3 bucket (SeaweedFS), optionally sharing a redis cache,
// each on its own simulated machine, behind Debian's haproxy configured
// from the leader's website stanza (internal/testing/remote/haproxy.go renders it as
// the haproxy charm does). Used by the scale-out faults suite and the
// scaling benchmark, with a bounded pull load that records every
// request's latency and outcome.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	remotecharm "github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

type scaleSetup struct {
	e     *deploy.Env
	s     *s3Service
	rd    *redisService // nil without redis
	units []string
	addrs map[string]string // unit → host:5000
	px    *haproxyProxy
	web   int // website relation id
	// Proxied is haproxy's frontend, what clients pull from.
	Proxied string
}

func newScale(t testing.TB, units int, withRedis bool) *scaleSetup {
	t.Helper()
	ctx := context.Background()
	e := deploy.New(t)
	sc := &scaleSetup{e: e, s: newS3(t, e), addrs: map[string]string{}}
	config := sc.s.Config()
	config["storage-delete"] = true
	if withRedis {
		sc.rd = newRedis(t, e)
		for k, v := range sc.rd.Config() {
			config[k] = v
		}
	}
	if err := e.Model.SetConfig(ctx, config); err != nil {
		t.Fatal(err)
	}
	if err := e.Model.Deploy(ctx, units); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s3ServiceLog(e, unit0, sc.s))
	}
	for i := range units {
		u := fmt.Sprintf("docker-registry/%d", i)
		sc.units = append(sc.units, u)
		sc.addrs[u] = net.JoinHostPort(e.Machine(u).Addr().String(), "5000")
	}
	sc.px = relHaproxy(t, e, "haproxy-0")
	pxAddr := sc.px.m.Addr().String()
	sc.Proxied = net.JoinHostPort(pxAddr, "5000")
	web, err := e.Model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: pxAddr})
	if err != nil {
		t.Fatal(err)
	}
	sc.web = web
	return sc
}

// balance (re)starts haproxy over units, from their website bags, and
// waits until its checks of each pass.
func (sc *scaleSetup) balance(t testing.TB, units ...string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := remotecharm.HaproxyConfig(relWebsiteBags(sc.e, sc.web, units...))
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.px.start(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	// The leader's stanza lists every unit; the others are put in
	// maintenance through haproxy's admin socket.
	want := map[string]bool{}
	for _, u := range units {
		want[sc.server(u)] = true
	}
	err = relEventually(ctx, relTimeout, func() error {
		st, err := sc.px.checks("docker-registry")
		if err != nil {
			return err
		}
		for srv, check := range st {
			switch {
			case !want[srv]:
				if err := sc.px.admin("disable server docker-registry/" + srv); err != nil {
					return err
				}
			case check != "L7OK":
				return fmt.Errorf("haproxy's check of %s: %q", srv, check)
			}
		}
		if len(st) < len(want) {
			return fmt.Errorf("haproxy has servers %v, want %v", st, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\nhaproxy:\n%s", err, sc.px.log())
	}
}

// admin sends one command to haproxy's admin socket.
func (h *haproxyProxy) admin(cmd string) error {
	conn, err := net.DialTimeout("unix", h.stats, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\n")); err != nil {
		return err
	}
	_, err = io.ReadAll(conn)
	return err
}

// server is haproxy's name for a unit's server.
func (sc *scaleSetup) server(unit string) string {
	var n int
	fmt.Sscanf(unit, "docker-registry/%d", &n)
	return fmt.Sprintf("docker-registry-%d", n)
}

// pullable is an image as a client pulls it: manifest, then each blob.
type pullable struct {
	Repo, Manifest, MediaType string
	Blobs                     []string
	Bytes                     int64
}

func (sc *scaleSetup) pushPullables(t testing.TB, n int) []pullable {
	t.Helper()
	c := deploy.Client{Env: sc.e}
	var out []pullable
	for i := range n {
		img, digest := s3Image(t)
		repo := fmt.Sprintf("scale/img%d", i)
		if err := relPush(c, sc.addrs[sc.units[i%len(sc.units)]], repo+":1", img); err != nil {
			t.Fatal(err)
		}
		mt, _ := img.MediaType()
		p := pullable{Repo: repo, Manifest: digest, MediaType: string(mt)}
		for d, size := range s3ImageBlobs(t, img) {
			if d != digest {
				p.Blobs = append(p.Blobs, d)
			}
			p.Bytes += size
		}
		out = append(out, p)
	}
	return out
}

// pullOp is one image pull: when it started, how long it took, its error.
type pullOp struct {
	Start time.Time
	Took  time.Duration
	Err   error
	Bytes int64
}

// pullLoad pulls images through netloc from workers goroutines until
// stop is closed or each has done max pulls (max > 0), and returns every
// pull. Bounded: max pulls per worker, or the stop channel.
func pullLoad(e *deploy.Env, netloc string, images []pullable, workers, max int, stop <-chan struct{}) []pullOp {
	hc := &http.Client{
		Transport: &http.Transport{DialContext: e.Cloud.DialContext, Proxy: nil, MaxIdleConnsPerHost: workers},
		Timeout:   30 * time.Second,
	}
	defer hc.CloseIdleConnections()
	var mu sync.Mutex
	var ops []pullOp
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; max <= 0 || i < max; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op := pullOnce(hc, netloc, images[(w+i)%len(images)])
				mu.Lock()
				ops = append(ops, op)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(ops, func(i, j int) bool { return ops[i].Start.Before(ops[j].Start) })
	return ops
}

func pullOnce(hc *http.Client, netloc string, p pullable) pullOp {
	op := pullOp{Start: time.Now()}
	get := func(path, accept string) error {
		req, _ := http.NewRequest(http.MethodGet, "http://"+netloc+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		op.Bytes += n
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	op.Err = get("/v2/"+p.Repo+"/manifests/"+p.Manifest, p.MediaType)
	for _, b := range p.Blobs {
		if op.Err != nil {
			break
		}
		op.Err = get("/v2/"+p.Repo+"/blobs/"+b, "")
	}
	op.Took = time.Since(op.Start)
	return op
}

// opsPercentile of the pulls' durations (successful or not).
func opsPercentile(ops []pullOp, p float64) time.Duration {
	if len(ops) == 0 {
		return 0
	}
	d := make([]time.Duration, len(ops))
	for i, op := range ops {
		d[i] = op.Took
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(float64(len(d))*p))]
}
