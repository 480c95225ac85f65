package registryconf

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/storage/swift"
)

// TLSPaths names the files the registry serves TLS from. CA, when set,
// verifies client certificates as tls-client-auth says.
type TLSPaths struct {
	Cert string
	Key  string
	CA   string
}

// RenderInput is everything the registry configuration depends on besides
// the charm config: values from leader data, the unit's files, and modes
// the charm forces (read-only during garbage collection).
type RenderInput struct {
	Config     config.Config
	AppName    string // htpasswd realm, as in the reference charm
	HTTPSecret string // shared by all units (leader data)
	TLS        *TLSPaths
	DataDir    string // filesystem storage root (/srv/registry)

	HtpasswdPath            string
	TokenRootCertBundlePath string

	ReadOnly   bool   // forced read-only, on top of storage-read-only
	ListenAddr string // "" means ":<registry-port>"
	DebugAddr  string // "" means ":<debug-port>"; used with prometheus-metrics
	// LocalMetrics serves /metrics on 127.0.0.1:<debug-port> when
	// prometheus-metrics is off: a cos-agent collector on the unit scrapes
	// it, and nothing off the machine can.
	LocalMetrics bool
	// RedisCAPath is where redis-tls-ca was written, if set.
	RedisCAPath string
}

// Fixed values of the rendered configuration; the reference charm's where it
// had one.
const (
	// drainTimeout lets in-flight requests finish on stop without holding
	// a restart back for long.
	drainTimeout           = 20 * time.Second
	healthInterval         = 10 * time.Second
	healthThreshold        = 3
	metricsPath            = "/metrics"
	blobDescriptorInMemory = "inmemory"
	// Catalog and tag page sizes: distribution's defaults, written out so
	// that parsing the rendered file yields exactly the rendered value.
	maxEntries = 1000
	maxTags    = 1000
)

// manifestURLsAllow lets manifests reference layers by http(s) URL
// (non-distributable layers, e.g. Windows base images). distribution
// rejects any manifest carrying URLs unless a pattern allows them; the OCI
// conformance suite pushes such a manifest.
var manifestURLsAllow = []string{"^https?://"}

// Render builds the registry configuration for in. It assumes in.Config
// passed Validate and reports only what validation cannot know (missing
// paths, conflicting auth).
func Render(in RenderInput) (*configuration.Configuration, error) {
	auth, err := renderAuth(in)
	if err != nil {
		return nil, err
	}
	storage, err := renderStorage(in)
	if err != nil {
		return nil, err
	}
	return &configuration.Configuration{
		Version: configuration.MajorMinorVersion(0, 1),
		Log:     renderLog(in.Config),
		Storage: storage,
		Auth:    auth,
		HTTP:    renderHTTP(in),
		Health: configuration.Health{StorageDriver: configuration.StorageDriver{
			Enabled: true, Interval: healthInterval, Threshold: healthThreshold,
		}},
		Catalog:    configuration.Catalog{MaxEntries: maxEntries},
		Tags:       configuration.Tags{MaxTags: maxTags},
		Proxy:      renderProxy(in.Config),
		Redis:      renderRedis(in),
		Validation: renderValidation(),
	}, nil
}

// fileHeader tells whoever opens the file on the unit where it comes from.
const fileHeader = "# Written by the docker-registry charm from its config; local edits are overwritten.\n"

// Marshal encodes cfg as the registry's config.yml. The bytes depend only on
// cfg (yaml.v3 sorts map keys), so the charm can compare them with the file
// on disk and rewrite or reload only on change. The result is checked with
// distribution's own parser.
func Marshal(cfg *configuration.Configuration) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return nil, fmt.Errorf("cannot marshal registry config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("cannot marshal registry config: %w", err)
	}
	if _, err := configuration.Parse(bytes.NewReader(buf.Bytes())); err != nil {
		return nil, fmt.Errorf("cannot marshal registry config: distribution refuses it: %w", err)
	}
	return buf.Bytes(), nil
}

func renderLog(c config.Config) configuration.Log {
	return configuration.Log{
		// Charm levels are distribution's levels; distribution wants them
		// lower-case.
		Level:     configuration.Loglevel(strings.ToLower(c.LogLevel)),
		Formatter: "json",
		Fields:    map[string]any{"service": "registry"},
	}
}

