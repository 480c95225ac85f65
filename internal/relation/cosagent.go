package relation

import (
	"bytes"
	"crypto/sha3"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
	"golang.org/x/crypto/blake2b"
)

// The cos-agent relation (interface cos_agent, charm-relation-interfaces
// interfaces/cos_agent/v0): a subordinate collector (opentelemetry-collector
// or grafana-agent) on the unit reads one key of our unit bag, "config",
// the JSON that the charms.grafana_agent.v0.cos_agent library's
// COSAgentProvider writes (LIBPATCH 26): the scrape jobs it runs against
// localhost, the alert rules it forwards to Prometheus and Loki and the
// dashboards it forwards to Grafana. This file writes the same bytes from
// the same inputs: the rule and dashboard files the library would read
// from src/prometheus_alert_rules, src/loki_alert_rules and
// src/grafana_dashboards.

// COSAgentKey is the unit bag key the collector reads.
const COSAgentKey = "config"

// COSAgentTopology is the Juju topology the library stamps on rules and scrape
// jobs (cosl JujuTopology.from_charm).
type COSAgentTopology struct {
	Model, ModelUUID, App, Unit, Charm string
}

// identifier is JujuTopology.identifier: model, short model uuid and
// application, "/" replaced.
func (t COSAgentTopology) identifier() string {
	short := t.ModelUUID
	if len(short) > 8 {
		short = short[:8]
	}
	return strings.ReplaceAll(strings.Join([]string{t.Model, short, t.App}, "_"), "/", "_")
}

// labels is JujuTopology.label_matcher_dict: the labels every rule gets,
// in the library's order, empty values left out.
func (t COSAgentTopology) labels() object {
	var o object
	for _, m := range []member{
		{"juju_model", t.Model}, {"juju_model_uuid", t.ModelUUID},
		{"juju_application", t.App}, {"juju_charm", t.Charm},
	} {
		if m.Value != "" {
			o = append(o, m)
		}
	}
	return o
}

// COSAgentFile is one file the library would read, by its path relative to the
// charm directory (e.g. "src/grafana_dashboards/registry.json").
type COSAgentFile struct {
	Path string
	Data []byte
}

// COSAgent is what this unit publishes on cos-agent.
type COSAgent struct {
	Topology COSAgentTopology
	// MetricsRules and LogRules are the rule files (Prometheus rule file
	// format), read in path order as the library globs them.
	MetricsRules, LogRules []COSAgentFile
	Dashboards             []COSAgentFile
	// ScrapeJobs are Prometheus scrape_configs; the library renames each
	// job to <app>_<job_name>_<hash>.
	ScrapeJobs []COSAgentScrapeJob
}

// COSAgentScrapeJob is the subset of a Prometheus scrape_config we publish: a
// static target list on this machine.
type COSAgentScrapeJob struct {
	Name        string
	MetricsPath string
	Targets     []string
}

// Config returns the "config" value, exactly as the library's
// relation.data[unit]["config"] = CosAgentProviderUnitData(...).json().
func (c COSAgent) Config() (string, error) {
	rules, err := c.alertRules(c.MetricsRules, true)
	if err != nil {
		return "", fmt.Errorf("cannot build metrics alert rules: %w", err)
	}
	logRules, err := c.alertRules(c.LogRules, false)
	if err != nil {
		return "", fmt.Errorf("cannot build log alert rules: %w", err)
	}
	dashboards, err := c.dashboards()
	if err != nil {
		return "", err
	}
	jobs, err := c.scrapeJobs()
	if err != nil {
		return "", err
	}
	// CosAgentProviderUnitData's fields in declaration order; pydantic
	// writes the unset optionals as null.
	data := object{
		{"metrics_alert_rules", rules},
		{"log_alert_rules", logRules},
		{"dashboards", dashboards},
		{"subordinate", nil},
		{"metrics_scrape_jobs", jobs},
		{"log_slots", []any{}},
		{"tracing_protocols", nil},
	}
	out, err := pydanticJSON.encode(data)
	if err != nil {
		return "", fmt.Errorf("cannot encode cos-agent data: %w", err)
	}
	return string(out), nil
}

