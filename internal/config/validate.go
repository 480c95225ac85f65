package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one invalid option. Message tells the operator what to do and
// never quotes a secret value.
type Problem struct {
	Option  string
	Message string
}

// String renders the problem as one juju-log line: "option: message".
func (p Problem) String() string { return p.Option + ": " + p.Message }

// statusPrefix is the reference charm's blocked-status wording; operators
// and their alerting already match on it.
const statusPrefix = "Invalid charm config: "

// maxStatusOptions keeps the status one short line; the full list goes to
// juju-log.
const maxStatusOptions = 4

// Validate checks every option and returns the problems sorted by option,
// so that the status and the log read the same on every hook. Options that
// only matter in some setups are checked only there: debug-port only when
// prometheus-metrics is on (nothing listens on it otherwise), the S3 tuning
// options only when S3 storage is in use, the Swift options only when
// storage-swift-authurl asks for Swift (which wins over S3, as in the
// reference).
func (c Config) Validate() []Problem {
	var v validator
	c.checkNetwork(&v)
	c.checkWorkload(&v)
	c.checkService(&v)
	c.checkBasicAuth(&v)
	c.checkTokenAuth(&v)
	c.checkPullThrough(&v)
	c.checkStorage(&v)
	c.checkS3(&v)
	c.checkSwift(&v)
	c.checkRedis(&v)
	c.checkTLS(&v)
	return v.sorted()
}

// FormatProblems returns the one-line blocked status for problems, naming
// each invalid option once, or "" when there are none.
func FormatProblems(problems []Problem) string {
	var names []string
	seen := map[string]bool{}
	for _, p := range problems {
		if !seen[p.Option] {
			seen[p.Option] = true
			names = append(names, p.Option)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	list := names
	if len(names) > maxStatusOptions {
		list = append(names[:maxStatusOptions:maxStatusOptions],
			fmt.Sprintf("%d more", len(names)-maxStatusOptions))
	}
	return statusPrefix + strings.Join(list, ", ") + " (see juju debug-log)"
}

// validator collects problems.
type validator struct{ problems []Problem }

func (v *validator) add(option, format string, args ...any) {
	v.problems = append(v.problems, Problem{option, fmt.Sprintf(format, args...)})
}

func (v *validator) sorted() []Problem {
	sort.SliceStable(v.problems, func(i, j int) bool {
		a, b := v.problems[i], v.problems[j]
		if a.Option != b.Option {
			return a.Option < b.Option
		}
		return a.Message < b.Message
	})
	return v.problems
}

// oneOf reports a problem unless value is one of allowed.
func (v *validator) oneOf(option, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.add(option, "must be %s (got %q)", quoteList(allowed), value)
}

// quoteList renders `"a", "b" or "c"`.
func quoteList(values []string) string {
	q := make([]string, len(values))
	for i, s := range values {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

// pair reports the unset one of two options that only work together.
func (v *validator) pair(aName, a, bName, b string) {
	switch {
	case a != "" && b == "":
		v.add(bName, "must be set when %s is set (they work together)", aName)
	case a == "" && b != "":
		v.add(aName, "must be set when %s is set (they work together)", bName)
	}
}

func (v *validator) port(option string, port int) {
	if port < 1 || port > 65535 {
		v.add(option, "must be between 1 and 65535 (got %d)", port)
	}
}

func (c Config) checkNetwork(v *validator) {
	v.port("registry-port", c.RegistryPort)
	if c.PrometheusMetrics {
		v.port("debug-port", c.DebugPort)
		if c.DebugPort == c.RegistryPort {
			v.add("debug-port", "must differ from registry-port when prometheus-metrics is on (both are %d)", c.DebugPort)
		}
	}
	if c.HTTPHost != "" && !isRegistryHost(c.HTTPHost) {
		v.add("http-host", `must be an absolute http or https URL whose path ends in "/" (e.g. https://registry.example.com/)`)
	}
	// The proxies reach the service's environment file, one line each.
	if v.singleLine("registry-http-proxy", c.RegistryHTTPProxy) {
		v.proxyURL("registry-http-proxy", c.RegistryHTTPProxy)
	}
	if v.singleLine("registry-https-proxy", c.RegistryHTTPSProxy) {
		v.proxyURL("registry-https-proxy", c.RegistryHTTPSProxy)
	}
}

func (c Config) checkWorkload(v *validator) {
	v.oneOf("log-level", strings.ToLower(c.LogLevel), "error", "warn", "info", "debug")
	v.oneOf("storage-cache", c.StorageCache, "inmemory", "disabled", CacheRedis)
	if c.TLSClientAuth != "" {
		v.oneOf("tls-client-auth", c.TLSClientAuth,
			ClientAuthRequire, ClientAuthVerifyIfGiven, ClientAuthNone)
	}
}

// checkPullThrough checks the pull-through cache (distribution's proxy).
func (c Config) checkPullThrough(v *validator) {
	if c.CacheRemoteURL != "" && !isHTTPURL(c.CacheRemoteURL) {
		v.add("cache-remoteurl", "must be an absolute http or https URL of the upstream registry (e.g. https://registry-1.docker.io)")
	}
	v.pair("cache-username", c.CacheUsername, "cache-password", c.CachePassword)
}

func (c Config) checkStorage(v *validator) {
	v.pair("storage-s3-region", c.StorageS3Region, "storage-s3-bucket", c.StorageS3Bucket)
}
