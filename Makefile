# Build, test and pack the docker-registry charm. Read top to bottom:
#
#   1. what to run first   make demo, make test
#   2. build               make charm (the default), make dispatch, make lint
#   3. tools               make tools: the Go-built programs the tests drive
#   4. test suites         make test, make all
#   5. benchmarks          make bench (every bench-* below)
#   6. fuzz                make fuzz
#   7. deps                make deps: the Debian packages of .ci/packages
#
# .ci/run (CI on a clean Debian machine) runs make tools-quick,
# tools-slow, test and fuzz, and installs .ci/packages itself.

GO ?= go
SHELL := bash
.SHELLFLAGS := -e -o pipefail -c
.DEFAULT_GOAL := charm

BUILD_DIR := build
CHARM := $(CURDIR)/docker-registry.charm

# Tools built for tests (upstream registry, crane, ...) live here, out of
# the way of the system and cached between runs; tests find them on PATH.
TOOLS_DIR := $(CURDIR)/.cache/tools
GO_INSTALL = GOBIN=$(TOOLS_DIR) $(GO) install
export TOOLS_DIR
export PATH := $(TOOLS_DIR):$(PATH)

# Generous: the end-to-end suites start real daemons and clients.
TEST_TIMEOUT ?= 30m
TEST_FLAGS ?=

.PHONY: all demo test charm dispatch lint clean distclean \
	tools tools-quick tools-slow tools-crane tools-conformance tools-crictl tools-registry tools-weed \
	bench bench-hooks bench-scale-out bench-e2e-registry bench-registry bench-image \
	fuzz deps

## 1. What to run first ####################################################

# The packed charm deployed in the Juju simulator on a simulated machine,
# a two-platform image pushed into it, the registry served on a local
# address until interrupted (DEMO_SECONDS=60 stops it after a minute).
demo: charm
	CHARM=$(CHARM) $(GO) run ./tools/demo

# go vet and every test, with the tools and Debian packages they drive.
# Tests of the packed charm use $CHARM instead of packing their own. The
# slow tools too, unless .ci/run found no time to build them and said so
# in S3_SUITE_SKIP (the suites that need them then skip, saying why).
test: deps tools-quick $(if $(S3_SUITE_SKIP),,tools-slow) charm
	$(GO) vet ./...
	CHARM=$(CHARM) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...

## 2. Build ################################################################

# Always rebuilt (phony): go build's own cache makes an unchanged build
# cheap, and tracking every Go source here would go stale.
#
# mkcharm runs here: it is built for this machine even when GOARCH picks
# another architecture for dispatch (GOARCH=arm64 make charm). The packed
# manifest claims only the architecture of dispatch.
charm: dispatch
	GOARCH= GOOS= $(GO) run ./tools/mkcharm -src . -dispatch $(BUILD_DIR)/dispatch -o $(CHARM)

# The Go binary is the archive's dispatch. Static and stripped: one binary
# runs on every Ubuntu base.
dispatch:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BUILD_DIR)/dispatch ./cmd/docker-registry

lint:
	@files=$$(git ls-files --cached --others --exclude-standard '*.go'); \
	unformatted=$$(gofmt -l $$files); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BUILD_DIR) $(CHARM)

# Also drops the tools cache, which takes minutes to rebuild.
distclean: clean
	rm -rf .cache

## 3. Tools ################################################################
#
# Each pinned here once. A tool built from a module the charm also links
# (the upstream registry, crane) takes go.mod's version of it: go.mod is
# where that pin lives, and the benchmarks compare like with like.

gomod_version = $(shell $(GO) list -m -f '{{.Version}}' $(1))

REGISTRY_MODULE = github.com/distribution/distribution/v3/cmd/registry@$(call gomod_version,github.com/distribution/distribution/v3)
CRANE_MODULE = github.com/google/go-containerregistry/cmd/crane@$(call gomod_version,github.com/google/go-containerregistry)
CONFORMANCE_MODULE := github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
CRICTL_MODULE := sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0
WEED_MODULE := github.com/seaweedfs/seaweedfs
WEED_VERSION := v0.0.0-20261109003541-7506e5f91cd6
WEED_SRC := $(CURDIR)/.cache/weed-src

tools: tools-quick tools-slow

# A few seconds to a minute each from cold caches.
tools-quick: tools-registry tools-crane tools-conformance tools-crictl
	@mkdir -p $(TOOLS_DIR)

