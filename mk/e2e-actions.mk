# tests/e2e actions suite: push/images/rmi/garbage-collect/start/stop of the
# packed charm against a real source registry (the upstream registry binary
# from tools-registry) holding a two-platform image built with crane.
#
#   make tools-crane   crane v0.22.1 in $(TOOLS_DIR) (~5 s, cached)

E2E_CRANE_MODULE := github.com/google/go-containerregistry/cmd/crane@v0.22.1

TOOLS_TARGETS += tools-crane

.PHONY: tools-crane

tools-crane: $(TOOLS_DIR)/crane

$(TOOLS_DIR)/crane:
	$(GO_INSTALL) $(E2E_CRANE_MODULE)