// genericGroups is cosl's generic_alert_groups.application_rules, which
// COSAgentProvider adds to every charm's metrics rules.
var genericGroups = object{{"groups", []any{object{
	{"name", "HostHealth"},
	{"rules", []any{
		object{
			{"alert", "HostDown"},
			{"expr", "up < 1"},
			{"for", "5m"},
			{"labels", object{{"severity", "critical"}}},
			{"annotations", object{
				{"summary", "Host '{{ $labels.instance }}' is down."},
				{"description", "Juju application '{{ $labels.juju_application }}' in model '{{ $labels.juju_model }}' is down. Prometheus has been unable to scrape it during at least the past five minutes."},
			}},
		},
		object{
			{"alert", "HostMetricsMissing"},
			{"expr", "absent(up)"},
			{"for", "5m"},
			{"labels", object{{"severity", "warning"}}},
			{"annotations", object{
				{"summary", "Unit '{{ $labels.juju_unit }}' of application '{{ $labels.juju_application }}' is down or failing to remote write."},
				{"description", "`Up` missing for unit '{{ $labels.juju_unit }}' of application {{ $labels.juju_application }} in model {{ $labels.juju_model }}. Please ensure the unit or the collector scraping it is up and is able to successfully reach the metrics backend."},
			}},
		},
	}},
}}}}

