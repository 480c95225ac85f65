// Package config holds the charm's typed configuration: one field per option
// of config.yaml, decoded from `config-get --all --format=json`.
//
// Option names, types and defaults are the compatibility contract with the
// reference charm: a bundle written for it must deploy this charm unchanged.
package config

import (
	"encoding/json"
	"fmt"
)

// Config mirrors config.yaml. Options without a default in config.yaml
// (registry-http(s)-proxy, most storage-s3-*) arrive as JSON null and decode
// to the zero value, which every consumer treats as "not set".
type Config struct {
	AuthBasicUser     string `json:"auth-basic-user"`
	AuthBasicPassword string `json:"auth-basic-password"`

	AuthTokenIssuer    string `json:"auth-token-issuer"`
	AuthTokenRealm     string `json:"auth-token-realm"`
	AuthTokenRootCerts string `json:"auth-token-root-certs"`
	AuthTokenService   string `json:"auth-token-service"`

	CacheRemoteURL string `json:"cache-remoteurl"`
	CacheUsername  string `json:"cache-username"`
	CachePassword  string `json:"cache-password"`

	RegistryPort       int    `json:"registry-port"`
	DebugPort          int    `json:"debug-port"`
	HTTPHost           string `json:"http-host"`
	RegistryHTTPProxy  string `json:"registry-http-proxy"`
	RegistryHTTPSProxy string `json:"registry-https-proxy"`

	LogLevel          string `json:"log-level"`
	PrometheusMetrics bool   `json:"prometheus-metrics"`
	RegistryImage     string `json:"registry-image"`
	RegistryName      string `json:"registry-name"`

	// ServiceMemoryMax and ServiceTasksMax are new in this charm: the
	// service's MemoryMax= and TasksMax=.
	ServiceMemoryMax string `json:"service-memory-max"`
	ServiceTasksMax  int    `json:"service-tasks-max"`

	StorageCache           string `json:"storage-cache"`
	StorageDelete          bool   `json:"storage-delete"`
	StorageReadOnly        bool   `json:"storage-read-only"`
	StorageRedirectDisable bool   `json:"storage-redirect-disable"`

	// Redis (redis-*) is the shared blob-descriptor cache of
	// storage-cache=redis; see redis.go.
	Redis

	StorageSwiftAuthURL   string `json:"storage-swift-authurl"`
	StorageSwiftUsername  string `json:"storage-swift-username"`
	StorageSwiftPassword  string `json:"storage-swift-password"`
	StorageSwiftRegion    string `json:"storage-swift-region"`
	StorageSwiftTenant    string `json:"storage-swift-tenant"`
	StorageSwiftDomain    string `json:"storage-swift-domain"`
	StorageSwiftContainer string `json:"storage-swift-container"`

	StorageS3AccessKey                   string `json:"storage-s3-accesskey"`
	StorageS3SecretKey                   string `json:"storage-s3-secretkey"`
	StorageS3Region                      string `json:"storage-s3-region"`
	StorageS3RegionEndpoint              string `json:"storage-s3-regionendpoint"`
	StorageS3Bucket                      string `json:"storage-s3-bucket"`
	StorageS3KeyID                       string `json:"storage-s3-keyid"`
	StorageS3RootDirectory               string `json:"storage-s3-rootdirectory"`
	StorageS3UserAgent                   string `json:"storage-s3-useragent"`
	StorageS3ForcePathStyle              bool   `json:"storage-s3-forcepathstyle"`
	StorageS3Encrypt                     bool   `json:"storage-s3-encrypt"`
	StorageS3Secure                      bool   `json:"storage-s3-secure"`
	StorageS3SkipVerify                  bool   `json:"storage-s3-skip-verify"`
	StorageS3SkipV4Auth                  bool   `json:"storage-s3-skip-v4-auth"`
	StorageS3UseDualStack                bool   `json:"storage-s3-usedualstack"`
	StorageS3Accelerate                  bool   `json:"storage-s3-accelerate"`
	StorageS3ChunkSize                   int    `json:"storage-s3-chunksize"`
	StorageS3MultipartCopyChunkSize      int    `json:"storage-s3-multipartcopychunksize"`
	StorageS3MultipartCopyMaxConcurrency int    `json:"storage-s3-multipartcopymaxconcurrency"`
	StorageS3MultipartCopyThresholdSize  int    `json:"storage-s3-multipartcopythresholdsize"`
	StorageS3StorageClass                string `json:"storage-s3-storageclass"`
	StorageS3ObjectACL                   string `json:"storage-s3-objectacl"`
	StorageS3LogLevel                    string `json:"storage-s3-loglevel"`

	TLSCABlob   string `json:"tls-ca-blob"`
	TLSCertBlob string `json:"tls-cert-blob"`
	TLSKeyBlob  string `json:"tls-key-blob"`
	TLSCAPath   string `json:"tls-ca-path"`
	TLSCertPath string `json:"tls-cert-path"`
	TLSKeyPath  string `json:"tls-key-path"`
	// TLSClientAuth is new in this charm: require | verify-if-given | none.
	TLSClientAuth string `json:"tls-client-auth"`

	// Juju user secrets (type: secret, new in this charm) standing in for
	// the credential options: each holds a secret URI, never a value. The
	// charm reads them before validation and writes their content over
	// the option each replaces (internal/charm/observe_secrets.go).
	AuthBasicPasswordSecret    string `json:"auth-basic-password-secret"`
	CachePasswordSecret        string `json:"cache-password-secret"`
	RegistryHTTPProxySecret    string `json:"registry-http-proxy-secret"`
	RegistryHTTPSProxySecret   string `json:"registry-https-proxy-secret"`
	StorageSwiftPasswordSecret string `json:"storage-swift-password-secret"`
	StorageS3SecretKeySecret   string `json:"storage-s3-secretkey-secret"`
	TLSKeyBlobSecret           string `json:"tls-key-blob-secret"`
}

// Client-certificate policies for tls-client-auth.
const (
	ClientAuthRequire       = "require"
	ClientAuthVerifyIfGiven = "verify-if-given"
	ClientAuthNone          = "none"
)

// Parse decodes the JSON object printed by `config-get --all --format=json`.
// Unknown keys are ignored so that a newer config.yaml never breaks an older
// binary mid-upgrade.
func Parse(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("cannot decode charm config: %w", err)
	}
	return c, nil
}

// UsesS3 reports whether the registry stores its data in S3-compatible
// object storage (the reference's rule: region and bucket both set, and
// Swift, which the reference chose first, not asked for).
func (c Config) UsesS3() bool {
	return !c.UsesSwift() && c.StorageS3Region != "" && c.StorageS3Bucket != ""
}

// UsesSwift reports whether the registry stores its data in OpenStack
// Swift (the reference's rule: storage-swift-authurl set).
func (c Config) UsesSwift() bool { return c.StorageSwiftAuthURL != "" }

// SharedStorage reports whether every unit of the application stores its
// data in the same place (object storage), not on its own disk.
func (c Config) SharedStorage() bool { return c.UsesS3() || c.UsesSwift() }

// BasicAuth reports whether htpasswd authentication is on: the reference
// enables it only when both user and password are set.
func (c Config) BasicAuth() bool {
	return c.AuthBasicUser != "" && c.AuthBasicPassword != ""
}

// TokenAuth reports whether any auth-token-* option is set; validation
// requires all four when any is.
func (c Config) TokenAuth() bool {
	return c.AuthTokenIssuer != "" || c.AuthTokenRealm != "" ||
		c.AuthTokenRootCerts != "" || c.AuthTokenService != ""
}
