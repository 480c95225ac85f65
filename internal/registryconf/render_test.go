package registryconf

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/auth"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/ncw/swift/v2/swifttest"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/htpasswd"
	"github.com/canonical/docker-registry-charm/internal/registry/auth/charmhtpasswd"
	"github.com/canonical/docker-registry-charm/internal/testing/charmconfig"
)

// baseInput is a production-like input: defaults, filesystem storage.
func baseInput(t *testing.T) RenderInput {
	return RenderInput{
		Config:                  charmconfig.Defaults(t),
		AppName:                 "docker-registry",
		HTTPSecret:              "http-secret-value",
		DataDir:                 "/srv/registry",
		HtpasswdPath:            "/etc/docker/registry/htpasswd",
		TokenRootCertBundlePath: "/etc/docker/registry/auth_token.pem",
	}
}

// roundTrip renders in, writes the file, and parses it back with
// distribution's own parser: tests assert on what the registry will read.
func roundTrip(t *testing.T, in RenderInput) (rendered, parsed *configuration.Configuration) {
	t.Helper()
	rendered, err := Render(in)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	data, err := Marshal(rendered)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parsed, err = configuration.Parse(f)
	if err != nil {
		t.Fatalf("configuration.Parse refuses our file: %v", err)
	}
	return rendered, parsed
}

