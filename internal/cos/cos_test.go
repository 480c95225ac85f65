package cos

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// promtool is Prometheus's own rule checker (Debian package prometheus).
// These tests need it and nothing else does, so they skip where it is
// missing, saying how to get it; .ci/run installs it.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	return p
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestAlertRulesAreValid(t *testing.T) {
	dir := t.TempDir()
	var args []string
	for _, f := range MetricsRules() {
		p := filepath.Join(dir, path.Base(f.Path))
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	if len(args) != 3 {
		t.Fatalf("rule files = %v, want registry, storage and tls", args)
	}
	run(t, dir, promtool(t), append([]string{"check", "rules"}, args...)...)
}

// TestAlertRulesOnSyntheticSeries runs testdata/rules_test.yml with
// `promtool test rules`: each alert fires on the series that should raise
// it, after its `for:`, and stays quiet on the others. The copies of the
// rules drop annotations, which promtool would otherwise compare word for
// word (TestAlertRulesAreValid checks their templates).
func TestAlertRulesOnSyntheticSeries(t *testing.T) {
	bin := promtool(t)
	dir := t.TempDir()
	for _, f := range MetricsRules() {
		writeYAML(t, filepath.Join(dir, path.Base(f.Path)), withoutAnnotations(t, f.Data))
	}
	test, err := os.ReadFile("testdata/rules_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yml"), test, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, bin, "test", "rules", "rules_test.yml")
}

type ruleFile struct {
	Groups []struct {
		Name  string           `yaml:"name"`
		Rules []map[string]any `yaml:"rules"`
	} `yaml:"groups"`
}

func withoutAnnotations(t *testing.T, data []byte) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			delete(r, "annotations")
		}
	}
	return rf
}

func writeYAML(t *testing.T, p string, v any) {
	t.Helper()
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Grafana's dashboard model: what the tests check of it.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Tags          []string
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct{ H, W, X, Y int }
	Targets    []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	ds := Dashboards()
	if len(ds) != 1 || ds[0].Path != "src/grafana_dashboards/docker-registry.json" {
		t.Fatalf("dashboards = %v", ds)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(ds[0].Data)))
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDashboardModel checks what Grafana requires of a dashboard and what
// the COS libraries expect: the datasource is the ${prometheusds} template
// variable (grafana-k8s's dashboard library substitutes it), every panel
// but rows has targets with unique refIds and that datasource, ids are
// unique and panels fit the 24-column grid.
func TestDashboardModel(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("title %q, schemaVersion %d, %d panels", d.Title, d.SchemaVersion, len(d.Panels))
	}
	hasVar := map[string]string{}
	for _, v := range d.Templating.List {
		hasVar[v.Name] = v.Type
	}
	if hasVar["prometheusds"] != "datasource" {
		t.Errorf("templating lacks the prometheusds datasource variable: %v", hasVar)
	}
	for _, v := range []string{"juju_model", "juju_model_uuid", "juju_application", "juju_unit"} {
		if hasVar[v] != "query" {
			t.Errorf("templating lacks topology variable %s", v)
		}
	}
	ids := map[int]bool{}
	queries := 0
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("panel %q: id %d missing or repeated", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v off the grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${prometheusds}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v, want prometheus ${prometheusds}", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.Expr == "" || refs[q.RefID] || q.RefID == "" {
				t.Errorf("panel %q: target %+v empty or with a repeated refId", p.Title, q)
			}
			refs[q.RefID] = true
			if q.Datasource == nil || q.Datasource.UID != "${prometheusds}" {
				t.Errorf("panel %q: target datasource %+v", p.Title, q.Datasource)
			}
			if !strings.Contains(q.Expr, `juju_unit=~"$juju_unit"`) {
				t.Errorf("panel %q: query not scoped to the topology variables: %s", p.Title, q.Expr)
			}
			queries++
		}
	}
	for _, want := range []string{"Pushes and pulls", "Bytes transferred", "Latency by handler (p50, p99)", "Errors",
		"Storage actions", "Cache hit ratio", "Disk use", "Certificate expires in"} {
		if !hasPanel(d, want) {
			t.Errorf("no panel %q", want)
		}
	}
	t.Logf("%d panels, %d queries", len(d.Panels), queries)
}

func hasPanel(d dashboard, title string) bool {
	for _, p := range d.Panels {
		if p.Title == title {
			return true
		}
	}
	return false
}

// TestDashboardQueriesParse hands every panel query to Prometheus's parser
// (as recording rules checked by promtool), with Grafana's variables
// replaced the way Grafana would expand them.
func TestDashboardQueriesParse(t *testing.T) {
	bin := promtool(t)
	d := loadDashboard(t)
	vars := strings.NewReplacer("$__rate_interval", "5m", "$juju_model_uuid", ".*", "$juju_model", ".*",
		"$juju_application", ".*", "$juju_unit", ".*")
	var rules []map[string]string
	for _, p := range d.Panels {
		for i, q := range p.Targets {
			rules = append(rules, map[string]string{"record": fmt.Sprintf("panel_%d_%d", p.ID, i), "expr": vars.Replace(q.Expr)})
		}
	}
	f := filepath.Join(t.TempDir(), "dashboard.rules")
	writeYAML(t, f, map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	run(t, "", bin, "check", "rules", f)
}

// metricName matches the metric names our queries and rules use.
var metricName = regexp.MustCompile(`\b((?:docker_)?registry_[a-z_]+)\b`)

// metricNames lists every registry metric the rules' and the dashboard's
// queries read, for the end-to-end test to find in a live registry.
func metricNames(t *testing.T) []string {
	t.Helper()
	var exprs []string
	for _, f := range MetricsRules() {
		var rf ruleFile
		if err := yaml.Unmarshal(f.Data, &rf); err != nil {
			t.Fatal(err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				exprs = append(exprs, r["expr"].(string))
			}
		}
	}
	for _, p := range loadDashboard(t).Panels {
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range exprs {
		for _, m := range metricName.FindAllStringSubmatch(e, -1) {
			if n := m[1]; !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

func TestMetricNamesFound(t *testing.T) {
	names := metricNames(t)
	for _, want := range []string{"registry_http_requests_total", "registry_http_request_duration_seconds_bucket",
		"registry_storage_action_seconds_bucket", "docker_registry_tls_certificate_expiry_timestamp_seconds",
		"docker_registry_data_filesystem_avail_bytes", "registry_proxy_hits_total"} {
		if !contains(names, want) {
			t.Errorf("metric %s not found among %v", want, names)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
