# Build, test and pack the docker-registry charm.
#
#   make charm   build the binary and pack ./docker-registry.charm
#   make test    go vet + every test (installs the test tools first)
#   make lint    gofmt + go vet
#   make bench   benchmarks contributed by mk/*.mk
#   make fuzz    every fuzz target for $(FUZZTIME) each (mk/fuzz.mk)
#   make deps    the Debian packages of .ci/packages that are missing
#   make demo    pack the charm and run the demo
#   make tools   install Go-built test tools into $(TOOLS_DIR)
#                (tools-quick: all but the slow ones, tools-slow: those)
#
# Each area adds its own rules in mk/<area>.mk: append targets to
# BENCH_TARGETS or TOOLS_TARGETS (TOOLS_SLOW_TARGETS for tools that take
# many minutes to build from cold caches), and install Go tools with
# $(GO_INSTALL).

GO ?= go
SHELL := bash
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := charm

# Tools built for tests (upstream registry, crane, ...) live here, out of
# the way of the system and cached between runs; tests find them on PATH.
TOOLS_DIR := $(CURDIR)/.cache/tools
GO_INSTALL = GOBIN=$(TOOLS_DIR) $(GO) install
export TOOLS_DIR
export PATH := $(TOOLS_DIR):$(PATH)

BUILD_DIR := build
CHARM := $(CURDIR)/docker-registry.charm

# Generous: the end-to-end suites start real daemons and clients.
TEST_TIMEOUT ?= 30m
TEST_FLAGS ?=

BENCH_TARGETS :=
TOOLS_TARGETS :=
TOOLS_SLOW_TARGETS :=

include mk/*.mk

.PHONY: all test bench demo lint tools tools-quick tools-slow clean distclean

all: lint test

# Tests of the packed charm use $CHARM instead of packing their own.
# The slow tools too, unless .ci/run found no time to build them and said so
# in S3_SUITE_SKIP (the suites that need them then skip, saying why).
test: deps tools-quick $(if $(S3_SUITE_SKIP),,tools-slow) charm
	$(GO) vet ./...
	CHARM=$(CHARM) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...

bench: $(BENCH_TARGETS)

demo: charm
	CHARM=$(CHARM) $(GO) run ./tests/demo

lint:
	@files=$$(git ls-files --cached --others --exclude-standard '*.go'); \
	unformatted=$$(gofmt -l $$files); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

tools: tools-quick tools-slow

tools-quick: $(TOOLS_TARGETS)
	@mkdir -p $(TOOLS_DIR)

tools-slow: $(TOOLS_SLOW_TARGETS)

clean:
	rm -rf $(BUILD_DIR) $(CHARM)

# Also drops the tools cache, which takes minutes to rebuild.
distclean: clean
	rm -rf .cache
