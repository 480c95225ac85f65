package machine_test

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

// BenchmarkRunOverhead is what the simulator adds to every process it runs
// on a machine (a hook, in the hook benchmarks): the request to the
// machine's agent, its start of the process in the machine's namespaces,
// the output it collects. It runs /bin/true on a machine and directly,
// interleaved, and reports both medians and the difference.
func BenchmarkRunOverhead(b *testing.B) {
	if reason := machine.Unsupported(); reason != "" {
		b.Skip(reason)
	}
	c := machine.NewCloud(b)
	m, err := c.NewMachine("bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const rounds = 200
	var onMachine, direct []time.Duration
	for range rounds {
		start := time.Now()
		if err := m.Command(ctx, "/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		onMachine = append(onMachine, time.Since(start))
		start = time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		direct = append(direct, time.Since(start))
	}
	slices.Sort(onMachine)
	slices.Sort(direct)
	med := func(d []time.Duration) float64 { return float64(d[len(d)/2].Microseconds()) / 1000 }
	b.ReportMetric(med(onMachine), "machine-ms")
	b.ReportMetric(med(direct), "direct-ms")
	b.ReportMetric(med(onMachine)-med(direct), "overhead-ms")
}
