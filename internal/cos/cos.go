// Package cos holds what the charm hands the Canonical Observability Stack
// over cos-agent: Prometheus alert rules and a Grafana dashboard. They are
// files, like a Python charm's src/prometheus_alert_rules and
// src/grafana_dashboards, embedded in the binary (the charm reads them
// from here) and packed into the charm under src/ by tools/mkcharm, where
// operators can read them.
package cos

import (
	"embed"
	"io/fs"
	"path"

	"github.com/canonical/docker-registry-charm/internal/relation"
)

//go:embed prometheus_alert_rules/*.rules grafana_dashboards/*.json
var files embed.FS

// Dirs maps each directory of this package to where the packed charm
// holds it, relative to the charm directory.
var Dirs = map[string]string{
	"prometheus_alert_rules": "src/prometheus_alert_rules",
	"grafana_dashboards":     "src/grafana_dashboards",
}

// MetricsRules are the Prometheus rule files, named by their path in the
// packed charm.
func MetricsRules() []relation.COSAgentFile { return read("prometheus_alert_rules") }

// Dashboards are the Grafana dashboards, named by their path in the packed
// charm (which their uid derives from).
func Dashboards() []relation.COSAgentFile { return read("grafana_dashboards") }

// LogRules are Loki rules: none. Under both collectors the registry's log
// lines (its journal) reach Loki labelled with the collector's own
// application, or not at all (opentelemetry-collector reads /var/log files
// and snap log slots only), while the library scopes every log rule to
// this application's labels: a rule here could never fire.
func LogRules() []relation.COSAgentFile { return nil }

func read(dir string) []relation.COSAgentFile {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	var out []relation.COSAgentFile
	for _, e := range entries {
		data, err := fs.ReadFile(files, path.Join(dir, e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, relation.COSAgentFile{Path: path.Join(Dirs[dir], e.Name()), Data: data})
	}
	return out
}
