# Debian packages the tests drive for real: the list is .ci/packages,
# which .ci/run installs too. `make deps` installs the missing ones, so
# `make test` works on a fresh machine. Needs root and Debian's archive.

DEPS_PACKAGES := $(shell sed -e 's/\#.*//' -e '/^[[:space:]]*$$/d' .ci/packages)

.PHONY: deps
deps:
	@missing=""; for pkg in $(DEPS_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi
