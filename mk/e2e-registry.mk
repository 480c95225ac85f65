# tests/e2e registry suite: the packed charm's registry under the simulator
# with real clients (auth, TLS from blobs, invalid options, hardening,
# reboot, upgrade-charm, the OCI conformance suite, zero drops under
# reconfiguration).
#
#   make tools-conformance   the OCI distribution-spec conformance suite in
#                            $(TOOLS_DIR)/conformance (~3 s, cached); the
#                            suite's go install names the binary "conformance"
#   make bench-e2e-registry  50 pull clients through the charm-deployed
#                            registry while 10 reconfigurations and a
#                            certificate rotation go through the simulator:
#                            failed requests and p50/p99 latency, written to
#                            benchmarks/e2e-registry.md

E2E_CONFORMANCE_MODULE := github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
BENCH_E2E_REGISTRY_OUT ?= $(CURDIR)/benchmarks/e2e-registry.md

TOOLS_TARGETS += tools-conformance
BENCH_TARGETS += bench-e2e-registry

.PHONY: tools-conformance bench-e2e-registry

tools-conformance: $(TOOLS_DIR)/conformance

$(TOOLS_DIR)/conformance:
	$(GO_INSTALL) $(E2E_CONFORMANCE_MODULE)

# -benchtime 1x: the benchmark runs one scenario and reports its own figures.
bench-e2e-registry: charm
	CHARM=$(CHARM) BENCH_E2E_REGISTRY_OUT=$(BENCH_E2E_REGISTRY_OUT) \
	  $(GO) test -count=1 -run '^$$' -bench '^BenchmarkCharmReloadUnderLoad$$' -benchtime 1x -timeout 20m -v ./tests/e2e