// alertRules is cosl AlertRules(topology).add_path(dir) (plus, for
// metrics, the generic groups) then as_dict(): {"groups": [...]} or {}
// when there is no group at all.
func (c COSAgent) alertRules(files []COSAgentFile, generic bool) (object, error) {
	sorted := slices.SortedStableFunc(slices.Values(files), func(a, b COSAgentFile) int { return strings.Compare(a.Path, b.Path) })
	var groups []any
	for _, f := range sorted {
		doc, err := decodeOrderedYAML(f.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		gs, err := c.stampGroups(doc, f.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		groups = append(groups, gs...)
	}
	if generic {
		gs, err := c.stampGroups(cloneValue(genericGroups), "")
		if err != nil {
			return nil, err
		}
		groups = append(groups, gs...)
		// COSAgentProvider wraps them as {"groups": dedupe(groups)}, even
		// when empty.
		return object{{"groups", dedupe(groups)}}, nil
	}
	if len(groups) == 0 {
		return object{}, nil
	}
	return object{{"groups", groups}}, nil
}

var (
	alreadyModified = regexp.MustCompile(`^.*?_[\da-f]{8}_.*?rules$`)
	notMetricChar   = regexp.MustCompile(`[^a-zA-Z0-9_:]`)
	topologyMarker  = regexp.MustCompile(`%%juju_topology%%,?`)
)

// stampGroups is Rules._from_dict for a file in the official format
// (groups of rules): group names get the topology prefix and a "_rules"
// suffix, rules get the topology labels they lack. Expressions are left
// as written, as the library leaves them without the cos-tool binary
// (which this charm does not ship); the collector's own copy of the
// library scopes them to the juju_* labels set here.
func (c COSAgent) stampGroups(doc any, path string) ([]any, error) {
	top, ok := doc.(object)
	if !ok {
		return nil, errors.New("not a rules file: want a mapping with groups")
	}
	raw, ok := top.get("groups")
	if !ok {
		// cosl also accepts one bare rule per file; we ship none.
		return nil, errors.New("not a rules file in the official format: no groups")
	}
	groups, ok := raw.([]any)
	if !ok {
		return nil, errors.New("groups is not a list")
	}
	prefix := c.Topology.identifier()
	if dir := subdir(path); dir != "" {
		prefix += "_" + dir
	}
	for gi, g := range groups {
		group, ok := g.(object)
		if !ok {
			return nil, errors.New("a group is not a mapping")
		}
		name, _ := group.get("name")
		n, _ := name.(string)
		if !alreadyModified.MatchString(n) {
			n = prefix + "_" + n
			if !strings.HasSuffix(n, "_rules") {
				n += "_rules"
			}
		}
		group.set("name", notMetricChar.ReplaceAllString(n, "_"))
		rules, _ := group.get("rules")
		list, ok := rules.([]any)
		if !ok {
			return nil, fmt.Errorf("group %q has no list of rules", n)
		}
		for i, r := range list {
			rule, ok := r.(object)
			if !ok {
				return nil, fmt.Errorf("group %q: a rule is not a mapping", n)
			}
			c.stampRule(&rule)
			list[i] = rule
		}
		group.set("rules", list)
		groups[gi] = group
	}
	return groups, nil
}

func (c COSAgent) stampRule(rule *object) {
	v, ok := rule.get("labels")
	labels, _ := v.(object)
	if !ok || labels == nil {
		labels = object{}
	}
	for _, m := range c.Topology.labels() {
		if _, ok := labels.get(m.Key); !ok {
			labels = append(labels, m)
		}
	}
	rule.set("labels", labels)
	if expr, ok := rule.get("expr"); ok {
		if s, ok := expr.(string); ok {
			rule.set("expr", topologyMarker.ReplaceAllString(s, ""))
		}
	}
}

// subdir is the rule file's directory below the rules directory, as the
// library puts it into group names ("" for files at the top).
func subdir(path string) string {
	parts := strings.Split(path, "/")
	// src/<kind>_alert_rules/<sub...>/<file>
	if len(parts) <= 3 {
		return ""
	}
	return strings.Join(parts[2:len(parts)-1], "/")
}

// dashboards is COSAgentProvider._dashboards: each file parsed, its uid
// set to DashboardPath40UID(charm, path), a "charm: <name>" tag added,
// json.dumps'ed, xz-compressed and base64-encoded.
func (c COSAgent) dashboards() ([]any, error) {
	out := []any{}
	for _, f := range c.Dashboards {
		doc, err := decodeOrderedJSON(f.Data)
		if err != nil {
			return nil, fmt.Errorf("cannot parse dashboard %s: %w", f.Path, err)
		}
		dash, ok := doc.(object)
		if !ok {
			return nil, fmt.Errorf("dashboard %s is not a JSON object", f.Path)
		}
		dash.set("uid", dashboardUID(c.Topology.Charm, f.Path))
		dash.set("tags", charmTag(dash, c.Topology.Charm))
		text, err := jsonDumps.encode(dash)
		if err != nil {
			return nil, fmt.Errorf("cannot encode dashboard %s: %w", f.Path, err)
		}
		packed, err := lzmaBase64(text)
		if err != nil {
			return nil, fmt.Errorf("cannot compress dashboard %s: %w", f.Path, err)
		}
		out = append(out, packed)
	}
	return out, nil
}

func charmTag(dash object, charm string) []any {
	v, _ := dash.get("tags")
	tags, _ := v.([]any)
	for _, t := range tags {
		if s, ok := t.(string); ok && strings.HasPrefix(s, "charm: ") {
			return tags
		}
	}
	return append(tags, "charm: "+charm)
}

// dashboardUID is cosl DashboardPath40UID.generate(charm, path): 40 hex
// digits of SHAKE-256 over "<charm>-<path>".
func dashboardUID(charm, path string) string {
	return hex.EncodeToString(sha3.SumSHAKE256([]byte(charm+"-"+path), 20))
}

// lzmaBase64 is cosl lzmaBase64.compress: Python's lzma.compress (the xz
// container, CRC64 check) then standard base64.
func lzmaBase64(data []byte) (string, error) {
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// scrapeJobs is COSAgentProvider._scrape_jobs for scrape_configs: each
// job renamed <app>_<job_name>_<8 hex digits of BLAKE2b-32 over the job
// without its name, json.dumps'ed with sorted keys>, sorted by name.
func (c COSAgent) scrapeJobs() ([]any, error) {
	type named struct {
		name string
		job  object
	}
	var jobs []named
	for _, j := range c.ScrapeJobs {
		body := object{
			{"metrics_path", j.MetricsPath},
			{"static_configs", []any{object{{"targets", toAny(j.Targets)}}}},
		}
		text, err := jsonDumpsSorted.encode(body)
		if err != nil {
			return nil, err
		}
		h, err := blake2b.New(4, nil)
		if err != nil {
			return nil, err
		}
		h.Write(text)
		name := fmt.Sprintf("%s_%s_%s", c.Topology.App, j.Name, hex.EncodeToString(h.Sum(nil)))
		jobs = append(jobs, named{name, append(object{{"job_name", name}}, body...)})
	}
	slices.SortStableFunc(jobs, func(a, b named) int { return strings.Compare(a.name, b.name) })
	out := []any{}
	for _, j := range jobs {
		out = append(out, j.job)
	}
	return out, nil
}

// dedupe drops groups equal to an earlier one, as _dedupe_list does.
func dedupe(groups []any) []any {
	var out []any
	var seen [][]byte
	for _, g := range groups {
		key, err := pydanticJSON.encode(g)
		if err != nil {
			out = append(out, g)
			continue
		}
		if !slices.ContainsFunc(seen, func(s []byte) bool { return bytes.Equal(s, key) }) {
			seen = append(seen, key)
			out = append(out, g)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

// cloneValue deep-copies an ordered value, so stamping never changes a
// shared template.
func cloneValue(v any) any {
	switch v := v.(type) {
	case object:
		o := make(object, len(v))
		for i, m := range v {
			o[i] = member{m.Key, cloneValue(m.Value)}
		}
		return o
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = cloneValue(e)
		}
		return a
	}
	return v
}

// COSAgentRegistryScrapeJob is the registry's /metrics on the debug port of this
// machine, where the collector runs beside it.
func COSAgentRegistryScrapeJob(debugPort int) COSAgentScrapeJob {
	return COSAgentScrapeJob{
		Name:        "registry",
		MetricsPath: "/metrics",
		Targets:     []string{"localhost:" + strconv.Itoa(debugPort)},
	}
}
