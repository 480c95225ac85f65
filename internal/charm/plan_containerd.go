package charm

import (
	"net"
	"strings"
)

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
	if len(o.Clients) == 0 || d.Scheme == "https" || strings.HasPrefix(strings.ToLower(o.Config.HTTPHost), "https://") {
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