func renderHTTP(in RenderInput) configuration.HTTP {
	h := configuration.HTTP{
		Addr:         orDefault(in.ListenAddr, fmt.Sprintf(":%d", in.Config.RegistryPort)),
		Host:         in.Config.HTTPHost,
		Secret:       in.HTTPSecret,
		RelativeURLs: true,
		DrainTimeout: drainTimeout,
		Headers:      http.Header{"X-Content-Type-Options": {"nosniff"}},
		TLS:          renderTLS(in.TLS, in.Config.TLSClientAuth),
	}
	switch {
	case in.Config.PrometheusMetrics:
		h.Debug = configuration.Debug{
			Addr:       orDefault(in.DebugAddr, fmt.Sprintf(":%d", in.Config.DebugPort)),
			Prometheus: configuration.Prometheus{Enabled: true, Path: metricsPath},
		}
	case in.LocalMetrics:
		h.Debug = configuration.Debug{
			Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(in.Config.DebugPort)),
			Prometheus: configuration.Prometheus{Enabled: true, Path: metricsPath},
		}
	}
	return h
}

// renderTLS maps tls-client-auth onto distribution's client-certificate
// modes. Unset means "require": the reference set the CA as clientcas,
// which distribution enforces as require-and-verify.
func renderTLS(p *TLSPaths, clientAuth string) configuration.TLS {
	if p == nil {
		return configuration.TLS{}
	}
	t := configuration.TLS{Certificate: p.Cert, Key: p.Key}
	if p.CA == "" || clientAuth == config.ClientAuthNone {
		return t
	}
	t.ClientCAs = []string{p.CA}
	t.ClientAuth = configuration.ClientAuthRequireAndVerifyClientCert
	if clientAuth == config.ClientAuthVerifyIfGiven {
		t.ClientAuth = configuration.ClientAuthVerifyClientCertIfGiven
	}
	return t
}

// htpasswdAuth is the access controller for basic auth: ours
// (internal/registry/auth/charmhtpasswd), which verifies each credential
// with bcrypt once and never creates a missing file. The registry binary
// links it; distribution's "htpasswd" it does not.
const htpasswdAuth = "charm-htpasswd"

// renderAuth picks the access controller. distribution accepts only one;
// validation blocks on both, and Render refuses rather than pick silently.
func renderAuth(in RenderInput) (configuration.Auth, error) {
	c := in.Config
	token := c.TokenAuthComplete()
	switch {
	case c.BasicAuth() && token:
		return nil, errors.New("cannot render registry config: basic and token authentication are both configured")
	case c.BasicAuth():
		if in.AppName == "" || in.HtpasswdPath == "" {
			return nil, errors.New("cannot render registry config: basic auth needs the application name and the htpasswd path")
		}
		return configuration.Auth{htpasswdAuth: {"realm": in.AppName, "path": in.HtpasswdPath}}, nil
	case token:
		if in.TokenRootCertBundlePath == "" {
			return nil, errors.New("cannot render registry config: token auth needs the root certificate bundle path")
		}
		return configuration.Auth{"token": {
			"realm":          c.AuthTokenRealm,
			"service":        c.AuthTokenService,
			"issuer":         c.AuthTokenIssuer,
			"rootcertbundle": in.TokenRootCertBundlePath,
		}}, nil
	}
	return nil, nil
}

func renderProxy(c config.Config) configuration.Proxy {
	if c.CacheRemoteURL == "" {
		return configuration.Proxy{}
	}
	return configuration.Proxy{
		RemoteURL: c.CacheRemoteURL,
		Username:  c.CacheUsername,
		Password:  c.CachePassword,
	}
}

