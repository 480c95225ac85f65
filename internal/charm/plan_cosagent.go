package charm

import (
	"github.com/canonical/docker-registry-charm/internal/cos"
	"github.com/canonical/docker-registry-charm/internal/relation"
)

// charmName is metadata.yaml's name, which the COS topology labels carry.
const charmName = "docker-registry"

// planCOSAgent publishes, on every cos-agent relation, the scrape job for
// the registry's /metrics on the debug port (served on 127.0.0.1 while
// the relation exists, see planRegistry), the alert rules and the
// dashboard.
func planCOSAgent(o *Observed, d *Desired) {
	if len(o.COSAgents) == 0 {
		return
	}
	value, err := cosAgentConfig(o)
	if err != nil {
		// The inputs are the charm's own files: a failure is a bug that
		// tests catch; publish nothing rather than half.
		return
	}
	for _, r := range o.COSAgents {
		setDiff(d.UnitBags, r.ID, r.Local, Bag{relation.COSAgentKey: value})
	}
}

func cosAgentConfig(o *Observed) (string, error) {
	return relation.COSAgent{
		Topology: relation.COSAgentTopology{
			Model: o.Model, ModelUUID: o.ModelUUID, App: o.App, Unit: o.Unit, Charm: charmName,
		},
		MetricsRules: cos.MetricsRules(),
		LogRules:     cos.LogRules(),
		Dashboards:   cos.Dashboards(),
		ScrapeJobs:   []relation.COSAgentScrapeJob{relation.COSAgentRegistryScrapeJob(o.Config.DebugPort)},
	}.Config()
}
