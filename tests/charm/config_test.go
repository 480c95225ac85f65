package charm_test

import (
	"strings"
	"testing"
)

// referenceOptions is the reactive charm's config.yaml (name, type,
// default; nil = no default key) plus tls-client-auth, service-memory-max,
// service-tasks-max, the redis-* and the *-secret options, new here. A bundle
// written for that charm must deploy this one unchanged, so any drift fails.
var referenceOptions = []struct {
	name, typ string
	def       any
}{
	{"auth-basic-user", "string", "admin"},
	{"auth-basic-password", "string", ""},
	{"auth-token-issuer", "string", ""},
	{"auth-token-realm", "string", ""},
	{"auth-token-root-certs", "string", ""},
	{"auth-token-service", "string", ""},
	{"cache-remoteurl", "string", ""},
	{"cache-username", "string", ""},
	{"cache-password", "string", ""},
	{"registry-port", "int", int64(5000)},
	{"debug-port", "int", int64(5001)},
	{"http-host", "string", ""},
	{"registry-http-proxy", "string", nil},
	{"registry-https-proxy", "string", nil},
	{"log-level", "string", "info"},
	{"prometheus-metrics", "boolean", false},
	{"registry-image", "string", "registry:2"},
	{"registry-name", "string", "registry"},
	{"storage-cache", "string", "inmemory"},
	{"storage-delete", "boolean", false},
	{"storage-read-only", "boolean", false},
	{"storage-redirect-disable", "boolean", true},
	{"storage-swift-authurl", "string", ""},
	{"storage-swift-username", "string", ""},
	{"storage-swift-password", "string", ""},
	{"storage-swift-region", "string", ""},
	{"storage-swift-tenant", "string", ""},
	{"storage-swift-domain", "string", ""},
	{"storage-swift-container", "string", "docker-registry"},
	{"storage-s3-accesskey", "string", nil},
	{"storage-s3-secretkey", "string", nil},
	{"storage-s3-region", "string", nil},
	{"storage-s3-regionendpoint", "string", nil},
	{"storage-s3-bucket", "string", nil},
	{"storage-s3-keyid", "string", nil},
	{"storage-s3-rootdirectory", "string", nil},
	{"storage-s3-useragent", "string", nil},
	{"storage-s3-forcepathstyle", "boolean", false},
	{"storage-s3-encrypt", "boolean", false},
	{"storage-s3-secure", "boolean", true},
	{"storage-s3-skip-verify", "boolean", false},
	{"storage-s3-skip-v4-auth", "boolean", true},
	{"storage-s3-usedualstack", "boolean", false},
	{"storage-s3-accelerate", "boolean", false},
	{"storage-s3-chunksize", "int", int64(10485760)},
	{"storage-s3-multipartcopychunksize", "int", int64(33554432)},
	{"storage-s3-multipartcopymaxconcurrency", "int", int64(100)},
	{"storage-s3-multipartcopythresholdsize", "int", int64(33554432)},
	{"storage-s3-storageclass", "string", "STANDARD"},
	{"storage-s3-objectacl", "string", "private"},
	{"storage-s3-loglevel", "string", "off"},
	{"tls-ca-blob", "string", ""},
	{"tls-cert-blob", "string", ""},
	{"tls-key-blob", "string", ""},
	{"tls-ca-path", "string", "/etc/docker/registry/ca.crt"},
	{"tls-cert-path", "string", "/etc/docker/registry/registry.crt"},
	{"tls-key-path", "string", "/etc/docker/registry/registry.key"},
	{"tls-client-auth", "string", "require"},
	{"service-memory-max", "string", "2G"},
	{"service-tasks-max", "int", int64(4096)},
	// The shared redis cache (storage-cache=redis), new here.
	{"redis-addresses", "string", ""},
	{"redis-password", "string", ""},
	{"redis-database", "int", int64(0)},
	{"redis-tls", "boolean", false},
	{"redis-tls-ca", "string", ""},
	// Juju user secrets in place of the credential options, new here.
	{"auth-basic-password-secret", "secret", nil},
	{"cache-password-secret", "secret", nil},
	{"registry-http-proxy-secret", "secret", nil},
	{"registry-https-proxy-secret", "secret", nil},
	{"storage-swift-password-secret", "secret", nil},
	{"storage-s3-secretkey-secret", "secret", nil},
	{"tls-key-blob-secret", "secret", nil},
}

func TestConfigMatchesReference(t *testing.T) {
	options := readCharm(t).Config().Options
	seen := map[string]bool{}
	for _, want := range referenceOptions {
		seen[want.name] = true
		got, ok := options[want.name]
		if !ok {
			t.Errorf("option %s missing", want.name)
			continue
		}
		if got.Type != want.typ {
			t.Errorf("option %s type = %q, want %q", want.name, got.Type, want.typ)
		}
		if got.Default != want.def {
			t.Errorf("option %s default = %#v, want %#v", want.name, got.Default, want.def)
		}
		if strings.TrimSpace(got.Description) == "" {
			t.Errorf("option %s has no description", want.name)
		}
	}
	for name := range options {
		if !seen[name] {
			t.Errorf("option %s is not in the reference list", name)
		}
	}
}

// Juju fills unset options from these defaults, and `juju config` parses
// user input with the option types: both must behave for a typical bundle.
func TestConfigSettingsFromBundle(t *testing.T) {
	cfg := readCharm(t).Config()
	settings, err := cfg.ParseSettingsStrings(map[string]string{
		"registry-port": "5443", "storage-delete": "true", "storage-s3-chunksize": "5242880",
	})
	if err != nil {
		t.Fatal(err)
	}
	if settings["registry-port"] != int64(5443) || settings["storage-delete"] != true {
		t.Errorf("parsed settings = %v", settings)
	}
	if _, err := cfg.ParseSettingsStrings(map[string]string{"registry-port": "abc"}); err == nil {
		t.Error("registry-port=abc accepted")
	}
	if _, err := cfg.ValidateSettings(map[string]any{"no-such-option": "x"}); err == nil {
		t.Error("an unknown option was accepted")
	}
	defaults := cfg.DefaultSettings()
	if _, ok := defaults["storage-s3-bucket"]; !ok || defaults["storage-s3-bucket"] != nil {
		t.Errorf("storage-s3-bucket default = %#v, want present and nil", defaults["storage-s3-bucket"])
	}
}
