package config

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// defaults decodes the defaults of the charm's config.yaml the way Juju
// hands them to the charm (config-get --all --format=json), so the tests
// follow config.yaml instead of a copy of it.
func defaults() Config {
	data, err := os.ReadFile("../../config.yaml")
	if err != nil {
		panic(err)
	}
	var file struct {
		Options map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"options"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		panic(err)
	}
	values := map[string]any{}
	for name, o := range file.Options {
		values[name] = o.Default
	}
	asJSON, err := json.Marshal(values)
	if err != nil {
		panic(err)
	}
	c, err := Parse(asJSON)
	if err != nil {
		panic(err)
	}
	return c
}

// keyPair returns a fresh certificate and its EC key as PEM.
func keyPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	p := pkitest.NewCA(t, "test CA").Issue(t, pkitest.Leaf{CommonName: "registry"})
	return p.CertPEM, p.KeyPEM
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestValidateAcceptsDefaults(t *testing.T) {
	c := defaults()
	if c.RegistryPort != 5000 || c.StorageS3ChunkSize != 10485760 || !c.StorageS3SkipV4Auth {
		t.Fatalf("config.yaml defaults not decoded: %+v", c)
	}
	if got := defaults().Validate(); len(got) != 0 {
		t.Fatalf("defaults: got problems %v", got)
	}
}

func TestValidateAcceptsFullValidConfig(t *testing.T) {
	cert, key := keyPair(t)
	c := defaults()
	c.AuthBasicPassword = "s3cret"
	c.CacheRemoteURL = "https://registry-1.docker.io"
	c.CacheUsername, c.CachePassword = "u", "p"
	c.HTTPHost = "https://registry.example.com:5000/"
	c.RegistryHTTPProxy = "proxy.example.com:3128"
	c.RegistryHTTPSProxy = "http://user:pw@proxy.example.com:3128"
	c.PrometheusMetrics = true
	c.LogLevel = "DEBUG"
	c.StorageS3Region, c.StorageS3Bucket = "garage-dc1", "registry" // any region off AWS
	c.StorageS3RegionEndpoint = "http://127.0.0.1:8333"
	c.StorageS3AccessKey, c.StorageS3SecretKey = "AK", "SK"
	c.StorageS3SkipV4Auth = false
	c.StorageS3StorageClass = "standard_ia"
	c.StorageS3LogLevel = "DebugWithSigning"
	c.StorageS3Encrypt, c.StorageS3KeyID = true, "kms-key"
	c.TLSCertBlob, c.TLSKeyBlob, c.TLSCABlob = b64(cert), b64(key), b64(cert)
	c.TLSClientAuth = ClientAuthVerifyIfGiven
	if got := c.Validate(); len(got) != 0 {
		t.Fatalf("got problems %v", got)
	}
}

