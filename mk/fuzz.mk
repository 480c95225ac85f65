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
.PHONY: fuzz
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
