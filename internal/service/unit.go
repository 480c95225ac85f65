// Package service holds the registry's systemd units, its system user and
// the systemctl calls that start, reload and stop it.
//
// The units are rendered from plain values (UnitOptions) so the reconcile can
// compare the desired bytes with what is on disk and touch systemd only when
// something differs.
package service

import (
	"fmt"
	"sort"
	"strings"
)

// Names of the units the charm manages. They are fixed rather than derived
// from registry-name so that renaming the registry in config never leaves an
// orphaned unit behind; registry-name is used in status messages.
const (
	ServiceUnit = "docker-registry.service"
	SocketUnit  = "docker-registry.socket"
)

// UnitOptions is everything the unit files depend on.
type UnitOptions struct {
	Description string
	Binary      string // the installed copy of the charm binary
	ConfigPath  string
	User        string
	// DataDir and ConfigDir are the only paths the service may write;
	// ProtectSystem=strict makes the rest of the file system read-only.
	DataDir   string
	ConfigDir string
	// Port is registry-port: systemd (not the registry) binds it, so the
	// service keeps no capabilities even for ports below 1024.
	Port int
	// BindsPrivilegedPort is true when the service binds a port below 1024
	// itself (the debug/metrics port), which needs CAP_NET_BIND_SERVICE.
	BindsPrivilegedPort bool
	// EnvironmentFile holds the proxy settings. It is a separate 0600 file
	// rather than Environment= lines because proxy URLs may carry
	// credentials and unit files are world-readable.
	EnvironmentFile string
}

// ServiceFile renders docker-registry.service.
func ServiceFile(o UnitOptions) []byte {
	var b strings.Builder
	section(&b, "Unit",
		"Description="+o.Description,
		"Documentation=https://distribution.github.io/distribution/",
		"Requires="+SocketUnit,
		"After=network-online.target "+SocketUnit,
		"Wants=network-online.target",
	)
	svc := []string{
		"Type=simple",
		fmt.Sprintf("ExecStart=%s serve --config %s", o.Binary, o.ConfigPath),
		// The registry rebuilds its handler from the new configuration
		// in-process: no connection is dropped. The reload command waits
		// until the new configuration serves, so `systemctl reload`
		// returning means clients see it (or fails with the reason).
		fmt.Sprintf("ExecReload=%s reload --config %s", o.Binary, o.ConfigPath),
		"User=" + o.User,
		"Group=" + o.User,
		"Restart=always",
		"RestartSec=2",
		"TimeoutStopSec=30",
		"KillSignal=SIGTERM",
		// No LimitNOFILE: Go raises its soft limit to systemd's hard
		// limit (524288 on Ubuntu) at start.
	}
	// "-" : a missing file is not an error, the charm writes it only
	// when a proxy is configured.
	svc = append(svc, "EnvironmentFile=-"+o.EnvironmentFile)
	svc = append(svc, hardening(o)...)
	section(&b, "Service", svc...)
	section(&b, "Install", "WantedBy=multi-user.target")
	return []byte(b.String())
}

// SocketFile renders docker-registry.socket. systemd holds the listening
// socket, so connections made while the service restarts queue in the
// backlog instead of being refused.
func SocketFile(o UnitOptions) []byte {
	var b strings.Builder
	section(&b, "Unit", "Description="+o.Description+" (socket)")
	section(&b, "Socket",
		fmt.Sprintf("ListenStream=%d", o.Port),
		"Service="+ServiceUnit,
		"Backlog=4096",
		"ReusePort=no",
	)
	section(&b, "Install", "WantedBy=sockets.target")
	return []byte(b.String())
}

// Proxy is the registry process's outbound proxy configuration
// (registry-http-proxy, registry-https-proxy), used by the pull-through cache.
type Proxy struct{ HTTP, HTTPS, NoProxy string }

// EnvironmentFile renders the service's environment file; nil when no
// proxy is set, meaning the file should not exist.
func EnvironmentFile(p Proxy) []byte {
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
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, env[k])
	}
	return []byte(b.String())
}

// hardening confines the registry: it needs to read its config and write
// only its data (and its config dir, where the charm rotates files it reads).
func hardening(o UnitOptions) []string {
	caps := "CapabilityBoundingSet="
	ambient := "AmbientCapabilities="
	if o.BindsPrivilegedPort {
		caps = "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"
		ambient = "AmbientCapabilities=CAP_NET_BIND_SERVICE"
	}
	return []string{
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"ReadWritePaths=" + o.DataDir,
		"ReadOnlyPaths=" + o.ConfigDir,
		"PrivateTmp=yes",
		"PrivateDevices=yes",
		"ProtectHome=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectControlGroups=yes",
		"RestrictSUIDSGID=yes",
		"RestrictNamespaces=yes",
		"LockPersonality=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallArchitectures=native",
		caps,
		ambient,
		"UMask=0077",
	}
}

func section(b *strings.Builder, name string, lines ...string) {
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "[%s]\n", name)
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\n")
	}
}
