package remote

import (
	"crypto/x509"
	"fmt"
	"path"
	"strings"
)

// A Kubernetes worker's containerd as the containerd charm
// (charmed-kubernetes/charm-containerd) configures it from the
// docker-registry relation:
//
//   - src/reactive/containerd.py configure_registry builds
//     Registry(url=registry_netloc): host is the url stripped of any scheme
//     (strip_url), username/password come from basic_user/basic_password
//     when the relation has both, and when tls_ca is set it installs tls_ca
//     into the system trust store (charmhelpers host.install_ca_cert, name
//     "juju-docker-registry") and points ca, cert and key at the worker's
//     own /root/cdk/ca.crt, server.crt and server.key. registry_url is
//     never read.
//   - src/templates/config_v2.toml renders that entry into the CRI
//     plugin's legacy registry section of config.toml: a mirror
//     registry.mirrors."<host>" with endpoint ["<url>"] (for our relation,
//     a netloc without scheme), registry.configs."<url>".auth and
//     registry.configs."<url>".tls. Values are pasted between double quotes
//     as they are, with no TOML escaping.
//   - the charm then restarts containerd, and kubelet pulls through CRI.
//
// Debian 12's containerd is 1.6, which still reads this section
// (containerd 2.0 dropped it for config_path and hosts.toml).

// Where the worker keeps the certificate it got from its own easyrsa
// (layer-container-runtime-common lib/charms/layer/container_runtime_common.py
// certs_dir, ca_crt_path, server_crt_path, server_key_path).
const (
	WorkerCAPath   = "/root/cdk/ca.crt"
	WorkerCertPath = "/root/cdk/server.crt"
	WorkerKeyPath  = "/root/cdk/server.key"
)

// RegistryTrustPath is where install_ca_cert(tls_ca, name="juju-docker-registry")
// writes the relation's CA (charm-helpers charmhelpers/core/host.py
// CA_CERT_DIR, ca_cert_absolute_path) before running
// `update-ca-certificates --fresh`.
const RegistryTrustPath = "/usr/local/share/ca-certificates/juju-docker-registry.crt"

// IssueWorker issues the certificate a Kubernetes worker gets from
// easyrsa over its own tls-certificates relation: CN and SANs as asked,
// easyrsa's text dump before the PEM block and a PKCS#8 key. easyrsa
// gives every server certificate clientAuth too (layer-easyrsa
// src/reactive/easyrsa.py configure_client_authorization), which is why
// the containerd charm can present it to the registry.
func (e *EasyRSA) IssueWorker(cn string, sans ...string) (cert, key string, err error) {
	return e.sign(cn, sans, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
}

// ContainerdRegistry is the containerd charm's Registry entry for the
// docker-registry relation.
type ContainerdRegistry struct {
	URL, Host          string
	Username, Password string
	CA, Cert, Key      string
}

// ContainerdRegistryFor is what configure_registry makes of the relation.
func ContainerdRegistryFor(v RegistryView) ContainerdRegistry {
	r := ContainerdRegistry{URL: v.Netloc, Host: stripURL(v.Netloc)}
	if v.HasAuth {
		r.Username, r.Password = v.User, v.Password
	}
	if v.HasTLS {
		r.CA, r.Cert, r.Key = WorkerCAPath, WorkerCertPath, WorkerKeyPath
	}
	return r
}

// stripURL is the charm's strip_url: host[:port] of a url with or
// without scheme.
func stripURL(u string) string {
	u = strings.TrimRight(u, "/")
	if _, rest, ok := strings.Cut(u, "://"); ok {
		return rest
	}
	return u
}

// SandboxImage is the sandbox image the charm sets while related to a
// registry and given none by kubernetes-worker or the control plane
// (src/lib/charms/layer/containerd.py get_sandbox_image).
func (r ContainerdRegistry) SandboxImage() string { return r.URL + "/pause:3.6" }

// CRIRegistrySection renders the CRI plugin's registry section as
// config_v2.toml does for the charm's registries: docker.io, which the
// charm always inserts first (insert_docker_io_to_custom_registries), then
// ours; nil renders docker.io alone.
func CRIRegistrySection(r *ContainerdRegistry) string {
	regs := []ContainerdRegistry{{URL: "https://registry-1.docker.io", Host: "docker.io"}}
	if r != nil {
		regs = append(regs, *r)
	}
	const p = `[plugins."io.containerd.grpc.v1.cri".registry`
	var b strings.Builder
	b.WriteString("    " + p + "]\n      " + p + ".mirrors]\n")
	for _, g := range regs {
		fmt.Fprintf(&b, "        %s.mirrors.\"%s\"]\n          endpoint = [\"%s\"]\n", p, g.Host, g.URL)
	}
	b.WriteString("      " + p + ".configs]\n")
	for _, g := range regs {
		if g.Username != "" && g.Password != "" {
			fmt.Fprintf(&b, "        %s.configs.\"%s\".auth]\n          username = \"%s\"\n          password = \"%s\"\n",
				p, g.URL, g.Username, g.Password)
		}
	}
	for _, g := range regs {
		if g.CA != "" || g.Cert != "" || g.Key != "" {
			fmt.Fprintf(&b, "        %s.configs.\"%s\".tls]\n          ca_file   = \"%s\"\n          cert_file = \"%s\"\n"+
				"          key_file  = \"%s\"\n          insecure_skip_verify = false\n", p, g.URL, g.CA, g.Cert, g.Key)
		}
	}
	return b.String()
}

// ContainerdConfig is the worker's config.toml (version 2): the charm's
// CRI plugin settings that matter for pulling, with the daemon's root,
// state and socket under dir so that it runs beside anything else, and
// the native snapshotter (the worker's disk may itself be an overlay).
// No config_path: containerd 1.6 refuses it beside registry.mirrors.
func ContainerdConfig(dir string, r *ContainerdRegistry) string {
	sandbox := "registry.k8s.io/pause:3.6"
	if r != nil {
		sandbox = r.SandboxImage()
	}
	return fmt.Sprintf(`version = 2
root = %q
state = %q

[grpc]
  address = %q

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "%s"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "native"
%s`, path.Join(dir, "root"), path.Join(dir, "state"), ContainerdSocket(dir), sandbox, CRIRegistrySection(r))
}

// ContainerdSocket is the socket of the daemon ContainerdConfig(dir, ...)
// configures.
func ContainerdSocket(dir string) string { return path.Join(dir, "containerd.sock") }
