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
	./internal/pki:FuzzParseCertificates \
	./internal/pki:FuzzParsePrivateKey \
	./internal/config:FuzzConfig \
	./internal/charm:FuzzActionParams \
	./internal/image:FuzzDefaultDest

.PHONY: fuzz
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) || exit 1; \
	done
