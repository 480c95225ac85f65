package cos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/relation"
	"github.com/canonical/docker-registry-charm/internal/testing/charmconfig"
	"github.com/canonical/docker-registry-charm/internal/testing/images"
	remoteside "github.com/canonical/docker-registry-charm/internal/testing/remote"
)

// TestPrometheusAlertsWhenTheRegistryStops is the path end to end: the
// scrape job and rules this unit publishes on cos-agent, rendered into a
// prometheus.yml the way the collector turns them into scrape configs
// (internal/testing/remote/coscollector.go), given to a real Prometheus (Debian's
// prometheus) that scrapes the registry and evaluates the rules.
// DockerRegistryDown fires once the registry stops and clears when it
// is back.
//
// The registry is the charm's own server (internal/registry) run in this
// process with the configuration the charm renders for a unit with
// cos-agent related (LocalMetrics: /metrics on 127.0.0.1:<debug-port>).
// That is the code the packed charm's service runs; the simulator test
// (internal/charm TestCOSAgentScrapesLoopbackMetrics) covers the charm
// writing that configuration. In process it needs no root and no
// namespaces, and stopping and starting it takes milliseconds.
//
// The test copy of the rules shortens DockerRegistryDown's `for:` from 1m
// to 2s and Prometheus scrapes and evaluates every second; nothing else
// differs from what the unit publishes.
func TestPrometheusAlertsWhenTheRegistryStops(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (apt-get install prometheus): it is the server under test")
	}
	dir := t.TempDir()
	regPort, debugPort, promPort := freePort(t), freePort(t), freePort(t)
	cfgPath := writeRegistryConfig(t, dir, regPort, debugPort)
	reg := startRegistry(t, cfgPath)

	topo := relation.COSAgentTopology{Model: "cdk", ModelUUID: "9d0f6b1e-4c2a-4d8e-8a51-3f6c2b7d1e00",
		App: "docker-registry", Unit: "docker-registry/0", Charm: "docker-registry"}
	value, err := relation.COSAgent{Topology: topo, MetricsRules: MetricsRules(), Dashboards: Dashboards(),
		ScrapeJobs: []relation.COSAgentScrapeJob{relation.COSAgentRegistryScrapeJob(debugPort)}}.Config()
	if err != nil {
		t.Fatal(err)
	}
	view, err := remoteside.ReadCOSAgent(map[string]string{relation.COSAgentKey: value})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := view.RulesFile()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rules.yml"), shortenFor(t, rules, "DockerRegistryDown", "2s"))
	promCfg, err := view.PrometheusConfig(remoteside.UnitTopology{Model: topo.Model, ModelUUID: topo.ModelUUID,
		App: topo.App, Unit: topo.Unit}, "1s", []string{"rules.yml"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "prometheus.yml"), promCfg)
	prom := startPrometheus(t, promBin, dir, promPort)

	// Traffic, so that distribution's HTTP, storage and cache series exist.
	pushAndPull(t, fmt.Sprintf("127.0.0.1:%d", regPort))

	up := `up{job=~"docker-registry_registry_.*",juju_application="docker-registry",juju_unit="docker-registry/0"}`
	waitFor(t, "the registry scraped (up == 1)", func() bool { return prom.value(t, up) == "1" })
	t.Run("every metric the rules and dashboard read is exported", func(t *testing.T) {
		present := map[string]bool{}
		for _, n := range prom.names(t) {
			present[n] = true
		}
		for _, n := range metricNames(t) {
			switch {
			case strings.HasPrefix(n, "registry_proxy_"):
				continue // only with cache-remoteurl: TestProxyMetricNamesAreDistributions
			case n == "docker_registry_tls_certificate_expiry_timestamp_seconds":
				continue // only with TLS: internal/registry TestOwnMetrics
			}
			if !present[n] {
				t.Errorf("%s: no such series scraped from the registry", n)
			}
		}
	})
	if t.Failed() {
		return
	}

	reg.stop(t)
	start := time.Now()
	waitFor(t, "DockerRegistryDown firing", func() bool { return prom.alertState(t, "DockerRegistryDown") == "firing" })
	t.Logf("DockerRegistryDown fired %v after the registry stopped", time.Since(start).Round(100*time.Millisecond))

	startRegistry(t, cfgPath)
	start = time.Now()
	waitFor(t, "DockerRegistryDown cleared", func() bool { return prom.alertState(t, "DockerRegistryDown") == "" })
	t.Logf("DockerRegistryDown cleared %v after the registry returned", time.Since(start).Round(100*time.Millisecond))
}