func TestValidateReportsEachOption(t *testing.T) {
	cert, key := keyPair(t)
	otherCert, _ := keyPair(t)
	s3 := func(c *Config) { c.StorageS3Region, c.StorageS3Bucket = "us-east-1", "b" }
	token := func(c *Config) {
		c.AuthTokenIssuer, c.AuthTokenService = "issuer", "registry"
		c.AuthTokenRealm, c.AuthTokenRootCerts = "https://auth.example.com/token", b64(cert)
	}
	tests := []struct {
		name   string
		change func(*Config)
		option string
		want   string // substring of the message
	}{
		{"port too high", func(c *Config) { c.RegistryPort = 70000 }, "registry-port", "must be between 1 and 65535 (got 70000)"},
		{"port zero", func(c *Config) { c.RegistryPort = 0 }, "registry-port", "(got 0)"},
		{"debug port when metrics", func(c *Config) { c.PrometheusMetrics, c.DebugPort = true, -1 }, "debug-port", "between 1 and 65535"},
		{"debug port clash", func(c *Config) { c.PrometheusMetrics, c.DebugPort = true, 5000 }, "debug-port", "must differ from registry-port"},
		{"log level", func(c *Config) { c.LogLevel = "trace" }, "log-level", `must be "error", "warn", "info" or "debug" (got "trace")`},
		{"storage cache", func(c *Config) { c.StorageCache = "memcached" }, "storage-cache", `must be "inmemory", "disabled" or "redis"`},
		{"client auth", func(c *Config) { c.TLSClientAuth = "optional" }, "tls-client-auth", `"require", "verify-if-given" or "none"`},
		{"http-host relative", func(c *Config) { c.HTTPHost = "registry.example.com" }, "http-host", "absolute http or https URL"},
		{"http-host path", func(c *Config) { c.HTTPHost = "https://r.example.com/v2" }, "http-host", `ends in "/"`},
		{"http-host scheme", func(c *Config) { c.HTTPHost = "ftp://r.example.com/" }, "http-host", "absolute http or https URL"},
		{"http proxy", func(c *Config) { c.RegistryHTTPProxy = "ftp://proxy:21" }, "registry-http-proxy", "proxy URL"},
		{"https proxy", func(c *Config) { c.RegistryHTTPSProxy = "http://" }, "registry-https-proxy", "proxy URL"},
		{"user without password ok, password without user", func(c *Config) { c.AuthBasicUser, c.AuthBasicPassword = "", "pw" }, "auth-basic-user", "must be set when auth-basic-password is set"},
		{"user with colon", func(c *Config) { c.AuthBasicUser = "a:b" }, "auth-basic-user", `must not contain ":"`},
		{"user comment", func(c *Config) { c.AuthBasicUser = "#admin" }, "auth-basic-user", `start with "#"`},
		{"long password", func(c *Config) { c.AuthBasicPassword = strings.Repeat("x", 73) }, "auth-basic-password", "at most 72 bytes"},
		{"token partial", func(c *Config) { token(c); c.AuthTokenRealm = "" }, "auth-token-realm", "token authentication needs"},
		{"token realm url", func(c *Config) { token(c); c.AuthTokenRealm = "auth.example.com" }, "auth-token-realm", "absolute http or https URL"},
		{"token root certs base64", func(c *Config) { token(c); c.AuthTokenRootCerts = "%%%" }, "auth-token-root-certs", "cannot decode base64"},
		{"token root certs pem", func(c *Config) { token(c); c.AuthTokenRootCerts = b64(key) }, "auth-token-root-certs", "no PEM certificate found"},
		{"token and basic", func(c *Config) { token(c); c.AuthBasicPassword = "pw" }, "auth-basic-password", "cannot be combined with token authentication"},
		{"cache url", func(c *Config) { c.CacheRemoteURL = "docker.io" }, "cache-remoteurl", "absolute http or https URL"},
		{"cache user alone", func(c *Config) { c.CacheUsername = "u" }, "cache-password", "must be set when cache-username is set"},
		{"cache password alone", func(c *Config) { c.CachePassword = "p" }, "cache-username", "must be set when cache-password is set"},
		{"swift v3 needs domain", func(c *Config) { swiftV3(c); c.StorageSwiftDomain = "" }, "storage-swift-domain", "Keystone v3"},
		{"swift v3 needs tenant", func(c *Config) { swiftV3(c); c.StorageSwiftTenant = "" }, "storage-swift-tenant", "must be set when storage-swift-authurl is set"},
		{"swift v2 needs tenant", func(c *Config) {
			swiftV3(c)
			c.StorageSwiftAuthURL, c.StorageSwiftTenant = "https://k.example.com/v2.0", ""
		}, "storage-swift-tenant", "Keystone"},
		{"swift needs username", func(c *Config) { swiftV3(c); c.StorageSwiftUsername = "" }, "storage-swift-username", "must be set"},
		{"swift needs password", func(c *Config) { swiftV3(c); c.StorageSwiftPassword = "" }, "storage-swift-password", "must be set"},
		{"swift versionless url", func(c *Config) { swiftV3(c); c.StorageSwiftAuthURL = "https://keystone.example.com:5000/" }, "storage-swift-authurl", "names the identity API version"},
		{"swift relative url", func(c *Config) { swiftV3(c); c.StorageSwiftAuthURL = "keystone/v3" }, "storage-swift-authurl", "absolute http or https URL"},
		{"swift url newline", func(c *Config) { swiftV3(c); c.StorageSwiftAuthURL = "https://k/v3\nX: y" }, "storage-swift-authurl", "absolute http or https URL"},
		{"swift url credentials", func(c *Config) { swiftV3(c); c.StorageSwiftAuthURL = "https://u:p@k.example.com/v3" }, "storage-swift-authurl", "must not carry credentials"},
		{"swift container slash", func(c *Config) { swiftV3(c); c.StorageSwiftContainer = "a/b" }, "storage-swift-container", "Swift container name"},
		{"swift container empty", func(c *Config) { swiftV3(c); c.StorageSwiftContainer = "" }, "storage-swift-container", "1 to 256 bytes"},
		{"swift container huge", func(c *Config) { swiftV3(c); c.StorageSwiftContainer = strings.Repeat("c", 1<<20) }, "storage-swift-container", "1 to 256 bytes"},
		{"swift container newline", func(c *Config) { swiftV3(c); c.StorageSwiftContainer = "reg\nistry" }, "storage-swift-container", "control characters"},
		{"s3 region alone", func(c *Config) { c.StorageS3Region = "us-east-1" }, "storage-s3-bucket", "must be set when storage-s3-region is set"},
		{"s3 bucket alone", func(c *Config) { c.StorageS3Bucket = "b" }, "storage-s3-region", "must be set when storage-s3-bucket is set"},
		{"s3 unknown AWS region", func(c *Config) { s3(c); c.StorageS3Region = "moon-1" }, "storage-s3-region", `must be an AWS region such as us-east-1 (got "moon-1")`},
		{"s3 endpoint", func(c *Config) { s3(c); c.StorageS3RegionEndpoint = "s3.example.com" }, "storage-s3-regionendpoint", "absolute http or https URL"},
		{"s3 endpoint credentials", func(c *Config) { s3(c); c.StorageS3RegionEndpoint = "https://k:s@s3.example.com" }, "storage-s3-regionendpoint", "must not carry credentials"},
		{"s3 accesskey alone", func(c *Config) { s3(c); c.StorageS3AccessKey = "AK" }, "storage-s3-secretkey", "must be set"},
		{"s3 keyid without encrypt", func(c *Config) { s3(c); c.StorageS3KeyID = "k" }, "storage-s3-keyid", "storage-s3-encrypt=true"},
		{"s3 v2 on aws", func(c *Config) { s3(c); c.StorageS3SkipV4Auth = false }, "storage-s3-skip-v4-auth", "must be true on Amazon S3"},
		{"s3 storage class", func(c *Config) { s3(c); c.StorageS3StorageClass = "GLACIER" }, "storage-s3-storageclass", `(got "GLACIER")`},
		{"s3 acl", func(c *Config) { s3(c); c.StorageS3ObjectACL = "PRIVATE" }, "storage-s3-objectacl", "bucket-owner-full-control"},
		{"s3 loglevel", func(c *Config) { s3(c); c.StorageS3LogLevel = "verbose" }, "storage-s3-loglevel", `(got "verbose")`},
		{"s3 chunksize", func(c *Config) { s3(c); c.StorageS3ChunkSize = 1 << 20 }, "storage-s3-chunksize", "between 5242880 and 5368709120 bytes (got 1048576)"},
		{"s3 copy chunksize", func(c *Config) { s3(c); c.StorageS3MultipartCopyChunkSize = 6 << 30 }, "storage-s3-multipartcopychunksize", "between 5242880"},
		{"s3 threshold", func(c *Config) { s3(c); c.StorageS3MultipartCopyThresholdSize = -1 }, "storage-s3-multipartcopythresholdsize", "between 0 and"},
		{"s3 concurrency", func(c *Config) { s3(c); c.StorageS3MultipartCopyMaxConcurrency = 0 }, "storage-s3-multipartcopymaxconcurrency", "at least 1"},
		{"cert blob base64", func(c *Config) { c.TLSCertBlob, c.TLSKeyBlob = "not base64!", b64(key) }, "tls-cert-blob", "cannot decode base64"},
		{"cert blob holds key", func(c *Config) { c.TLSCertBlob, c.TLSKeyBlob = b64(key), b64(key) }, "tls-cert-blob", "no PEM certificate found"},
		{"key blob holds cert", func(c *Config) { c.TLSCertBlob, c.TLSKeyBlob = b64(cert), b64(cert) }, "tls-key-blob", "no PEM private key found"},
		{"ca blob", func(c *Config) { c.TLSCABlob = b64([]byte("hello")) }, "tls-ca-blob", "no PEM certificate found"},
		{"cert without key", func(c *Config) { c.TLSCertBlob = b64(cert) }, "tls-key-blob", "must be set when tls-cert-blob is set"},
		{"key without cert", func(c *Config) { c.TLSKeyBlob = b64(key) }, "tls-cert-blob", "must be set when tls-key-blob is set"},
		{"key mismatch", func(c *Config) { c.TLSCertBlob, c.TLSKeyBlob = b64(otherCert), b64(key) }, "tls-key-blob", "does not match"},
		{"relative path", func(c *Config) { c.TLSCertPath = "registry.crt" }, "tls-cert-path", "absolute file path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults()
			tt.change(&c)
			got := c.Validate()
			if len(got) != 1 || got[0].Option != tt.option || !strings.Contains(got[0].Message, tt.want) {
				t.Fatalf("want one problem %s: ...%s...; got %v", tt.option, tt.want, got)
			}
		})
	}
}