# Many minutes from cold caches: .ci/run builds them only when its time
# budget allows, and otherwise tells the S3 suite to skip (S3_SUITE_SKIP).
tools-slow: tools-weed

# The upstream registry binary (~55 s): the e2e source registry and the
# baseline of bench-registry and bench-image.
tools-registry: $(TOOLS_DIR)/registry
$(TOOLS_DIR)/registry:
	$(GO_INSTALL) $(REGISTRY_MODULE)

# crane (~5 s): the e2e actions suite builds its two-platform source image.
tools-crane: $(TOOLS_DIR)/crane
$(TOOLS_DIR)/crane:
	$(GO_INSTALL) $(CRANE_MODULE)

# The OCI distribution-spec conformance suite (~3 s); its go install names
# the binary "conformance".
tools-conformance: $(TOOLS_DIR)/conformance
$(TOOLS_DIR)/conformance:
	$(GO_INSTALL) $(CONFORMANCE_MODULE)

# crictl (~30 s): the e2e relations suite pulls through CRI with it.
tools-crictl: $(TOOLS_DIR)/crictl
$(TOOLS_DIR)/crictl:
	$(GO_INSTALL) $(CRICTL_MODULE)

# SeaweedFS's weed (5-10 min on 2 cores): the S3 service of the e2e S3
# suite and bench-scale-out. It cannot be built with `go install` (its
# go.mod has replace directives), so the pinned module is downloaded from
# the Go module proxy, copied somewhere writable (the module cache is
# read-only) and built there.
tools-weed: $(TOOLS_DIR)/weed
$(TOOLS_DIR)/weed:
	@mkdir -p $(TOOLS_DIR)
	dir=$$($(GO) mod download -json $(WEED_MODULE)@$(WEED_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$$/\1/p'); \
	test -n "$$dir" && test -d "$$dir"; \
	rm -rf $(WEED_SRC) && mkdir -p $(WEED_SRC); \
	cp -R "$$dir"/. $(WEED_SRC)/ && chmod -R u+w $(WEED_SRC); \
	cd $(WEED_SRC) && $(GO) build -trimpath -ldflags='-s -w' -o $@.tmp ./weed
	mv $@.tmp $@
	rm -rf $(WEED_SRC)

## 4. Test suites ##########################################################
#
# `make test` runs them all (go test ./...):
#   internal/..., cmd/...   unit and state-transition tests (the simulator in-process)
#   tests/charm             the packed archive and its hooks
#   tests/e2e               the packed charm under the simulator on simulated
#                           machines with real clients and daemons: registry,
#                           actions (crane, tools-registry), relations (easyrsa,
#                           containerd with crictl, docker, haproxy), S3 (weed),
#                           Swift, redis, the OCI conformance suite
#   tests/tree              product packages never import test support

all: lint test

## 5. Benchmarks ###########################################################
#
# -benchtime 1x: each benchmark runs its scenario or rounds itself and
# reports its own figures (BENCHMARKS.md, benchmarks/*.md).

BENCH_REGISTRY_ROUNDS ?= 7
BENCH_IMAGE_ROUNDS ?= 5
BENCH_E2E_REGISTRY_OUT ?= $(CURDIR)/benchmarks/e2e-registry.md

bench: bench-hooks bench-scale-out bench-e2e-registry bench-registry bench-image

# Hook cost on a deployed unit under the simulator: median wall time and
# hook-tool calls of a no-op update-status and of a config-changed that
# changes the registry configuration (full reconcile + reload), and what
# the simulator itself adds to each process.
bench-hooks: charm
	CHARM=$(CHARM) $(GO) test -count=1 -run '^$$' -bench BenchmarkHooks -benchtime 1x -timeout 10m ./tests/e2e
	$(GO) test -count=1 -run '^$$' -bench BenchmarkRunOverhead -benchtime 1x ./internal/testing/sim/machine

# Pulls through haproxy from 1, 2 and 3 units on one S3 bucket, without
# and with a shared redis cache, each unit on its own simulated machine
# (about 3 minutes on 2 cores).
bench-scale-out: charm tools-weed
	CHARM=$(CHARM) $(GO) test -count=1 -run '^$$' -bench BenchmarkScaleOut -benchtime 1x -timeout 20m ./tests/e2e

# 50 pull clients through the charm-deployed registry while 10
# reconfigurations and a certificate rotation go through the simulator:
# failed requests and p50/p99 latency, written to benchmarks/e2e-registry.md.
bench-e2e-registry: charm
	CHARM=$(CHARM) BENCH_E2E_REGISTRY_OUT=$(BENCH_E2E_REGISTRY_OUT) \
	  $(GO) test -count=1 -run '^$$' -bench '^BenchmarkCharmReloadUnderLoad$$' -benchtime 1x -timeout 20m -v ./tests/e2e

# The registry server embedded in the charm binary: (a) push/pull
# throughput, ours vs upstream, same config, alternating rounds, medians;
# (b) 50 pull clients over 10 reconfigurations + 1 certificate rotation:
# failed requests and latency. Figures: benchmarks/registry.md.
bench-registry: tools-registry
	UPSTREAM_REGISTRY=$(TOOLS_DIR)/registry BENCH_ROUNDS=$(BENCH_REGISTRY_ROUNDS) \
	  $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m -v ./internal/registry

# Our push vs `skopeo copy --all`, ~300 MB two-platform image, plain
# source -> TLS + basic-auth target, both the upstream registry binary on
# 127.0.0.1 (needs skopeo).
bench-image: tools-registry
	@command -v skopeo >/dev/null || { echo "bench-image needs skopeo (apt-get install -y skopeo)"; exit 1; }
	@mkdir -p $(BUILD_DIR)
	$(GO) build -o $(BUILD_DIR)/bench-image ./tools/bench-image
	$(BUILD_DIR)/bench-image -registry $(TOOLS_DIR)/registry -work $(CURDIR)/.cache/bench-image -rounds $(BENCH_IMAGE_ROUNDS)

## 6. Fuzz #################################################################
#
# Fuzz targets for every parser of outside data: relation bags, config,
# action parameters, PEM. `make fuzz` runs each for $(FUZZTIME), one at a
# time (go test -fuzz takes one target per run). Crashers land in the
# package's testdata/fuzz/<FuzzName>/ and then run as regression tests in
# every `go test`. Longer runs: `make fuzz FUZZTIME=2m`.

FUZZTIME ?= 10s

FUZZ_TARGETS := \
	./internal/relation:FuzzReactiveDecode \
	./internal/relation:FuzzReactiveJSONString \
	./internal/relation:FuzzReadIssued \
	./internal/relation:FuzzCertRequest \
	./internal/relation:FuzzClientConfig \
	./internal/relation:FuzzNetloc \
	./internal/relation:FuzzWebsite \
	./internal/relation:FuzzPeerAddresses \
	./internal/relation:FuzzNRPE \
	./internal/htpasswd:FuzzParse \
	./internal/pki:FuzzParseCertificates \
	./internal/pki:FuzzParsePrivateKey \
	./internal/config:FuzzConfig \
	./internal/config:FuzzConfigValues \
	./internal/charm:FuzzActionParams \
	./internal/image:FuzzDefaultDest

# Go 1.26's fuzz coordinator can fail a run with "context deadline
# exceeded" at the end of -fuzztime without having found anything
# (golang/go#75804, fixed in Go 1.27): such a failure, with no new input
# written to testdata/fuzz/<FuzzName>/, is reported and not counted. Any
# other failure (a crasher, a build error) stops the run.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; dir=$$pkg/testdata/fuzz/$$name; \
		before=$$(ls $$dir 2>/dev/null | wc -l || true); \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		if out=$$($(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) 2>&1); then \
			echo "$$out" | tail -2; continue; \
		fi; \
		echo "$$out"; \
		if [ "$$(ls $$dir 2>/dev/null | wc -l || true)" -eq "$$before" ] && grep -q '^    context deadline exceeded$$' <<< "$$out"; then \
			echo "$$name: deadline race without a crasher (golang/go#75804), not counted"; continue; \
		fi; \
		exit 1; \
	done

## 7. Deps #################################################################
#
# The Debian packages the tests drive for real: the list is .ci/packages,
# which .ci/run installs too. `make deps` installs the missing ones, so
# `make test` works on a fresh machine. Needs root and Debian's archive.

DEPS_PACKAGES = $(shell sed -e 's/\#.*//' -e '/^[[:space:]]*$$/d' .ci/packages)

deps:
	@missing=""; for pkg in $(DEPS_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi
