# internal/registry: the registry server embedded in the charm binary
# (`docker-registry serve`) and its live reload.
#
#   make tools-registry   the upstream registry binary v3.1.2 in $(TOOLS_DIR) (~55 s, cached)
#   make bench-registry   (a) push/pull throughput, ours vs upstream, same config,
#                         alternating rounds, medians; (b) 50 pull clients over
#                         10 reconfigurations + 1 certificate rotation: failed
#                         requests and latency. Figures: benchmarks/registry.md.

REGISTRY_UPSTREAM_MODULE := github.com/distribution/distribution/v3/cmd/registry@v3.1.2
BENCH_REGISTRY_ROUNDS ?= 7

TOOLS_TARGETS += tools-registry
BENCH_TARGETS += bench-registry

.PHONY: tools-registry bench-registry

tools-registry: $(TOOLS_DIR)/registry

$(TOOLS_DIR)/registry:
	$(GO_INSTALL) $(REGISTRY_UPSTREAM_MODULE)

# -benchtime 1x: each benchmark runs its rounds itself and reports medians.
bench-registry: tools-registry
	UPSTREAM_REGISTRY=$(TOOLS_DIR)/registry BENCH_ROUNDS=$(BENCH_REGISTRY_ROUNDS) \
	  $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m -v ./internal/registry