// swiftV3 sets a complete Keystone v3 Swift configuration.
func swiftV3(c *Config) {
	c.StorageSwiftAuthURL = "https://keystone.example.com:5000/v3"
	c.StorageSwiftUsername, c.StorageSwiftPassword = "registry", "pw"
	c.StorageSwiftTenant, c.StorageSwiftDomain = "services", "Default"
}

// TestValidateSwiftPerAuthVersion: each identity version asks for its own
// options and no more; Swift wins over S3 as in the reference, whose S3
// options are then inert.
func TestValidateSwiftPerAuthVersion(t *testing.T) {
	for url, set := range map[string]func(c *Config){
		"https://keystone.example.com:5000/v3":    func(c *Config) { c.StorageSwiftTenant, c.StorageSwiftDomain = "p", "Default" },
		"https://keystone.example.com:5000/v2.0":  func(c *Config) { c.StorageSwiftTenant = "p" },
		"http://swift.example.com:8080/auth/v1.0": func(*Config) {},
	} {
		c := defaults()
		c.StorageSwiftAuthURL, c.StorageSwiftUsername, c.StorageSwiftPassword = url, "u", "pw"
		set(&c)
		c.StorageS3Region, c.StorageS3Bucket, c.StorageS3StorageClass = "us-east-1", "b", "bogus"
		if got := c.Validate(); len(got) != 0 {
			t.Errorf("%s: got problems %v", url, got)
		}
		if !c.UsesSwift() || c.UsesS3() || !c.SharedStorage() {
			t.Errorf("%s: UsesSwift %v UsesS3 %v SharedStorage %v", url, c.UsesSwift(), c.UsesS3(), c.SharedStorage())
		}
	}
}

