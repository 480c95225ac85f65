package remote

import (
	"encoding/json"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"
)

// The requirer side of cos_agent as the opentelemetry-collector charm runs
// it (github:canonical/opentelemetry-collector-operator src/charm.py, which
// uses COSAgentRequirer from lib/charms/grafana_agent/v0/cos_agent.py): it
// validates our unit bag's "config" as CosAgentProviderUnitData, and turns
// each metrics_scrape_jobs entry into a Prometheus scrape config for its
// prometheus receiver, adding the principal unit's topology as labels of
// every static config (COSAgentRequirer.metrics_jobs).

// COSAgentView is what the collector reads of one principal unit.
type COSAgentView struct {
	MetricsAlertRules map[string]any   `json:"metrics_alert_rules"`
	LogAlertRules     map[string]any   `json:"log_alert_rules"`
	Dashboards        []string         `json:"dashboards"`
	MetricsScrapeJobs []map[string]any `json:"metrics_scrape_jobs"`
	LogSlots          []string         `json:"log_slots"`
}

// ReadCOSAgent parses and validates the unit bag as the library's
// _validated_provider_data does: the five fields are required and typed.
func ReadCOSAgent(bag map[string]string) (COSAgentView, error) {
	var v COSAgentView
	raw, ok := bag["config"]
	if !ok {
		return v, errors.New("no config key in the unit bag")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		return v, fmt.Errorf("config is not JSON: %w", err)
	}
	for _, k := range []string{"metrics_alert_rules", "log_alert_rules", "dashboards", "metrics_scrape_jobs", "log_slots"} {
		if f, ok := fields[k]; !ok || string(f) == "null" {
			return v, fmt.Errorf("config lacks required field %s", k)
		}
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, fmt.Errorf("config does not validate: %w", err)
	}
	return v, nil
}

// UnitTopology is the principal unit as the collector names it.
type UnitTopology struct{ Model, ModelUUID, App, Unit string }

// PrometheusConfig renders the scrape jobs into a prometheus.yml, as the
// collector's prometheus receiver would run them, with the rule files
// given and a short interval for tests.
func (v COSAgentView) PrometheusConfig(topo UnitTopology, interval string, ruleFiles []string) ([]byte, error) {
	var jobs []map[string]any
	for _, job := range v.MetricsScrapeJobs {
		j := map[string]any{}
		for k, val := range job {
			j[k] = val
		}
		statics, _ := j["static_configs"].([]any)
		for _, s := range statics {
			sc, ok := s.(map[string]any)
			if !ok {
				return nil, errors.New("a static config is not a mapping")
			}
			labels, _ := sc["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			for k, val := range map[string]string{"juju_model": topo.Model, "juju_model_uuid": topo.ModelUUID,
				"juju_application": topo.App, "juju_unit": topo.Unit} {
				if val != "" {
					labels[k] = val
				}
			}
			sc["labels"] = labels
		}
		j["scrape_interval"] = interval
		j["scrape_timeout"] = interval
		jobs = append(jobs, j)
	}
	return yaml.Marshal(map[string]any{
		"global":         map[string]any{"scrape_interval": interval, "evaluation_interval": interval},
		"rule_files":     ruleFiles,
		"scrape_configs": jobs,
	})
}

// RulesFile is metrics_alert_rules as a Prometheus rule file, as the
// collector writes it to disk (yaml.safe_dump) before forwarding it.
func (v COSAgentView) RulesFile() ([]byte, error) {
	return yaml.Marshal(v.MetricsAlertRules)
}