func renderValidation() configuration.Validation {
	allow := append([]string(nil), manifestURLsAllow...)
	return configuration.Validation{Manifests: configuration.ValidationManifests{
		URLs: configuration.URLs{Allow: allow},
	}}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Upload purging: distribution's defaults (abandoned uploads older than a
// week, checked daily), written out so the section is explicit.
const (
	uploadPurgeAge      = "168h"
	uploadPurgeInterval = "24h"
)

// renderStorage builds the storage section. Nested sections are
// map[any]any, the type distribution's yaml parser produces and
// handlers.NewApp type-asserts, so the rendered value can also be served
// without a trip through the file.
// ObjectStorage is the storage section the options name when they name
// object storage (S3, Swift), as Render writes it; nil for the unit's
// filesystem. The charm asks that storage before moving onto it.
func ObjectStorage(c config.Config) configuration.Storage {
	if !c.SharedStorage() {
		return nil
	}
	s, err := renderStorage(RenderInput{Config: c})
	if err != nil {
		return nil
	}
	return s
}

func renderStorage(in RenderInput) (configuration.Storage, error) {
	c := in.Config
	s := configuration.Storage{
		"delete": {"enabled": c.StorageDelete},
		"maintenance": {
			"uploadpurging": map[any]any{"enabled": true, "age": uploadPurgeAge,
				"interval": uploadPurgeInterval, "dryrun": false},
			"readonly": map[any]any{"enabled": c.StorageReadOnly || in.ReadOnly},
		},
	}
	if c.StorageCache != "disabled" {
		s["cache"] = configuration.Parameters{"blobdescriptor": blobDescriptorCache(c)}
	}
	switch {
	case c.UsesS3():
		s["s3"] = s3Parameters(c)
		s["redirect"] = configuration.Parameters{"disable": c.StorageRedirectDisable}
	case c.UsesSwift():
		s["swift"] = swiftParameters(c)
		// The swift driver never redirects (Swift's temporary URLs
		// need a key no option provides): storage-redirect-disable is
		// inert here, and saying so spares a call per blob request.
		s["redirect"] = configuration.Parameters{"disable": true}
	case in.DataDir == "":
		return nil, errors.New("cannot render registry config: no data directory for filesystem storage")
	default:
		s["filesystem"] = configuration.Parameters{"rootdirectory": in.DataDir}
		// The filesystem driver cannot redirect; saying so keeps the
		// registry from asking it on every blob request.
		s["redirect"] = configuration.Parameters{"disable": true}
	}
	return s, nil
}

// s3Parameters maps every storage-s3-* option onto the s3-aws driver's
// parameter names (registry/storage/driver/s3-aws FromParameters).
// Optional strings are left out when unset so the driver's defaults apply.
func s3Parameters(c config.Config) configuration.Parameters {
	p := configuration.Parameters{
		"region":                      c.StorageS3Region,
		"bucket":                      c.StorageS3Bucket,
		"encrypt":                     c.StorageS3Encrypt,
		"secure":                      c.StorageS3Secure,
		"skipverify":                  c.StorageS3SkipVerify,
		"v4auth":                      c.StorageS3SkipV4Auth, // documented as "use v4 auth"
		"forcepathstyle":              c.StorageS3ForcePathStyle,
		"usedualstack":                c.StorageS3UseDualStack,
		"accelerate":                  c.StorageS3Accelerate,
		"chunksize":                   c.StorageS3ChunkSize,
		"multipartcopychunksize":      c.StorageS3MultipartCopyChunkSize,
		"multipartcopymaxconcurrency": c.StorageS3MultipartCopyMaxConcurrency,
		"multipartcopythresholdsize":  c.StorageS3MultipartCopyThresholdSize,
		"storageclass":                strings.ToUpper(c.StorageS3StorageClass),
		"objectacl":                   c.StorageS3ObjectACL,
		"loglevel":                    strings.ToLower(c.StorageS3LogLevel),
	}
	optional := map[string]string{
		"accesskey":      c.StorageS3AccessKey,
		"secretkey":      c.StorageS3SecretKey,
		"regionendpoint": c.StorageS3RegionEndpoint,
		"rootdirectory":  c.StorageS3RootDirectory,
		"useragent":      c.StorageS3UserAgent,
	}
	if c.StorageS3Encrypt {
		optional["keyid"] = c.StorageS3KeyID
	}
	setOptional(p, optional)
	return p
}

// setOptional sets the parameters whose option is set, so that the
// driver's own defaults apply to the others.
func setOptional(p configuration.Parameters, optional map[string]string) {
	for k, v := range optional {
		if v != "" {
			p[k] = v
		}
	}
}

// swiftParameters maps the storage-swift-* options onto the swift
// driver's parameters (internal/storage/swift). The identity API version
// is passed explicitly; validation made sure the URL names it.
func swiftParameters(c config.Config) configuration.Parameters {
	p := configuration.Parameters{
		"authurl":   c.StorageSwiftAuthURL,
		"username":  c.StorageSwiftUsername,
		"password":  c.StorageSwiftPassword,
		"container": c.StorageSwiftContainer,
	}
	if v, err := swift.AuthVersion(c.StorageSwiftAuthURL); err == nil {
		p["authversion"] = v
	}
	setOptional(p, map[string]string{
		"region": c.StorageSwiftRegion,
		"tenant": c.StorageSwiftTenant,
		"domain": c.StorageSwiftDomain,
	})
	return p
}
