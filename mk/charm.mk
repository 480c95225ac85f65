# Pack the charm: the Go binary becomes the archive's dispatch.
#
# Always rebuilt (phony): go build's own cache makes an unchanged build
# cheap, and tracking every Go source here would go stale.

.PHONY: charm dispatch

# mkcharm runs here: it is built for this machine even when GOARCH picks
# another architecture for dispatch (GOARCH=arm64 make charm). The packed
# manifest claims only the architecture of dispatch.
charm: dispatch
	GOARCH= GOOS= $(GO) run ./tools/mkcharm -src . -dispatch $(BUILD_DIR)/dispatch -o $(CHARM)

# Static and stripped: one binary runs on every Ubuntu base.
dispatch:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BUILD_DIR)/dispatch ./cmd/docker-registry
