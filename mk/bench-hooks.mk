# Hook cost on a deployed unit under the simulator (issue: foundation).
#
#   make bench-hooks   median wall time and hook-tool calls of a no-op
#                      update-status and of a config-changed that changes
#                      the registry configuration (full reconcile + reload),
#                      and what the simulator itself adds to each process

BENCH_TARGETS += bench-hooks

.PHONY: bench-hooks
bench-hooks: charm
	CHARM=$(CHARM) $(GO) test -count=1 -run '^$$' -bench BenchmarkHooks -benchtime 1x -timeout 10m ./tests/e2e
	$(GO) test -count=1 -run '^$$' -bench BenchmarkRunOverhead -benchtime 1x ./tests/sim/machine