func TestRenderDefaults(t *testing.T) {
	_, got := roundTrip(t, baseInput(t))
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", got.Version, configuration.Version("0.1")},
		{"http.addr", got.HTTP.Addr, ":5000"},
		{"http.host", got.HTTP.Host, ""},
		{"http.secret", got.HTTP.Secret, "http-secret-value"},
		{"http.relativeurls", got.HTTP.RelativeURLs, true},
		{"http.draintimeout", got.HTTP.DrainTimeout, 20 * time.Second},
		{"http.headers", got.HTTP.Headers, http.Header{"X-Content-Type-Options": {"nosniff"}}},
		{"http.tls", got.HTTP.TLS, configuration.TLS{}},
		{"http.debug", got.HTTP.Debug, configuration.Debug{}},
		{"log.level", got.Log.Level, configuration.Loglevel("info")},
		{"log.formatter", got.Log.Formatter, "json"},
		{"log.fields", got.Log.Fields, map[string]any{"service": "registry"}},
		{"health", got.Health.StorageDriver, configuration.StorageDriver{Enabled: true, Interval: 10 * time.Second, Threshold: 3}},
		{"proxy", got.Proxy, configuration.Proxy{}},
		{"auth", got.Auth.Type(), ""},
		{"storage type", got.Storage.Type(), "filesystem"},
		{"filesystem", got.Storage["filesystem"], configuration.Parameters{"rootdirectory": "/srv/registry"}},
		{"delete", got.Storage["delete"], configuration.Parameters{"enabled": false}},
		{"readonly", got.Storage["maintenance"]["readonly"], map[any]any{"enabled": false}},
		{"uploadpurging", got.Storage["maintenance"]["uploadpurging"], map[any]any{"enabled": true, "age": "168h", "interval": "24h", "dryrun": false}},
		{"cache", got.Storage["cache"], configuration.Parameters{"blobdescriptor": "inmemory"}},
		{"redirect", got.Storage["redirect"], configuration.Parameters{"disable": true}},
		{"validation", got.Validation.Manifests.URLs.Allow, []string{"^https?://"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestRenderOptions walks each option from its default to another value
// and checks what the registry reads back.
func TestRenderOptions(t *testing.T) {
	s3 := func(in *RenderInput) {
		in.Config.StorageS3Region, in.Config.StorageS3Bucket = "us-east-1", "registry"
	}
	tests := []struct {
		name   string
		change func(*RenderInput)
		check  func(*configuration.Configuration) (got, want any)
	}{
		{"registry-port", func(in *RenderInput) { in.Config.RegistryPort = 5443 },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Addr, ":5443" }},
		{"ListenAddr wins", func(in *RenderInput) { in.ListenAddr = "127.0.0.1:5000" },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Addr, "127.0.0.1:5000" }},
		{"http-host", func(in *RenderInput) { in.Config.HTTPHost = "https://registry.example.com/" },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Host, "https://registry.example.com/" }},
		{"prometheus-metrics", func(in *RenderInput) { in.Config.PrometheusMetrics = true },
			func(c *configuration.Configuration) (any, any) {
				return c.HTTP.Debug, configuration.Debug{Addr: ":5001", Prometheus: configuration.Prometheus{Enabled: true, Path: "/metrics"}}
			}},
		{"debug-port", func(in *RenderInput) { in.Config.PrometheusMetrics, in.Config.DebugPort = true, 6001 },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Debug.Addr, ":6001" }},
		{"debug-port with DebugAddr", func(in *RenderInput) { in.Config.PrometheusMetrics, in.DebugAddr = true, "127.0.0.1:6001" },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Debug.Addr, "127.0.0.1:6001" }},
		{"LocalMetrics binds loopback only", func(in *RenderInput) { in.LocalMetrics, in.Config.DebugPort = true, 6001 },
			func(c *configuration.Configuration) (any, any) {
				return c.HTTP.Debug, configuration.Debug{Addr: "127.0.0.1:6001", Prometheus: configuration.Prometheus{Enabled: true, Path: "/metrics"}}
			}},
		{"prometheus-metrics wins over LocalMetrics", func(in *RenderInput) { in.LocalMetrics, in.Config.PrometheusMetrics = true, true },
			func(c *configuration.Configuration) (any, any) { return c.HTTP.Debug.Addr, ":5001" }},
		{"log-level", func(in *RenderInput) { in.Config.LogLevel = "DEBUG" },
			func(c *configuration.Configuration) (any, any) { return c.Log.Level, configuration.Loglevel("debug") }},
		{"tls without CA", func(in *RenderInput) { in.TLS = &TLSPaths{Cert: "/c.crt", Key: "/c.key"} },
			func(c *configuration.Configuration) (any, any) {
				return c.HTTP.TLS, configuration.TLS{Certificate: "/c.crt", Key: "/c.key"}
			}},
		{"tls-client-auth require", func(in *RenderInput) { in.TLS = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"} },
			func(c *configuration.Configuration) (any, any) {
				return c.HTTP.TLS, configuration.TLS{Certificate: "/c.crt", Key: "/c.key", ClientCAs: []string{"/ca.crt"}, ClientAuth: "require-and-verify-client-cert"}
			}},
		{"tls-client-auth unset", func(in *RenderInput) {
			in.TLS, in.Config.TLSClientAuth = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"}, ""
		}, func(c *configuration.Configuration) (any, any) {
			return c.HTTP.TLS.ClientAuth, configuration.ClientAuth("require-and-verify-client-cert")
		}},
		{"tls-client-auth verify-if-given", func(in *RenderInput) {
			in.TLS, in.Config.TLSClientAuth = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"}, "verify-if-given"
		}, func(c *configuration.Configuration) (any, any) {
			return c.HTTP.TLS, configuration.TLS{Certificate: "/c.crt", Key: "/c.key", ClientCAs: []string{"/ca.crt"}, ClientAuth: "verify-client-cert-if-given"}
		}},
		{"tls-client-auth none", func(in *RenderInput) {
			in.TLS, in.Config.TLSClientAuth = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"}, "none"
		}, func(c *configuration.Configuration) (any, any) {
			return c.HTTP.TLS, configuration.TLS{Certificate: "/c.crt", Key: "/c.key"}
		}},
		{"cache-remoteurl", func(in *RenderInput) {
			in.Config.CacheRemoteURL, in.Config.CacheUsername, in.Config.CachePassword = "https://registry-1.docker.io", "u", "p"
		}, func(c *configuration.Configuration) (any, any) {
			return c.Proxy, configuration.Proxy{RemoteURL: "https://registry-1.docker.io", Username: "u", Password: "p"}
		}},
		{"auth-basic", func(in *RenderInput) { in.Config.AuthBasicPassword = "pw" },
			func(c *configuration.Configuration) (any, any) {
				return c.Auth, configuration.Auth{"charm-htpasswd": {"realm": "docker-registry", "path": "/etc/docker/registry/htpasswd"}}
			}},
		{"auth-basic user only", func(in *RenderInput) { in.Config.AuthBasicUser = "admin" },
			func(c *configuration.Configuration) (any, any) { return c.Auth.Type(), "" }},
		{"auth-token", func(in *RenderInput) {
			in.Config.AuthTokenIssuer, in.Config.AuthTokenRealm = "issuer", "https://auth.example.com/token"
			in.Config.AuthTokenService, in.Config.AuthTokenRootCerts = "registry", "Y2VydHM="
		}, func(c *configuration.Configuration) (any, any) {
			return c.Auth, configuration.Auth{"token": {"realm": "https://auth.example.com/token", "service": "registry",
				"issuer": "issuer", "rootcertbundle": "/etc/docker/registry/auth_token.pem"}}
		}},
		{"auth-token partial", func(in *RenderInput) { in.Config.AuthTokenIssuer = "issuer" },
			func(c *configuration.Configuration) (any, any) { return c.Auth.Type(), "" }},
		{"storage-delete", func(in *RenderInput) { in.Config.StorageDelete = true },
			func(c *configuration.Configuration) (any, any) { return c.Storage["delete"]["enabled"], true }},
		{"storage-read-only", func(in *RenderInput) { in.Config.StorageReadOnly = true },
			func(c *configuration.Configuration) (any, any) {
				return c.Storage["maintenance"]["readonly"], map[any]any{"enabled": true}
			}},
		{"forced read-only", func(in *RenderInput) { in.ReadOnly = true },
			func(c *configuration.Configuration) (any, any) {
				return c.Storage["maintenance"]["readonly"], map[any]any{"enabled": true}
			}},
		{"storage-cache disabled", func(in *RenderInput) { in.Config.StorageCache = "disabled" },
			func(c *configuration.Configuration) (any, any) { _, ok := c.Storage["cache"]; return ok, false }},
		{"storage-redirect-disable ignored on filesystem", func(in *RenderInput) { in.Config.StorageRedirectDisable = false },
			func(c *configuration.Configuration) (any, any) { return c.Storage["redirect"]["disable"], true }},
		{"s3 defaults", s3, func(c *configuration.Configuration) (any, any) {
			return c.Storage["s3"], configuration.Parameters{
				"region": "us-east-1", "bucket": "registry", "encrypt": false, "secure": true,
				"skipverify": false, "v4auth": true, "forcepathstyle": false, "usedualstack": false,
				"accelerate": false, "chunksize": 10485760, "multipartcopychunksize": 33554432,
				"multipartcopymaxconcurrency": 100, "multipartcopythresholdsize": 33554432,
				"storageclass": "STANDARD", "objectacl": "private", "loglevel": "off",
			}
		}},
		{"s3 replaces filesystem", s3, func(c *configuration.Configuration) (any, any) { return c.Storage.Type(), "s3" }},
		{"s3 redirect follows storage-redirect-disable", func(in *RenderInput) { s3(in); in.Config.StorageRedirectDisable = false },
			func(c *configuration.Configuration) (any, any) { return c.Storage["redirect"]["disable"], false }},
		{"s3 every option", func(in *RenderInput) {
			s3(in)
			c := &in.Config
			c.StorageS3AccessKey, c.StorageS3SecretKey = "AK", "SK"
			c.StorageS3RegionEndpoint, c.StorageS3RootDirectory = "http://127.0.0.1:8333", "/registry"
			c.StorageS3UserAgent, c.StorageS3KeyID, c.StorageS3Encrypt = "charm", "kms", true
			c.StorageS3ForcePathStyle, c.StorageS3Secure, c.StorageS3SkipVerify = true, false, true
			c.StorageS3SkipV4Auth, c.StorageS3UseDualStack, c.StorageS3Accelerate = false, true, true
			c.StorageS3ChunkSize, c.StorageS3MultipartCopyChunkSize = 6<<20, 7<<20
			c.StorageS3MultipartCopyMaxConcurrency, c.StorageS3MultipartCopyThresholdSize = 3, 0
			c.StorageS3StorageClass, c.StorageS3ObjectACL, c.StorageS3LogLevel = "standard_ia", "bucket-owner-read", "Debug"
		}, func(c *configuration.Configuration) (any, any) {
			return c.Storage["s3"], configuration.Parameters{
				"region": "us-east-1", "bucket": "registry", "accesskey": "AK", "secretkey": "SK",
				"regionendpoint": "http://127.0.0.1:8333", "rootdirectory": "/registry", "useragent": "charm",
				"keyid": "kms", "encrypt": true, "secure": false, "skipverify": true, "v4auth": false,
				"forcepathstyle": true, "usedualstack": true, "accelerate": true, "chunksize": 6 << 20,
				"multipartcopychunksize": 7 << 20, "multipartcopymaxconcurrency": 3,
				"multipartcopythresholdsize": 0, "storageclass": "STANDARD_IA",
				"objectacl": "bucket-owner-read", "loglevel": "debug",
			}
		}},
		{"swift keystone v3", swiftV3, func(c *configuration.Configuration) (any, any) {
			return c.Storage["swift"], configuration.Parameters{
				"authurl": "https://keystone.example.com:5000/v3", "authversion": 3,
				"username": "registry", "password": "pw", "tenant": "services", "domain": "Default",
				"region": "RegionOne", "container": "docker-registry",
			}
		}},
		{"swift v1 leaves unset options out", func(in *RenderInput) {
			in.Config.StorageSwiftAuthURL = "http://swift.example.com:8080/auth/v1.0"
			in.Config.StorageSwiftUsername, in.Config.StorageSwiftPassword = "u", "pw"
		}, func(c *configuration.Configuration) (any, any) {
			return c.Storage["swift"], configuration.Parameters{
				"authurl": "http://swift.example.com:8080/auth/v1.0", "authversion": 1,
				"username": "u", "password": "pw", "container": "docker-registry",
			}
		}},
		{"swift wins over s3, as in the reference", func(in *RenderInput) { s3(in); swiftV3(in) },
			func(c *configuration.Configuration) (any, any) { return c.Storage.Type(), "swift" }},
		{"swift never redirects", func(in *RenderInput) { swiftV3(in); in.Config.StorageRedirectDisable = false },
			func(c *configuration.Configuration) (any, any) { return c.Storage["redirect"]["disable"], true }},
		{"s3 keyid only with encrypt", func(in *RenderInput) { s3(in); in.Config.StorageS3KeyID = "kms" },
			func(c *configuration.Configuration) (any, any) { _, ok := c.Storage["s3"]["keyid"]; return ok, false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput(t)
			tt.change(&in)
			_, parsed := roundTrip(t, in)
			if got, want := tt.check(parsed); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

// TestRenderRoundTripIsExact: what we render is exactly what the registry
// reads, so the in-memory value and the file never disagree.
func TestRenderRoundTripIsExact(t *testing.T) {
	full := baseInput(t)
	full.Config.AuthBasicPassword = "pw"
	full.Config.PrometheusMetrics = true
	full.Config.CacheRemoteURL = "https://registry-1.docker.io"
	full.TLS = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"}
	s3 := baseInput(t)
	s3.Config.StorageS3Region, s3.Config.StorageS3Bucket = "us-east-1", "registry"
	s3.Config.StorageCache = "disabled"
	for name, in := range map[string]RenderInput{"defaults": baseInput(t), "full": full, "s3": s3} {
		rendered, parsed := roundTrip(t, in)
		if !reflect.DeepEqual(rendered, parsed) {
			t.Errorf("%s: parsed differs from rendered\nrendered %#v\nparsed   %#v", name, rendered, parsed)
		}
	}
}

func TestMarshalIsDeterministic(t *testing.T) {
	in := baseInput(t)
	in.Config.StorageS3Region, in.Config.StorageS3Bucket = "us-east-1", "registry"
	in.Config.AuthBasicPassword = "pw"
	var first []byte
	for i := 0; i < 20; i++ {
		cfg, err := Render(in)
		if err != nil {
			t.Fatal(err)
		}
		data, err := Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Fatalf("marshal %d differs:\n%s\n---\n%s", i, first, data)
		}
	}
	if !bytes.HasPrefix(first, []byte("# Written by the docker-registry charm")) {
		t.Errorf("missing header:\n%s", first)
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := map[string]func(*RenderInput){
		"basic and token": func(in *RenderInput) {
			in.Config.AuthBasicPassword = "pw"
			in.Config.AuthTokenIssuer, in.Config.AuthTokenRealm = "i", "https://auth/"
			in.Config.AuthTokenService, in.Config.AuthTokenRootCerts = "s", "Y2VydHM="
		},
		"basic without htpasswd path": func(in *RenderInput) { in.Config.AuthBasicPassword, in.HtpasswdPath = "pw", "" },
		"basic without realm":         func(in *RenderInput) { in.Config.AuthBasicPassword, in.AppName = "pw", "" },
		"token without bundle path": func(in *RenderInput) {
			in.Config.AuthTokenIssuer, in.Config.AuthTokenRealm = "i", "https://auth/"
			in.Config.AuthTokenService, in.Config.AuthTokenRootCerts = "s", "Y2VydHM="
			in.TokenRootCertBundlePath = ""
		},
		"filesystem without data dir": func(in *RenderInput) { in.DataDir = "" },
	}
	for name, change := range tests {
		in := baseInput(t)
		change(&in)
		_, err := Render(in)
		if err == nil || !strings.HasPrefix(err.Error(), "cannot render registry config: ") {
			t.Errorf("%s: got error %v", name, err)
		}
	}
}

// The name basic auth renders is the one the registry's own controller
// registers (the service side; this package does not import it).
func TestHtpasswdAuthIsTheCharmController(t *testing.T) {
	if htpasswdAuth != charmhtpasswd.Name {
		t.Errorf("config.yml names access controller %q, the registry registers %q", htpasswdAuth, charmhtpasswd.Name)
	}
}

// TestRenderedConfigRuns hands the parsed file to distribution itself: the
// app, the s3 driver and the token access controller accept what we write.
func TestRenderedConfigRuns(t *testing.T) {
	in := baseInput(t)
	in.DataDir = t.TempDir()
	in.HtpasswdPath = filepath.Join(t.TempDir(), "htpasswd")
	in.Config.AuthBasicPassword = "pw"
	entry, err := htpasswd.OneUser("admin", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.HtpasswdPath, entry, 0o600); err != nil {
		t.Fatal(err)
	}
	rendered, parsed := roundTrip(t, in)
	for name, cfg := range map[string]*configuration.Configuration{"rendered": rendered, "parsed": parsed} {
		app := handlers.NewApp(context.Background(), cfg)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v2/", nil)
		req.SetBasicAuth("admin", "pw")
		app.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: GET /v2/ = %d: %s", name, rec.Code, rec.Body)
		}
		_ = app.Shutdown()
	}
}

func TestRenderedS3ParametersAcceptedByDriver(t *testing.T) {
	in := baseInput(t)
	c := &in.Config
	c.StorageS3Region, c.StorageS3Bucket = "us-east-1", "registry"
	c.StorageS3RegionEndpoint, c.StorageS3ForcePathStyle, c.StorageS3Secure = "http://127.0.0.1:1", true, false
	c.StorageS3AccessKey, c.StorageS3SecretKey = "AK", "SK"
	c.StorageS3SkipV4Auth = false // v2 signing: allowed off AWS
	c.StorageS3StorageClass, c.StorageS3LogLevel = "reduced_redundancy", "debug"
	_, parsed := roundTrip(t, in)
	if _, err := factory.Create(context.Background(), parsed.Storage.Type(), parsed.Storage.Parameters()); err != nil {
		t.Fatalf("s3 driver refuses our parameters: %v", err)
	}
}

// swiftV3 sets a complete Keystone v3 Swift configuration.
func swiftV3(in *RenderInput) {
	c := &in.Config
	c.StorageSwiftAuthURL = "https://keystone.example.com:5000/v3"
	c.StorageSwiftUsername, c.StorageSwiftPassword = "registry", "pw"
	c.StorageSwiftTenant, c.StorageSwiftDomain, c.StorageSwiftRegion = "services", "Default", "RegionOne"
}

// TestRenderedSwiftParametersServe: the swift section as the registry
// reads it back from the file builds a working driver against swifttest
// (its own v1 auth), with a container name YAML would otherwise mangle.
func TestRenderedSwiftParametersServe(t *testing.T) {
	srv, err := swifttest.NewSwiftServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in := baseInput(t)
	c := &in.Config
	c.StorageSwiftAuthURL, c.StorageSwiftUsername, c.StorageSwiftPassword = srv.AuthURL, "swifttest", "swifttest"
	c.StorageSwiftContainer = "yes"
	_, parsed := roundTrip(t, in)
	ctx := context.Background()
	d, err := factory.Create(ctx, parsed.Storage.Type(), parsed.Storage.Parameters())
	if err != nil {
		t.Fatalf("swift driver refuses our parameters: %v", err)
	}
	if err := d.PutContent(ctx, "/probe", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := CheckStorage(ctx, parsed); err != nil {
		t.Fatalf("CheckStorage: %v", err)
	}
}

func TestRenderedTokenAuthAcceptedByController(t *testing.T) {
	ca := newCA(t)
	bundle := filepath.Join(t.TempDir(), "auth_token.pem")
	in := baseInput(t)
	in.TokenRootCertBundlePath = bundle
	c := &in.Config
	c.AuthTokenIssuer, c.AuthTokenRealm = "issuer", "https://auth.example.com/token"
	c.AuthTokenService, c.AuthTokenRootCerts = "registry", blob64(ca.certPEM)
	pemBytes, err := TokenRootCertBundle(*c)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundle, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	_, parsed := roundTrip(t, in)
	if _, err := auth.GetAccessController(parsed.Auth.Type(), parsed.Auth.Parameters()); err != nil {
		t.Fatalf("token access controller refuses our config: %v", err)
	}
}

// notRendered lists the options that cannot change config.yml, and why.
// Every other option must.
var notRendered = map[string]string{
	"auth-basic-password":   "hashed into the htpasswd file (htpasswd.OneUser)",
	"auth-token-root-certs": "decoded into the bundle file (TokenRootCertBundle)",
	"registry-http-proxy":   "process environment of the service",
	"registry-https-proxy":  "process environment of the service",
	"registry-image":        "no container: the charm binary is the registry",
	"registry-name":         "names the service, not the registry config",
	"service-memory-max":    "the service unit's MemoryMax= (service.ServiceFile)",
	"service-tasks-max":     "the service unit's TasksMax= (service.ServiceFile)",
	"tls-ca-blob":           "written to the file named by TLSPaths",
	"redis-tls-ca":          "written to the file named by RedisCAPath",
	"tls-cert-blob":         "written to the file named by TLSPaths",
	"tls-key-blob":          "written to the file named by TLSPaths",
	"tls-ca-path":           "reaches Render through TLSPaths",
	"tls-cert-path":         "reaches Render through TLSPaths",
	"tls-key-path":          "reaches Render through TLSPaths",
	// Juju user secrets: the charm reads each with secret-get into its
	// plain option before anything renders (internal/charm/observe_secrets.go).
	"auth-basic-password-secret":    "read into auth-basic-password",
	"cache-password-secret":         "read into cache-password",
	"registry-http-proxy-secret":    "read into registry-http-proxy",
	"registry-https-proxy-secret":   "read into registry-https-proxy",
	"storage-swift-password-secret": "read into storage-swift-password",
	"storage-s3-secretkey-secret":   "read into storage-s3-secretkey",
	"tls-key-blob-secret":           "read into tls-key-blob",
}

// alternatives are valid non-default values for options with a fixed set.
var alternatives = map[string]string{
	"log-level": "debug", "storage-cache": "disabled", "tls-client-auth": "verify-if-given",
	"storage-s3-storageclass": "STANDARD_IA", "storage-s3-objectacl": "public-read",
	"storage-s3-loglevel": "debug", "redis-addresses": "10.0.0.6:6379",
}

// TestEveryOptionIsRendered changes each option in turn, in setups where it
// matters, and requires config.yml to change: an option added to
// config.Config but forgotten here or in Render fails this test.
func TestEveryOptionIsRendered(t *testing.T) {
	withToken := baseInput(t)
	c := &withToken.Config
	c.AuthTokenIssuer, c.AuthTokenRealm = "issuer", "https://auth.example.com/token"
	c.AuthTokenService, c.AuthTokenRootCerts = "registry", "Y2VydHM="
	c.StorageS3Region, c.StorageS3Bucket, c.StorageS3Encrypt = "us-east-1", "registry", true
	c.CacheRemoteURL, c.PrometheusMetrics = "https://registry-1.docker.io", true
	withToken.TLS = &TLSPaths{"/c.crt", "/c.key", "/ca.crt"}
	withBasic := baseInput(t)
	withBasic.Config.AuthBasicPassword = "pw"
	withSwift := baseInput(t)
	swiftV3(&withSwift)
	withRedis := baseInput(t)
	withRedis.Config.StorageCache, withRedis.Config.RedisAddresses = config.CacheRedis, "10.0.0.5:6379"
	bases := []RenderInput{withToken, withBasic, withSwift, withRedis}

	// Embedded option groups (config.Redis) count field by field.
	for _, field := range reflect.VisibleFields(reflect.TypeFor[config.Config]()) {
		option := strings.Split(field.Tag.Get("json"), ",")[0]
		if _, skip := notRendered[option]; skip || field.Anonymous {
			continue
		}
		changed := false
		for _, base := range bases {
			in := base
			mutate(reflect.ValueOf(&in.Config).Elem().FieldByIndex(field.Index), option)
			changed = changed || !bytes.Equal(marshalInput(t, base), marshalInput(t, in))
		}
		if !changed {
			t.Errorf("option %s does not change config.yml; render it or list it in notRendered", option)
		}
	}
}

func mutate(v reflect.Value, option string) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int:
		v.SetInt(v.Int() + 1)
	case reflect.String:
		switch alt, ok := alternatives[option]; {
		case ok:
			v.SetString(alt)
		case v.String() == "":
			v.SetString("https://set.example.com/")
		default:
			v.SetString("")
		}
	}
}

func marshalInput(t *testing.T, in RenderInput) []byte {
	t.Helper()
	cfg, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRenderQuotesAwkwardStrings: free-form values (passwords, secrets,
// user agents) come back from the file exactly, whatever YAML makes of them.
func TestRenderQuotesAwkwardStrings(t *testing.T) {
	awkward := []string{"yes", "off", "null", "~", "0x10", "1e3", "- a", "a: b", "#x", "&a", "*a", "'\"", "multi\nline", " padded ", "!!binary", "%tag", "@at", "`tick"}
	for _, s := range awkward {
		in := baseInput(t)
		in.HTTPSecret = s
		in.Config.CacheRemoteURL, in.Config.CacheUsername, in.Config.CachePassword = "https://r.example.com", s, s
		in.Config.StorageS3Region, in.Config.StorageS3Bucket = "us-east-1", "b"
		in.Config.StorageS3AccessKey, in.Config.StorageS3SecretKey, in.Config.StorageS3UserAgent = s, s, s
		rendered, parsed := roundTrip(t, in)
		if !reflect.DeepEqual(rendered, parsed) {
			t.Errorf("value %q does not survive the file", s)
		}
		swiftV3(&in)
		in.Config.StorageSwiftPassword, in.Config.StorageSwiftTenant, in.Config.StorageSwiftDomain = s, s, s
		in.Config.StorageSwiftContainer = s
		rendered, parsed = roundTrip(t, in)
		if !reflect.DeepEqual(rendered, parsed) {
			t.Errorf("swift value %q does not survive the file", s)
		}
	}
}