// TestProxyMetricNamesAreDistributions: the pull-through cache series the
// dashboard reads exist only with cache-remoteurl, so the live test skips
// them; their names must be distribution's (registry/proxy/proxymetrics.go
// declares them in the ProxyNamespace "registry_proxy" as counters, which
// go-metrics suffixes with _total).
func TestProxyMetricNamesAreDistributions(t *testing.T) {
	for _, n := range metricNames(t) {
		if !strings.HasPrefix(n, "registry_proxy_") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimPrefix(n, "registry_proxy_"), "_total")
		if !contains([]string{"requests", "hits", "misses", "pulled_bytes", "pushed_bytes"}, base) || !strings.HasSuffix(n, "_total") {
			t.Errorf("%s is not one of distribution's proxy counters", n)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRegistryConfig renders the configuration the charm writes for a
// unit with cos-agent related, its defaults otherwise.
func writeRegistryConfig(t *testing.T, dir string, regPort, debugPort int) string {
	t.Helper()
	cfg := charmconfig.Defaults(t)
	cfg.RegistryPort, cfg.DebugPort = regPort, debugPort
	rendered, err := registryconf.Render(registryconf.RenderInput{
		Config: cfg, AppName: "docker-registry", HTTPSecret: "test-http-secret",
		DataDir: filepath.Join(dir, "data"), ListenAddr: fmt.Sprintf("127.0.0.1:%d", regPort), LocalMetrics: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rendered.HTTP.Debug.Addr != fmt.Sprintf("127.0.0.1:%d", debugPort) {
		t.Fatalf("metrics at %q, want loopback", rendered.HTTP.Debug.Addr)
	}
	data, err := registryconf.Marshal(rendered)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.yml")
	writeFile(t, p, data)
	return p
}

type runningRegistry struct {
	cancel context.CancelFunc
	done   chan error
}

func startRegistry(t *testing.T, cfgPath string) *runningRegistry {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := registry.NewServer(ctx, registry.ServeOptions{ConfigPath: cfgPath, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		cancel()
		t.Fatalf("cannot start the registry: %v", err)
	}
	r := &runningRegistry{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *runningRegistry) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("registry: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("the registry did not stop within 30s")
	}
}

func pushAndPull(t *testing.T, host string) {
	t.Helper()
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/cos/test:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push: %v", err)
	}
	for range 2 {
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
		if err := images.ReadLayers(got); err != nil {
			t.Fatalf("pull: %v", err)
		}
	}
}

// shortenFor sets one alert's `for:` in a rules file.
func shortenFor(t *testing.T, rules []byte, alert, d string) []byte {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal(rules, &rf); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r["alert"] == alert {
				r["for"], found = d, true
			}
		}
	}
	if !found {
		t.Fatalf("no alert %s in the published rules", alert)
	}
	out, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type prometheus struct{ base string }

func startPrometheus(t *testing.T, bin, dir string, port int) prometheus {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("prometheus log:\n%s", out)
		}
	})
	p := prometheus{base: "http://" + addr}
	waitFor(t, "prometheus ready", func() bool {
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

func (p prometheus) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(p.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// value is the single result of an instant query, "" when there is none.
func (p prometheus) value(t *testing.T, q string) string {
	var r struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	p.get(t, "/api/v1/query?query="+url.QueryEscape(q), &r)
	if len(r.Data.Result) != 1 || len(r.Data.Result[0].Value) != 2 {
		return ""
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return s
}

func (p prometheus) names(t *testing.T) []string {
	var r struct {
		Data []string `json:"data"`
	}
	p.get(t, "/api/v1/label/__name__/values", &r)
	return r.Data
}

// alertState is the alert's state ("pending", "firing"), "" when inactive.
func (p prometheus) alertState(t *testing.T, alert string) string {
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	p.get(t, "/api/v1/alerts", &r)
	for _, a := range r.Data.Alerts {
		if a.Labels["alertname"] == alert {
			if a.Labels["juju_application"] != "docker-registry" || a.Labels["juju_unit"] != "docker-registry/0" {
				t.Errorf("alert labels %v lack the unit's topology", a.Labels)
			}
			return a.State
		}
	}
	return ""
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