func TestValidateIgnoresInertOptions(t *testing.T) {
	c := defaults()
	c.DebugPort = 0 // prometheus-metrics is off: nothing listens there
	c.StorageS3ChunkSize = 1
	c.StorageS3StorageClass = "bogus" // S3 is not in use
	c.StorageSwiftContainer = "a/b"   // nor is Swift
	c.TLSClientAuth = ""              // unset means the reference's "require"
	if got := c.Validate(); len(got) != 0 {
		t.Fatalf("got problems %v", got)
	}
}

func TestValidateNeverQuotesSecrets(t *testing.T) {
	secrets := []string{"pässwörd-with-secret", "AKIA-SECRET-ID", "S3-SECRET-KEY", "cache-secret-pw", "proxy-secret-pw"}
	c := defaults()
	c.AuthBasicUser = ""
	c.AuthBasicPassword = secrets[0] + strings.Repeat("!", 80)
	c.StorageS3Region, c.StorageS3Bucket = "us-east-1", "b"
	c.StorageS3AccessKey = secrets[1]
	c.StorageS3RegionEndpoint = "https://x:" + secrets[2] + "@s3.example.com"
	c.CachePassword = secrets[3]
	c.RegistryHTTPProxy = "ftp://u:" + secrets[4] + "@proxy"
	c.TLSKeyBlob = b64([]byte("-----BEGIN PRIVATE KEY-----\nU0VDUkVULUtFWQ==\n-----END PRIVATE KEY-----\n"))
	secrets = append(secrets, "U0VDUkVULUtFWQ", c.TLSKeyBlob)
	got := c.Validate()
	if len(got) < 6 {
		t.Fatalf("expected many problems, got %v", got)
	}
	for _, p := range got {
		for _, s := range secrets {
			if strings.Contains(p.String(), s) {
				t.Errorf("problem %q quotes a secret", p.Option)
			}
		}
	}
}

