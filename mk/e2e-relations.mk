# tests/e2e relations suite: easyrsa TLS, containerd (ctr and crictl through
# CRI) and docker workers configured from the docker-registry relation,
# haproxy from the website stanza, leadership.
#
#   make tools-crictl   crictl v1.37.0 in $(TOOLS_DIR) (~30 s, cached)

E2E_CRICTL_MODULE := sigs.k8s.io/cri-tools/cmd/crictl@v1.37.0

TOOLS_TARGETS += tools-crictl

.PHONY: tools-crictl

tools-crictl: $(TOOLS_DIR)/crictl

$(TOOLS_DIR)/crictl:
	$(GO_INSTALL) $(E2E_CRICTL_MODULE)
