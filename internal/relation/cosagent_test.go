package relation

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The provider side of cos_agent as the library writes it:
// github:canonical/grafana-agent-operator lib/charms/grafana_agent/v0/cos_agent.py
// (COSAgentProvider, CosAgentProviderUnitData, LIBPATCH 26), with cosl's
// src/cosl/rules.py (Rules._from_dict), src/cosl/juju_topology.py,
// src/cosl/grafana_dashboard.py (DashboardPath40UID) and src/cosl/utils.py
// (lzmaBase64) from github:canonical/cos-lib; the schema is
// github:canonical/charm-relation-interfaces interfaces/cos_agent/v0/schema.py.

var testTopology = COSAgentTopology{
	Model: "cdk", ModelUUID: "9d0f6b1e-4c2a-4d8e-8a51-3f6c2b7d1e00",
	App: "docker-registry", Unit: "docker-registry/0", Charm: "docker-registry",
}

const testRules = `groups:
- name: Avail
  rules:
  - alert: Down
    expr: up == 0
    for: 1m
    labels:
      severity: critical
      juju_model: keep-mine
    annotations:
      summary: "<b>down</b> & out"
  - alert: NoLabels
    expr: absent(up{%%juju_topology%%})
`

const testDashboard = `{"title": "Registry", "uid": "mine", "panels": [{"id": 1, "x": 1.5, "title": "caf\u00e9 \u2603 \ud83d\ude00"}], "tags": ["a"]}`

func testAgent() COSAgent {
	return COSAgent{
		Topology:     testTopology,
		MetricsRules: []COSAgentFile{{Path: "src/prometheus_alert_rules/z.rules", Data: []byte(testRules)}},
		Dashboards:   []COSAgentFile{{Path: "src/grafana_dashboards/registry.json", Data: []byte(testDashboard)}},
		ScrapeJobs:   []COSAgentScrapeJob{COSAgentRegistryScrapeJob(5001)},
	}
}

func mustConfig(t *testing.T, c COSAgent) string {
	t.Helper()
	v, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCOSAgentConfigShape(t *testing.T) {
	v := mustConfig(t, testAgent())
	for _, want := range []string{
		// CosAgentProviderUnitData's fields, in order, unset optionals null.
		`{"metrics_alert_rules":{"groups":[{"name":"cdk_9d0f6b1e_docker_registry_Avail_rules","rules":[`,
		// Labels the rule has stay first and win; topology labels are appended.
		`"labels":{"severity":"critical","juju_model":"keep-mine","juju_model_uuid":"9d0f6b1e-4c2a-4d8e-8a51-3f6c2b7d1e00","juju_application":"docker-registry","juju_charm":"docker-registry"}`,
		// A rule without labels gets them after its other keys; the marker goes.
		`{"alert":"NoLabels","expr":"absent(up{})","labels":{"juju_model":"cdk",`,
		// pydantic does not escape HTML characters.
		`"summary":"<b>down</b> & out"`,
		// cosl's generic application rules follow the charm's.
		`{"name":"cdk_9d0f6b1e_docker_registry_HostHealth_rules","rules":[{"alert":"HostDown","expr":"up < 1","for":"5m"`,
		`{"alert":"HostMetricsMissing","expr":"absent(up)"`,
		`"log_alert_rules":{},"dashboards":["/Td6WFoAAA`,
		`"subordinate":null,"metrics_scrape_jobs":[{"job_name":"docker-registry_registry_03f243c0","metrics_path":"/metrics","static_configs":[{"targets":["localhost:5001"]}]}],"log_slots":[],"tracing_protocols":null}`,
	} {
		if !strings.Contains(v, want) {
			t.Errorf("config lacks %s\nconfig: %s", want, v)
		}
	}
	if strings.HasPrefix(v, "{\"metrics_alert_rules\":{\"groups\":[{\"name\":\"cdk") == false {
		t.Errorf("config does not start with the metrics rules: %.80s", v)
	}
}

func TestCOSAgentConfigCases(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(*COSAgent)
		want    []string
		wantErr string
	}{
		{"no files: generic rules only, no dashboards", func(c *COSAgent) { c.MetricsRules, c.Dashboards = nil, nil },
			[]string{`{"metrics_alert_rules":{"groups":[{"name":"cdk_9d0f6b1e_docker_registry_HostHealth_rules"`, `"dashboards":[]`}, ""},
		{"debug-port moves the target and the job hash", func(c *COSAgent) { c.ScrapeJobs = []COSAgentScrapeJob{COSAgentRegistryScrapeJob(6001)} },
			[]string{`"targets":["localhost:6001"]`}, ""},
		{"group already carrying topology keeps its name", func(c *COSAgent) {
			c.MetricsRules[0].Data = []byte("groups:\n- name: m_0123abcd_x_rules\n  rules: []\n")
		}, []string{`{"name":"m_0123abcd_x_rules","rules":[]}`}, ""},
		{"sub-directory joins the group name", func(c *COSAgent) { c.MetricsRules[0].Path = "src/prometheus_alert_rules/sub/z.rules" },
			[]string{`"name":"cdk_9d0f6b1e_docker_registry_sub_Avail_rules"`}, ""},
		{"log rules present", func(c *COSAgent) { c.LogRules = c.MetricsRules },
			[]string{`"log_alert_rules":{"groups":[{"name":"cdk_9d0f6b1e_docker_registry_Avail_rules"`}, ""},
		{"garbage YAML", func(c *COSAgent) { c.MetricsRules[0].Data = []byte("groups: [\x00") }, nil, "z.rules"},
		{"rules file without groups", func(c *COSAgent) { c.MetricsRules[0].Data = []byte("alert: x\n") }, nil, "no groups"},
		{"rules that are not a list", func(c *COSAgent) { c.MetricsRules[0].Data = []byte("groups:\n- name: g\n  rules: 3\n") }, nil, "no list of rules"},
		{"dashboard not JSON", func(c *COSAgent) { c.Dashboards[0].Data = []byte("{\"a\": ") }, nil, "cannot parse dashboard"},
		{"dashboard with trailing data", func(c *COSAgent) { c.Dashboards[0].Data = []byte("{} {}") }, nil, "trailing data"},
		{"dashboard not an object", func(c *COSAgent) { c.Dashboards[0].Data = []byte("[1]") }, nil, "not a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testAgent()
			c.MetricsRules = append([]COSAgentFile(nil), c.MetricsRules...)
			c.Dashboards = append([]COSAgentFile(nil), c.Dashboards...)
			tc.edit(&c)
			v, err := c.Config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(v, w) {
					t.Errorf("config lacks %s\nconfig: %s", w, v)
				}
			}
		})
	}
}

