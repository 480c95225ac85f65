package charm

import (
	"net"
	"strings"
)

// containerdWarnings is what the ready message adds while containerd
// workers are related: what keeps them from pulling, and how to fix it.
// The registry serves every other client meanwhile, so these are not
// blocking.
func containerdWarnings(o *Observed, d *Desired) string {
	if len(o.Clients) == 0 {
		return ""
	}
	return containerdTLSWarning(o, d) + containerdCredentialsWarning(o)
}

// containerdTLSWarning is what the ready message adds when containerd
// workers related to us cannot pull. The containerd charm configures our
// registry as a CRI mirror whose endpoint is registry_netloc without a
// scheme (charm-containerd src/reactive/containerd.py configure_registry,
// src/templates/config_v2.toml), and containerd reaches a scheme-less
// endpoint over https unless its host is localhost or a loopback address
// (containerd 1.6 pkg/cri/server/image_pull.go addDefaultScheme,
// docker.IsLocalhost). So over plain http the registry still serves every
// other client, but no pod can pull from it: say so, and how to fix it.
// An https http-host means TLS is terminated in front of us, which is
// enough.
func containerdTLSWarning(o *Observed, d *Desired) string {
	if d.Scheme == "https" || strings.HasPrefix(strings.ToLower(o.Config.HTTPHost), "https://") {
		return ""
	}
	host, _, err := net.SplitHostPort(d.Netloc)
	if err != nil {
		host = d.Netloc
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return ""
	}
	return " containerd workers need TLS: relate cert-provider or set tls-cert-blob and tls-key-blob."
}

// containerdCredentialsWarning: the containerd charm pastes basic_user and
// basic_password between double quotes into config.toml with no escaping
// (charm-containerd src/templates/config_v2.toml), so a quote, a
// backslash or a control character either makes containerd refuse its
// config and not start (the worker goes down) or silently changes the
// password (\n). Says which option, never the value.
func containerdCredentialsWarning(o *Observed) string {
	if !o.Config.BasicAuth() {
		return ""
	}
	var bad []string
	if !tomlQuotable(o.Config.AuthBasicUser) {
		bad = append(bad, "auth-basic-user")
	}
	if !tomlQuotable(o.Config.AuthBasicPassword) {
		bad = append(bad, "auth-basic-password")
	}
	if len(bad) == 0 {
		return ""
	}
	return " containerd workers cannot take " + strings.Join(bad, " or ") + ` with ", \ or control characters: choose another.`
}

// tomlQuotable says whether s survives being pasted into a TOML basic
// string unescaped.
func tomlQuotable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r == '"' || r == '\\' || r < 0x20 && r != '\t' || r == 0x7f
	})
}
