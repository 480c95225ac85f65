# internal/image: push/list/delete/gc of the registry's content.
#
#   make bench-image   our push vs `skopeo copy --all`, ~300 MB two-platform
#                      image, plain source -> TLS + basic-auth target, both
#                      the upstream registry binary on 127.0.0.1 (needs skopeo)
#
# The upstream registry binary is mk/registry.mk's (tools-registry), pinned
# there only.

BENCH_IMAGE_ROUNDS ?= 5

BENCH_TARGETS += bench-image

.PHONY: bench-image
bench-image: tools-registry
	@command -v skopeo >/dev/null || { echo "bench-image needs skopeo (apt-get install -y skopeo)"; exit 1; }
	@mkdir -p $(BUILD_DIR)
	$(GO) build -o $(BUILD_DIR)/bench-image ./tools/bench-image
	$(BUILD_DIR)/bench-image -registry $(TOOLS_DIR)/registry -work $(CURDIR)/.cache/bench-image -rounds $(BENCH_IMAGE_ROUNDS)
