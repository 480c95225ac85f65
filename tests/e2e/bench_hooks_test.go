package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
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
//
// Each round runs the three hooks in turn, with a hook the charm returns
// from at once (collect-metrics: process start and Go's initialisation of
// the binary, plus the simulator) as the peer: the machine's noise moves
// all three alike, and "over the floor" (the median of the per-round
// differences) is what the charm itself costs.
//
// BENCH_ETC_DOCKER=1 gives the machine a /etc/docker (0755, as docker.io
// makes it) before the charm arrives: charms from before the fresh-machine
// fix need it to serve at all, and the comparison with them runs on the
// same harness.
func BenchmarkHooks(b *testing.B) {
	e := deploy.New(b)
	if os.Getenv("BENCH_ETC_DOCKER") != "" {
		e.PrepareMachine = func(m *machine.Machine) error {
			_, err := m.Command(context.Background(), "install", "-d", "-m", "0755", "/etc/docker").Output()
			return err
		}
	}
	ctx := context.Background()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		b.Fatal(err)
	}
	rounds := max(1, envInt("BENCH_HOOK_ROUNDS", 40))
	fresh := measureRounds(b, e, rounds)
	wantActive(b, e, "")

	relEasyRSA(ctx, b, e)
	if _, err := e.Model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"}); err != nil {
		b.Fatal(err)
	}
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": "bench-only-password"}); err != nil {
		b.Fatal(err)
	}
	wantActive(b, e, "https")
	typical := measureRounds(b, e, rounds)
	wantActive(b, e, "https")

	fmt.Println("fresh unit (plain HTTP, no relation but peers):")
	fresh.report(b, "")
	fmt.Println("typical unit (TLS from easyrsa, basic auth, a containerd client):")
	typical.report(b, "typical-")
}

// hookRounds are the wall times and tool calls of each hook, per round.
type hookRounds struct {
	names []string
	times map[string][]time.Duration
	calls map[string][]int
}

var levels = []string{"debug", "info"}

// settle is an idle pause after each hook (BENCH_SETTLE_MS, default none).
// On our VMs, hooks that follow an idle pause are slower (25 ms instead
// of 20 for the floor with 300 ms pauses): the vCPUs cool down. Juju runs
// hooks in bursts as often as alone; both are worth a look.
var settle = time.Duration(envInt("BENCH_SETTLE_MS", 0)) * time.Millisecond

func measureRounds(b *testing.B, e *deploy.Env, rounds int) hookRounds {
	b.Helper()
	ctx := context.Background()
	hooks := []struct {
		name string
		run  func(i int) error
	}{
		{"no-op hook", func(int) error {
			return e.Model.RunHook(ctx, unit0, sim.Event{Hook: "collect-metrics"})
		}},
		{"update-status", func(int) error { return e.Model.UpdateStatus(ctx) }},
		{"config-changed", func(i int) error {
			return e.Model.SetConfig(ctx, map[string]any{"log-level": levels[i%2]})
		}},
	}
	r := hookRounds{times: map[string][]time.Duration{}, calls: map[string][]int{}}
	for _, h := range hooks {
		r.names = append(r.names, h.name)
	}
	for i := 0; i < rounds; i++ {
		for _, h := range hooks {
			mark := e.Model.ToolCallMark()
			start := time.Now()
			if err := h.run(i); err != nil {
				b.Fatal(err)
			}
			r.times[h.name] = append(r.times[h.name], time.Since(start))
			r.calls[h.name] = append(r.calls[h.name], len(e.Model.ToolCalls(mark)))
			if settle > 0 {
				time.Sleep(settle)
			}
		}
	}
	return r
}

func (r hookRounds) report(b *testing.B, prefix string) {
	floor := r.times[r.names[0]]
	for _, name := range r.names {
		times := r.times[name]
		over := make([]time.Duration, len(times))
		for i := range times {
			over[i] = times[i] - floor[i]
		}
		med, p90, overMed := median(times), percentile(times, 90), median(over)
		calls := slices.Clone(r.calls[name])
		slices.Sort(calls)
		metric := prefix + strings.ReplaceAll(name, " ", "-")
		b.ReportMetric(ms(med), metric+"-median-ms")
		b.ReportMetric(float64(calls[len(calls)/2]), metric+"-tool-calls")
		if name == r.names[0] {
			fmt.Printf("  %-15s median %6.1f ms  p90 %6.1f ms  tool calls %d\n", name, ms(med), ms(p90), calls[len(calls)/2])
			continue
		}
		b.ReportMetric(ms(overMed), metric+"-over-floor-ms")
		fmt.Printf("  %-15s median %6.1f ms  p90 %6.1f ms  tool calls %d  over the floor %5.1f ms\n",
			name, ms(med), ms(p90), calls[len(calls)/2], ms(overMed))
	}
}

func wantActive(b *testing.B, e *deploy.Env, scheme string) {
	b.Helper()
	st := e.Model.Unit(unit0).Status()
	if st.Name != "active" || !strings.Contains(st.Message, scheme) {
		b.Fatalf("unit is %s %q, want active %s", st.Name, st.Message, scheme)
	}
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n < 0 {
		return def
	}
	return n
}