func TestCOSAgentConfigIsStable(t *testing.T) {
	// Every hook recomputes the value; Juju must see no change when
	// nothing changed, or the collector would reload on every hook.
	a, b := mustConfig(t, testAgent()), mustConfig(t, testAgent())
	if a != b {
		t.Fatal("two computations of the same config differ")
	}
}

// TestCOSAgentConfigAsPythonReadsIt has Python check what only Python can
// say: that the value is pydantic's compact dump of itself, that the job
// name hash and dashboard uid are hashlib's, that the dashboard decompresses
// with lzma.decompress into exactly json.dumps of the file with the uid and
// charm tag the library sets, and that the consumer's required fields and
// types are there (COSAgentRequirer validates with CosAgentProviderUnitData).
func TestCOSAgentConfigAsPythonReadsIt(t *testing.T) {
	v := mustConfig(t, testAgent())
	in, _ := json.Marshal(map[string]string{"config": v, "dashboard": testDashboard})
	out := python(t, `
import base64, hashlib, json, lzma, sys
inp = json.load(sys.stdin)
raw = inp["config"]
d = json.loads(raw)
# pydantic v2 model_dump_json: compact separators, UTF-8 kept, dict order kept.
assert json.dumps(d, separators=(",", ":"), ensure_ascii=False) == raw, "not pydantic's compact form"
for k, t in [("metrics_alert_rules", dict), ("log_alert_rules", dict), ("dashboards", list),
             ("metrics_scrape_jobs", list), ("log_slots", list)]:
    assert isinstance(d[k], t), k
job = dict(d["metrics_scrape_jobs"][0])
name = job.pop("job_name")
h = hashlib.blake2b(json.dumps(job, sort_keys=True).encode(), digest_size=4).hexdigest()
assert name == "docker-registry_registry_" + h, (name, h)
dash = json.loads(inp["dashboard"])
dash["uid"] = hashlib.shake_256("docker-registry-src/grafana_dashboards/registry.json".encode()).hexdigest(20)
dash["tags"].append("charm: docker-registry")
got = lzma.decompress(base64.b64decode(d["dashboards"][0].encode())).decode()
assert got == json.dumps(dash), (got, json.dumps(dash))
print("ok")
`, in)
	if strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python: %s", out)
	}
}

func TestPythonJSONEncoders(t *testing.T) {
	doc := object{{"b", "é\u2028\x01\"\\\n"}, {"a", []any{1, 2.0, 0.5, true, nil, "😀"}}}
	cases := []struct {
		style pyStyle
		want  string
	}{
		{jsonDumps, `{"b": "\u00e9\u2028\u0001\"\\\n", "a": [1, 2.0, 0.5, true, null, "\ud83d\ude00"]}`},
		{jsonDumpsSorted, `{"a": [1, 2.0, 0.5, true, null, "\ud83d\ude00"], "b": "\u00e9\u2028\u0001\"\\\n"}`},
		{pydanticJSON, "{\"b\":\"é\u2028\\u0001\\\"\\\\\\n\",\"a\":[1,2.0,0.5,true,null,\"😀\"]}"},
	}
	for _, tc := range cases {
		got, err := tc.style.encode(doc)
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v: got %s (%v), want %s", tc.style, got, err, tc.want)
		}
	}
	// Python agrees with the json.dumps forms.
	out := python(t, `
import json, sys
print(json.dumps({"b": "é\u2028\x01\"\\\n", "a": [1, 2.0, 0.5, True, None, "😀"]}))
print(json.dumps({"b": "é\u2028\x01\"\\\n", "a": [1, 2.0, 0.5, True, None, "😀"]}, sort_keys=True))
`, nil)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != cases[0].want || lines[1] != cases[1].want {
		t.Errorf("python says\n%s\nwe say\n%s\n%s", out, cases[0].want, cases[1].want)
	}
}

// TestCOSAgentRulesPassPromtool checks the metrics_alert_rules we publish
// (JSON is YAML) with Prometheus's own checker: a rule Prometheus refuses
// would be dropped by the collector. Skipped without promtool (Debian's
// prometheus package), which only this check needs.
func TestCOSAgentRulesPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	var d struct {
		Rules json.RawMessage `json:"metrics_alert_rules"`
	}
	if err := json.Unmarshal([]byte(mustConfig(t, testAgent())), &d); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(p, d.Rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", p).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
