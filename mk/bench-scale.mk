# Scale-out benchmark: pulls through haproxy from 1, 2 and 3 units on one
# S3 bucket (SeaweedFS, make tools-weed), without and with a shared redis
# cache, each unit on its own simulated machine; results in BENCHMARKS.md.
#
#   make bench-scale-out   about 3 minutes on 2 cores

BENCH_TARGETS += bench-scale-out

.PHONY: bench-scale-out
bench-scale-out: charm tools-weed
	CHARM=$(CHARM) $(GO) test -count=1 -run '^$$' -bench BenchmarkScaleOut -benchtime 1x -timeout 20m ./tests/e2e
