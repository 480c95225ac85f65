package charm

import (
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// TestCOSAgentScrapesLoopbackMetrics relates a collector
// (opentelemetry-collector, modelled in internal/testing/remote/coscollector.go) and
// follows prometheus-metrics and debug-port: /metrics is on while the
// relation exists, on 127.0.0.1 only unless prometheus-metrics opens it.
func TestCOSAgentScrapesLoopbackMetrics(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rel, err := h.model.Relate(ctx, "cos-agent", "opentelemetry-collector", sim.RemoteUnit{Name: "opentelemetry-collector/0"})
	h.must(err)
	debug := func() configuration.Debug {
		t.Helper()
		cfg, err := configuration.Parse(strings.NewReader(h.file(unit0, "/etc/docker/registry/config.yml")))
		h.must(err)
		return cfg.HTTP.Debug
	}
	view := func() remote.COSAgentView {
		t.Helper()
		v, err := remote.ReadCOSAgent(h.model.RelationData(rel, unit0))
		h.must(err)
		return v
	}
	target := func(v remote.COSAgentView) string {
		t.Helper()
		if len(v.MetricsScrapeJobs) != 1 {
			t.Fatalf("scrape jobs = %v", v.MetricsScrapeJobs)
		}
		sc := v.MetricsScrapeJobs[0]["static_configs"].([]any)[0].(map[string]any)
		return sc["targets"].([]any)[0].(string)
	}
	ports := func() []string { return h.model.Unit(unit0).OpenedPorts() }

	v := view()
	if got := target(v); got != "localhost:5001" {
		t.Errorf("target = %s", got)
	}
	if d := debug(); d.Addr != "127.0.0.1:5001" || !d.Prometheus.Enabled {
		t.Errorf("debug = %+v, want metrics on loopback", d)
	}
	if slices.Contains(ports(), "5001/tcp") {
		t.Errorf("ports %v open the loopback-only metrics port", ports())
	}
	groups := v.MetricsAlertRules["groups"].([]any)
	first := groups[0].(map[string]any)
	if !strings.HasPrefix(first["name"].(string), "test_9d0f6b1e_docker_registry_") {
		t.Errorf("group %v lacks the model's topology", first["name"])
	}
	if len(v.Dashboards) != 1 || len(v.LogSlots) != 0 || len(v.LogAlertRules) != 0 {
		t.Errorf("dashboards %d, log slots %v, log rules %v", len(v.Dashboards), v.LogSlots, v.LogAlertRules)
	}
	h.wantStatus(unit0, "active", "Ready at")

	h.must(h.model.SetConfig(ctx, map[string]any{"prometheus-metrics": true}))
	if d := debug(); d.Addr != ":5001" || !slices.Contains(ports(), "5001/tcp") {
		t.Errorf("prometheus-metrics=true: debug %+v, ports %v", d, ports())
	}
	if got := target(view()); got != "localhost:5001" {
		t.Errorf("target = %s", got)
	}

	h.must(h.model.SetConfig(ctx, map[string]any{"prometheus-metrics": false, "debug-port": 6001}))
	if d := debug(); d.Addr != "127.0.0.1:6001" || slices.Contains(ports(), "6001/tcp") || slices.Contains(ports(), "5001/tcp") {
		t.Errorf("debug-port=6001: debug %+v, ports %v", d, ports())
	}
	if got := target(view()); got != "localhost:6001" {
		t.Errorf("target after debug-port change = %s", got)
	}

	h.must(h.model.Unrelate(ctx, rel))
	if d := debug(); d.Addr != "" || d.Prometheus.Enabled {
		t.Errorf("metrics still served after the relation went: %+v", d)
	}
}
