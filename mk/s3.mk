# tests/e2e S3 suite: the packed charm with storage-s3-* against a real
# S3 service (SeaweedFS `weed mini` on 127.0.0.1), see
# ../shared/reference/test-tooling.md ("Object storage and cache").
#
#   make tools-weed   SeaweedFS's weed in $(TOOLS_DIR) (5-10 min from cold caches on 2 cores, cached)
#
# SeaweedFS cannot be built with `go install` (its go.mod has replace
# directives), so the pinned module is downloaded from the Go module proxy,
# copied somewhere writable (the module cache is read-only) and built there.

WEED_MODULE := github.com/seaweedfs/seaweedfs
WEED_VERSION := v0.0.0-20261109003541-7506e5f91cd6
WEED_SRC := $(CURDIR)/.cache/weed-src

# Slow: .ci/run builds it only when its time budget allows, and otherwise
# tells the S3 suite to skip (S3_SUITE_SKIP).
TOOLS_SLOW_TARGETS += tools-weed

.PHONY: tools-weed

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