// TestValidateSwiftNeverQuotesPassword: the password in its option and
// in a URL that should not carry it appears in no problem.
func TestValidateSwiftNeverQuotesPassword(t *testing.T) {
	const secret = "swift-Secret-pw-7781"
	c := defaults()
	c.StorageSwiftAuthURL = "https://registry:" + secret + "@keystone.example.com/v3"
	c.StorageSwiftPassword = secret
	c.StorageSwiftContainer = "a/b"
	got := c.Validate()
	if len(got) < 3 {
		t.Fatalf("expected problems with authurl, tenant, domain, container; got %v", got)
	}
	for _, p := range got {
		if strings.Contains(p.String(), secret) {
			t.Errorf("problem %q quotes the password", p.Option)
		}
	}
}

func TestValidateSortsByOption(t *testing.T) {
	c := defaults()
	c.StorageCache = "x"
	c.RegistryPort = 0
	c.LogLevel = "x"
	c.AuthBasicUser = "a:b"
	var options []string
	for _, p := range c.Validate() {
		options = append(options, p.Option)
	}
	want := []string{"auth-basic-user", "log-level", "registry-port", "storage-cache"}
	if !reflect.DeepEqual(options, want) {
		t.Fatalf("got %v, want %v", options, want)
	}
}

func TestFormatProblems(t *testing.T) {
	p := func(options ...string) []Problem {
		var ps []Problem
		for _, o := range options {
			ps = append(ps, Problem{Option: o, Message: "m"})
		}
		return ps
	}
	tests := []struct {
		in   []Problem
		want string
	}{
		{nil, ""},
		{p("storage-cache"), "Invalid charm config: storage-cache (see juju debug-log)"},
		{p("storage-cache", "registry-port", "registry-port"), "Invalid charm config: registry-port, storage-cache (see juju debug-log)"},
		{p("f", "e", "d", "c", "b", "a"), "Invalid charm config: a, b, c, d, 2 more (see juju debug-log)"},
	}
	for _, tt := range tests {
		if got := FormatProblems(tt.in); got != tt.want {
			t.Errorf("FormatProblems(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestProblemString(t *testing.T) {
	got := Problem{"registry-port", "must be between 1 and 65535 (got 70000)"}.String()
	if got != "registry-port: must be between 1 and 65535 (got 70000)" {
		t.Fatal(got)
	}
}

func TestValidateTokenNeedsAllFour(t *testing.T) {
	c := defaults()
	c.AuthTokenIssuer = "issuer"
	var options []string
	for _, p := range c.Validate() {
		options = append(options, p.Option)
	}
	want := []string{"auth-token-realm", "auth-token-root-certs", "auth-token-service"}
	if !reflect.DeepEqual(options, want) {
		t.Fatalf("got %v, want %v", options, want)
	}
}
