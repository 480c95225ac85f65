package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/tests/sim"
)

// BenchmarkHooks measures, on a deployed unit under the simulator (the
// packed charm run as a process on its machine, every hook tool a real
// process talking to the model), the wall time and tool calls of a no-op
// update-status and of a config-changed that changes the registry's
// configuration (full reconcile: render, write, synchronous reload,
// readiness probe). It does so twice: on a freshly deployed unit, and on
// the unit a Charmed Kubernetes operator runs (TLS from easyrsa, basic
// auth, a containerd client), where every hook reads more relations and
// the registry serves HTTPS. Run with `make bench-hooks`.
func BenchmarkHooks(b *testing.B) {
	e := New(b)
	ctx := context.Background()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		b.Fatal(err)
	}
	rounds := envInt("BENCH_HOOK_ROUNDS", 40)
	// The floor: a hook the charm returns from at once (metrics hooks are
	// no-ops), i.e. the simulator, the process start and Go's init of
	// the charm binary.
	floor := measure(b, e, rounds, func(int) error {
		return e.Model.RunHook(ctx, unit0, sim.Event{Hook: "collect-metrics"})
	})
	us := measure(b, e, rounds, func(int) error { return e.Model.UpdateStatus(ctx) })
	levels := []string{"debug", "info"}
	cc := measure(b, e, rounds, func(i int) error {
		return e.Model.SetConfig(ctx, map[string]any{"log-level": levels[i%2]})
	})
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" {
		b.Fatalf("unit ended %s %q", st.Name, st.Message)
	}

	relEasyRSA(ctx, b, e)
	if _, err := e.Model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"}); err != nil {
		b.Fatal(err)
	}
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": "bench-only-password"}); err != nil {
		b.Fatal(err)
	}
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" || !strings.Contains(st.Message, "https") {
		b.Fatalf("typical unit is %s %q, want active over https", st.Name, st.Message)
	}
	tus := measure(b, e, rounds, func(int) error { return e.Model.UpdateStatus(ctx) })
	tcc := measure(b, e, rounds, func(i int) error {
		return e.Model.SetConfig(ctx, map[string]any{"log-level": levels[i%2]})
	})
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" {
		b.Fatalf("typical unit ended %s %q", st.Name, st.Message)
	}
	report(b, "no-op hook", floor)
	report(b, "update-status", us)
	report(b, "config-changed", cc)
	report(b, "typical update-status", tus)
	report(b, "typical config-changed", tcc)
}

type hookFigures struct {
	median, p90 time.Duration
	calls       int // median tool calls per hook
}

func measure(b *testing.B, e *Env, rounds int, run func(i int) error) hookFigures {
	b.Helper()
	var times []time.Duration
	var calls []int
	for i := 0; i < rounds; i++ {
		mark := e.Model.ToolCallMark()
		start := time.Now()
		if err := run(i); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		calls = append(calls, len(e.Model.ToolCalls(mark)))
	}
	slices.Sort(times)
	slices.Sort(calls)
	return hookFigures{median: times[len(times)/2], p90: times[len(times)*9/10], calls: calls[len(calls)/2]}
}

func report(b *testing.B, name string, f hookFigures) {
	metric := strings.ReplaceAll(name, " ", "-")
	b.ReportMetric(float64(f.median.Microseconds())/1000, metric+"-median-ms")
	b.ReportMetric(float64(f.calls), metric+"-tool-calls")
	fmt.Printf("%-22s median %6.1f ms  p90 %6.1f ms  tool calls %d\n", name,
		float64(f.median.Microseconds())/1000, float64(f.p90.Microseconds())/1000, f.calls)
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
