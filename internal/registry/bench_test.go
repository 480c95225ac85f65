package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	ggcrmutate "github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/bcrypt"
)

// The child side of the throughput benchmark: our registry in its own
// process, as `docker-registry serve` runs it, so neither server shares a Go
// runtime with the benchmark's clients.
func init() {
	path := os.Getenv("SERVE_TEST_CHILD_CONFIG")
	if path == "" {
		return
	}
	if err := Serve(context.Background(), ServeOptions{ConfigPath: path, Stdout: io.Discard, Stderr: io.Discard}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchImage is layers random (incompressible, pre-built) blobs of layerMB
// each, so the clients spend their time on the wire, not on gzip.
func benchImage(b *testing.B, layers, layerMB int) (v1.Image, int64) {
	rng := mrand.New(mrand.NewChaCha8([32]byte{1}))
	var ls []v1.Layer
	var total int64
	for range layers {
		buf := make([]byte, layerMB<<20)
		for i := 0; i+8 <= len(buf); i += 8 {
			v := rng.Uint64()
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		ls = append(ls, static.NewLayer(buf, types.DockerLayer))
		total += int64(len(buf))
	}
	img, err := ggcrmutate.AppendLayers(empty.Image, ls...)
	if err != nil {
		b.Fatal(err)
	}
	return img, total
}

// registryProcess is one registry server process for a benchmark round.
type registryProcess struct {
	kind string // "ours" or "upstream"
	cmd  *exec.Cmd
	host string
}

// startProcess writes the shared configuration for a fresh storage dir and
// starts kind on a free port.
func startProcess(b *testing.B, kind, upstream string) *registryProcess {
	dir := b.TempDir()
	host := freePort(b)
	cfgPath := filepath.Join(dir, "config.yml")
	testConfig{Addr: host, RootDir: filepath.Join(dir, "data"), LogLevel: "info", Secret: "bench"}.write(b, cfgPath)
	var cmd *exec.Cmd
	if kind == "ours" {
		cmd = exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SERVE_TEST_CHILD_CONFIG="+cfgPath)
	} else {
		cmd = exec.Command(upstream, "serve", cfgPath)
		// Upstream wraps every request in OpenTelemetry tracing and exports
		// to an OTLP collector by default; we embed no tracing. Exporting
		// nothing keeps the comparison to the serving path (and favours
		// upstream).
		cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		b.Fatalf("cannot start %s registry: %v", kind, err)
	}
	p := &registryProcess{kind: kind, cmd: cmd, host: host}
	b.Cleanup(p.stop)
	waitAlive(b, host)
	return p
}

func (p *registryProcess) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freePort(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitAlive(b *testing.B, host string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + host + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("registry on %s did not come up", host)
}

// roundFigures are one server's figures in one round: wall-clock MB/s,
// MB per second of the server process's CPU (user+system: what the server
// costs, unaffected by other load on the machine), manifest requests/s.
type roundFigures struct{ push, pull, pushEff, pullEff, reqs float64 }

// cpu is the CPU time the server process has used so far.
func (p *registryProcess) cpu(b *testing.B) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after "(comm)": state is field 3, utime 14, stime 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100

func (p *registryProcess) ref(b *testing.B) name.Reference {
	ref, err := name.ParseReference(p.host + "/bench/image:latest")
	if err != nil {
		b.Fatal(err)
	}
	return ref
}

// push returns MB/s and the server CPU it took.
func (p *registryProcess) push(b *testing.B, img v1.Image, size int64) (float64, time.Duration) {
	cpu, start := p.cpu(b), time.Now()
	if err := remote.Write(p.ref(b), img); err != nil {
		b.Fatalf("%s: push: %v", p.kind, err)
	}
	return mbps(size, time.Since(start)), p.cpu(b) - cpu
}

// pull returns MB/s and the server CPU it took.
func (p *registryProcess) pull(b *testing.B, size int64) (float64, time.Duration) {
	cpu, start := p.cpu(b), time.Now()
	if err := pullLayers(p.ref(b)); err != nil {
		b.Fatalf("%s: pull: %v", p.kind, err)
	}
	return mbps(size, time.Since(start)), p.cpu(b) - cpu
}

// measureRound runs both servers side by side on fresh storage and
// interleaves their measurements (first in alternating order by round), so
// that load from elsewhere on the machine hits both alike. Pulls are
// repeated and their median kept.
func measureRound(b *testing.B, round int, upstream string, img v1.Image, size int64) map[string]roundFigures {
	procs := []*registryProcess{startProcess(b, "ours", upstream), startProcess(b, "upstream", upstream)}
	if round%2 == 1 {
		slices.Reverse(procs)
	}
	figs := map[string]roundFigures{}
	pulls := map[string][]float64{}
	pullCPU := map[string]time.Duration{}
	for _, p := range procs {
		mb, cpu := p.push(b, img, size)
		figs[p.kind] = roundFigures{push: mb, pushEff: mbps(size, cpu)}
	}
	const repeats = 5
	for range repeats {
		for _, p := range procs {
			mb, cpu := p.pull(b, size)
			pulls[p.kind] = append(pulls[p.kind], mb)
			pullCPU[p.kind] += cpu
		}
	}
	for _, p := range procs {
		f := figs[p.kind]
		f.pull, f.pullEff = median(pulls[p.kind]), mbps(repeats*size, pullCPU[p.kind])
		f.reqs = p.smallRequests(b)
		figs[p.kind] = f
		p.stop()
	}
	return figs
}

func mbps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

// pullLayers pulls the manifest and every layer concurrently (digests
// verified while reading), as a container runtime does.
func pullLayers(ref name.Reference) error {
	img, err := remote.Image(ref)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	errs := make(chan error, len(layers))
	for _, l := range layers {
		go func() {
			rc, err := l.Compressed()
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			errs <- err
		}()
	}
	for range layers {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// smallRequests is the request rate of 20 keep-alive clients fetching the
// image's manifest for two seconds: the per-request cost of the server
// around distribution.
func (p *registryProcess) smallRequests(b *testing.B) float64 {
	url := "http://" + p.host + "/v2/bench/image/manifests/latest"
	var n atomic.Int64
	var wg sync.WaitGroup
	d := 2 * time.Second
	end := time.Now().Add(d)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: clientTransport(nil)}
			for time.Now().Before(end) {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Accept", string(types.DockerManifestSchema2))
				if err := checkResponse(c.Do(req))(""); err != nil {
					b.Errorf("%s: manifest GET: %v", p.kind, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// BenchmarkPushPull compares push and pull throughput of our server with the
// upstream registry binary (UPSTREAM_REGISTRY) on the same configuration,
// in alternating order over BENCH_ROUNDS rounds, each on fresh storage.
func BenchmarkPushPull(b *testing.B) {
	upstream := os.Getenv("UPSTREAM_REGISTRY")
	if upstream == "" {
		b.Skip("set UPSTREAM_REGISTRY to the upstream registry binary (make tools-registry)")
	}
	rounds := envInt("BENCH_ROUNDS", 7)
	layers, layerMB := envInt("BENCH_LAYERS", 5), envInt("BENCH_LAYER_MB", 50)
	img, size := benchImage(b, layers, layerMB)
	figs := map[string][]roundFigures{}
	for range b.N {
		for r := range rounds {
			for kind, f := range measureRound(b, r, upstream, img, size) {
				figs[kind] = append(figs[kind], f)
			}
		}
	}
	med := func(kind string, f func(roundFigures) float64) float64 {
		var xs []float64
		for _, rf := range figs[kind] {
			xs = append(xs, f(rf))
		}
		return median(xs)
	}
	push := func(rf roundFigures) float64 { return rf.push }
	pull := func(rf roundFigures) float64 { return rf.pull }
	reqs := func(rf roundFigures) float64 { return rf.reqs }
	pushEff := func(rf roundFigures) float64 { return rf.pushEff }
	pullEff := func(rf roundFigures) float64 { return rf.pullEff }
	// The ratio is the median of per-round ratios: the two servers of a
	// round run back to back, so drift in the machine's load cancels out.
	ratio := func(f func(roundFigures) float64) float64 {
		var xs []float64
		for i := range figs["ours"] {
			xs = append(xs, f(figs["ours"][i])/f(figs["upstream"][i]))
		}
		return median(xs)
	}
	b.Logf("image: %d layers x %d MiB = %d MiB; %d rounds; medians, ratio = median of per-round ratios", layers, layerMB, size>>20, rounds)
	for _, m := range []struct {
		name string
		f    func(roundFigures) float64
	}{{"push MB/s", push}, {"pull MB/s", pull}, {"push MB/server-CPU-s", pushEff},
		{"pull MB/server-CPU-s", pullEff}, {"manifest GET req/s", reqs}} {
		b.Logf("%-22s ours %8.1f  upstream %8.1f  ratio %.3f   (ours %v, upstream %v)",
			m.name, med("ours", m.f), med("upstream", m.f), ratio(m.f),
			collect(figs["ours"], m.f), collect(figs["upstream"], m.f))
	}
	b.ReportMetric(med("ours", push), "push-MB/s-ours")
	b.ReportMetric(med("upstream", push), "push-MB/s-upstream")
	b.ReportMetric(med("ours", pull), "pull-MB/s-ours")
	b.ReportMetric(med("upstream", pull), "pull-MB/s-upstream")
	b.ReportMetric(ratio(push), "push-ratio")
	b.ReportMetric(ratio(pull), "pull-ratio")
	b.ReportMetric(ratio(reqs), "req-ratio")
	b.ReportMetric(ratio(pushEff), "push-cpu-ratio")
	b.ReportMetric(ratio(pullEff), "pull-cpu-ratio")
}

func collect(rfs []roundFigures, f func(roundFigures) float64) []string {
	var out []string
	for _, rf := range rfs {
		out = append(out, strconv.FormatFloat(f(rf), 'f', 0, 64))
	}
	return out
}

// BenchmarkReloadUnderLoad is the zero-drop scenario at benchmark length:
// 50 keep-alive pull clients over TLS + basic auth, a steady phase, then 10
// reconfigurations and a certificate rotation one every BENCH_RELOAD_MS.
func BenchmarkReloadUnderLoad(b *testing.B) {
	for _, http1 := range []bool{false, true} {
		b.Run(map[bool]string{false: "HTTP2", true: "HTTP1.1"}[http1], func(b *testing.B) {
			benchmarkReloadUnderLoad(b, http1)
		})
	}
}

func benchmarkReloadUnderLoad(b *testing.B, http1 bool) {
	for range b.N {
		res := runReloadUnderLoad(b, loadOpts{
			clients:  envInt("BENCH_CLIENTS", 50),
			interval: time.Duration(envInt("BENCH_RELOAD_MS", 1000)) * time.Millisecond,
			steady:   10 * time.Second,
			maxTime:  5 * time.Minute,
			maxIter:  1 << 30,
			http1:    http1,
		})
		b.Logf("%d requests %v, %d failed, %d reloads (10 reconfigurations + 1 certificate rotation)", res.requests, res.protos, res.failed, res.reloads)
		b.Logf("latency without reloads: %v", res.steady)
		b.Logf("latency while reloading: %v", res.reload)
		b.Logf("goroutines: %d before, %d after shutdown", res.goroutines[0], res.goroutines[1])
		for _, e := range res.errors {
			b.Error(e)
		}
		b.ReportMetric(float64(res.failed), "failed")
		b.ReportMetric(float64(res.requests), "requests")
		b.ReportMetric(float64(res.steady.pct(0.99).Microseconds())/1000, "p99-ms-steady")
		b.ReportMetric(float64(res.reload.pct(0.99).Microseconds())/1000, "p99-ms-reloading")
		b.ReportMetric(float64(res.reload.pct(0.50).Microseconds())/1000, "p50-ms-reloading")
	}
}

// restartedUpstream serves cfg with the upstream binary behind a socket held
// by the benchmark, as systemd socket activation holds it, and takes a new
// configuration by stopping (SIGTERM, draining up to http.draintimeout) and
// starting the process: the alternative to an in-process reload.
func restartedUpstream(bin string) func(t testing.TB, cfg testConfig) loadTarget {
	return func(t testing.TB, cfg testConfig) loadTarget {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Addr = ln.Addr().String()
		cfgPath := filepath.Join(t.TempDir(), "config.yml")
		cfg.write(t, cfgPath)
		start := func() *exec.Cmd {
			// exec keeps the shell's PID, which LISTEN_PID must name.
			cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve "$1"`, bin, cfgPath)
			cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
			cmd.ExtraFiles = []*os.File{f}
			if err := cmd.Start(); err != nil {
				t.Fatalf("cannot start the upstream registry: %v", err)
			}
			return cmd
		}
		stop := func(cmd *exec.Cmd) {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
		cur := start()
		return loadTarget{
			host:    ln.Addr().String(),
			cfgPath: cfgPath,
			reload: func() error {
				stop(cur)
				cur = start()
				return nil
			},
			stop: func() {
				stop(cur)
				ln.Close()
				f.Close()
			},
		}
	}
}

// BenchmarkRestartUnderLoad is BenchmarkReloadUnderLoad's scenario with the
// upstream binary restarted (socket kept, http.draintimeout set) for each
// configuration change, for comparison.
func BenchmarkRestartUnderLoad(b *testing.B) {
	upstream := os.Getenv("UPSTREAM_REGISTRY")
	if upstream == "" {
		b.Skip("set UPSTREAM_REGISTRY to the upstream registry binary (make tools-registry)")
	}
	for range b.N {
		res := runReloadUnderLoad(b, loadOpts{
			clients:  envInt("BENCH_CLIENTS", 50),
			interval: time.Duration(envInt("BENCH_RELOAD_MS", 1000)) * time.Millisecond,
			steady:   10 * time.Second,
			maxTime:  5 * time.Minute,
			maxIter:  1 << 30,
			http1:    true,
			start:    restartedUpstream(upstream),
		})
		b.Logf("upstream restarted per change: %d requests %v, %d failed, %d restarts", res.requests, res.protos, res.failed, res.reloads)
		b.Logf("latency without restarts: %v", res.steady)
		b.Logf("latency while restarting: %v", res.reload)
		for _, e := range res.errors {
			b.Log(e)
		}
		b.ReportMetric(float64(res.failed), "failed")
		b.ReportMetric(float64(res.requests), "requests")
		b.ReportMetric(float64(res.reload.pct(0.99).Microseconds())/1000, "p99-ms-restarting")
	}
}

// BenchmarkBasicAuthCost measures authenticated requests per second (GET
// /v2/, 4 keep-alive clients, 3 s) with htpasswd hashes of bcrypt cost 4, 5
// (Apache htpasswd -B's default; the reference charm used that tool) and 10
// (bcrypt.DefaultCost): distribution verifies the hash on every request, so
// the cost bounds the request rate of a basic-auth registry.
func BenchmarkBasicAuthCost(b *testing.B) {
	for _, cost := range []int{bcrypt.MinCost, 5, bcrypt.DefaultCost} {
		b.Run(fmt.Sprintf("bcrypt-cost-%d", cost), func(b *testing.B) {
			h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
			if err != nil {
				b.Fatal(err)
			}
			htp := filepath.Join(b.TempDir(), "htpasswd")
			if err := os.WriteFile(htp, fmt.Appendf(nil, "u:%s\n", h), 0o600); err != nil {
				b.Fatal(err)
			}
			r := startServerQuiet(b, testConfig{RootDir: b.TempDir(), Htpasswd: htp})
			for range b.N {
				rate := authenticatedRate(b, r.host(), 4, 3*time.Second)
				b.Logf("bcrypt cost %d: %.0f authenticated requests/s", cost, rate)
				b.ReportMetric(rate, "req/s")
			}
		})
	}
}

func authenticatedRate(b *testing.B, host string, clients int, d time.Duration) float64 {
	var n atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: clientTransport(nil)}
			for time.Now().Before(end) {
				req, _ := http.NewRequest("GET", "http://"+host+"/v2/", nil)
				req.SetBasicAuth("u", "pw")
				if err := checkResponse(c.Do(req))(""); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}
