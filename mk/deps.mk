# Debian packages the tests drive for real (see ../shared/reference/test-tooling.md):
# containerd/ctr, dockerd, haproxy, skopeo, ip(8). `make deps` installs the
# missing ones, so `make test` works on a fresh machine; .ci/run installs
# the same list. Needs root and Debian's archive.

DEPS_COMMANDS := containerd:containerd ctr:containerd dockerd:docker.io docker:docker.io \
	haproxy:haproxy skopeo:skopeo ip:iproute2

.PHONY: deps
deps:
	@missing=""; for pair in $(DEPS_COMMANDS); do \
		cmd=$${pair%%:*}; pkg=$${pair##*:}; \
		command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi
