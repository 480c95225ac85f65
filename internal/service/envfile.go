package service

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Proxy is the registry process's outbound proxy configuration
// (registry-http-proxy, registry-https-proxy), used by the pull-through cache.
type Proxy struct{ HTTP, HTTPS, NoProxy string }

// EnvironmentFile renders the service's environment file; nil when no
// proxy is set, meaning the file should not exist.
//
// systemd reads the file line by line, so a line break in a value would
// add variables of the writer's choosing (LD_PRELOAD, say). Config
// validation refuses control characters in the proxies; the renderer
// refuses them too, naming the variable but not the value (proxy URLs
// carry credentials). Unlike the unit's Description= it cannot repair
// them: a proxy URL changed by the renderer would send traffic elsewhere.
// Other characters systemd would interpret (quotes, "\", "$", "`",
// spaces) are written inside double quotes, escaped as systemd's
// environment-file reader expects; plain values are written bare.
func EnvironmentFile(p Proxy) ([]byte, error) {
	env := map[string]string{}
	set := func(upper, lower, v string) {
		if v != "" {
			env[upper], env[lower] = v, v
		}
	}
	set("HTTP_PROXY", "http_proxy", p.HTTP)
	set("HTTPS_PROXY", "https_proxy", p.HTTPS)
	set("NO_PROXY", "no_proxy", p.NoProxy)
	if len(env) == 0 {
		return nil, nil
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		v, err := envValue(env[k])
		if err != nil {
			return nil, fmt.Errorf("cannot write %s to the service's environment file: %w", k, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return []byte(b.String()), nil
}

// envValue renders one value of an environment file.
func envValue(v string) (string, error) {
	if strings.ContainsFunc(v, isControl) {
		return "", fmt.Errorf("the value holds a line break or another control character")
	}
	if !strings.ContainsAny(v, " \t\"'\\$`;#") {
		return v, nil
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	return `"` + r.Replace(v) + `"`, nil
}
