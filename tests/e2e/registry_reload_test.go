package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Zero dropped requests through the charm: 50 keep-alive pull clients
// (HTTP/2 over TLS, constant basic-auth credentials) see every request
// answered, with the right bytes, while `juju config` applies ten
// reconfigurations and a certificate rotation; the registry reloads them
// without a restart. Password changes are checked apart, by
// TestBasicAuthFromConfig: clients cannot switch credentials atomically.
func TestReloadUnderLoadThroughCharm(t *testing.T) {
	rep := runReloadUnderLoad(t, ciLoadOptions())
	t.Logf("\n%s", rep.Markdown("through the charm"))
	if len(rep.Reconfig) == 0 {
		t.Fatal("no request completed while the reconfigurations ran: the scenario proved nothing")
	}
	if rep.Failed != 0 {
		t.Fatalf("%d of %d requests failed; first failures:\n%s", rep.Failed, rep.Requests, strings.Join(rep.Errors, "\n"))
	}
	if rep.Restarts != 0 {
		t.Errorf("the registry restarted %d times for configuration it can reload", rep.Restarts)
	}
}

func ciLoadOptions() loadOptions {
	return loadOptions{
		Clients: 50,
		MaxIter: 2000,
		Steady:  1500 * time.Millisecond,
		Gap:     300 * time.Millisecond,
		After:   time.Second,
		MaxTime: 3 * time.Minute,
		Auth:    true,
	}
}

// BenchmarkCharmReloadUnderLoad runs the scenario of the CI test, the same
// over HTTP/1.1 keep-alive, and without basic auth (what the credential
// check costs), and writes the figures to $BENCH_E2E_REGISTRY_OUT
// (make bench-e2e-registry).
func BenchmarkCharmReloadUnderLoad(b *testing.B) {
	variants := []struct {
		title string
		opts  loadOptions
	}{
		{"TLS + basic auth, HTTP/2 (the CI test)", ciLoadOptions()},
		{"TLS + basic auth, HTTP/1.1 keep-alive", func() loadOptions { o := ciLoadOptions(); o.HTTP1 = true; return o }()},
		{"TLS, no auth, HTTP/2", func() loadOptions { o := ciLoadOptions(); o.Auth = false; return o }()},
	}
	var sections []string
	var failed int64
	loadBefore := loadAvg()
	for _, v := range variants {
		b.Run(strings.NewReplacer(" ", "", ",", "_", "+", "", "/", "").Replace(v.title), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rep := runReloadUnderLoad(b, v.opts)
				b.ReportMetric(float64(rep.Failed), "failed")
				b.ReportMetric(float64(rep.Reconfig.Pct(0.99).Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(rep.Reconfig.Pct(0.50).Microseconds())/1000, "p50-ms")
				b.Logf("\n%s", rep.Markdown(v.title))
				failed += rep.Failed
				if i == 0 {
					sections = append(sections, rep.Markdown(v.title))
				}
			}
		})
	}
	out := os.Getenv("BENCH_E2E_REGISTRY_OUT")
	if out == "" || len(sections) != len(variants) {
		return
	}
	var md strings.Builder
	md.WriteString("## Zero dropped requests through the charm (tests/e2e)\n\n")
	md.WriteString("50 keep-alive pull clients in the test process (each pull: the manifest by digest, then one blob, both\n" +
		"checked by sha256) against the charm-deployed registry on a simulated machine, while the Juju simulator\n" +
		"applies `juju config` ten times and rotates the server certificate (new tls-cert-blob/tls-key-blob from\n" +
		"the same CA). The charm reloads the registry (SIGHUP, in-process handler swap, GetCertificate); latency\n" +
		"is per request, from the client. CI asserts 0 failures and 0 restarts for the first variant\n" +
		"(TestReloadUnderLoadThroughCharm).\n\n")
	fmt.Fprintf(&md, "Command: `make bench-e2e-registry` (go test -run '^$' -bench '^BenchmarkCharmReloadUnderLoad$' -benchtime 1x ./tests/e2e)\n\n")
	fmt.Fprintf(&md, "Run: %s, %s, %d CPUs (%s), %s; load average %s before and %s after (the machine is\n"+
		"shared: the test process, the simulated machine's registry and any other work compete for the same cores,\n"+
		"so latency varies from run to run; failures do not)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), runtime.NumCPU(), cpuModel(), runtime.GOARCH, loadBefore, loadAvg())
	fmt.Fprintf(&md, "Total failed requests: **%d**\n\n", failed)
	md.WriteString(strings.Join(sections, "\n"))
	if err := os.WriteFile(out, []byte(md.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("figures written to %s", out)
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func cpuModel() string {
	out, err := exec.Command("sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").Output()
	if err != nil {
		return "unknown CPU"
	}
	return strings.TrimSpace(string(out))
}
