package remote

import (
	"crypto/x509"
	"fmt"
	"path"
	"strings"
)

// Where the containerd charm keeps the worker's own tls-certificates
// material (layer-container-runtime-common's certs_dir), and what its
// registry entry points at when the docker-registry relation has TLS:
// the CA of the worker's easyrsa, and the worker's own server pair used as
// a client certificate.
const (
	WorkerCAPath   = "/root/cdk/ca.crt"
	WorkerCertPath = "/root/cdk/server.crt"
	WorkerKeyPath  = "/root/cdk/server.key"
)

// IssueWorker issues the certificate a Kubernetes worker gets from
// easyrsa over its own tls-certificates relation: CN and SANs as asked,
// easyrsa's text dump before the PEM block and a PKCS#8 key. Workers use
// this one pair both to serve (kubelet) and as a client certificate
// (containerd towards the registry), so it carries both usages.
func (e *EasyRSA) IssueWorker(cn string, sans ...string) (cert, key string, err error) {
	return e.sign(cn, sans, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
}

// ContainerdConfig is a containerd 1.6 config.toml (version 2) for a
// worker daemon that keeps all its state under dir (root, state, socket),
// unpacks with the native snapshotter (the worker's disk may itself be an
// overlay) and reads registry hosts from certsDir, as the CRI plugin's
// config_path does. The CRI plugin stays on, so crictl can pull through
// the path the kubelet uses.
func ContainerdConfig(dir, certsDir string) string {
	return fmt.Sprintf(`version = 2
root = %q
state = %q

[grpc]
  address = %q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "pause:3.6"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "native"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %q
`, path.Join(dir, "root"), path.Join(dir, "state"), ContainerdSocket(dir), certsDir)
}

// ContainerdSocket is the socket of the daemon ContainerdConfig(dir, ...)
// configures.
func ContainerdSocket(dir string) string { return path.Join(dir, "containerd.sock") }

// ContainerdWorkerFiles are the files a containerd worker writes from the
// docker-registry relation, path → content: under certsDir, the
// <netloc>/hosts.toml naming the CA, and the CA itself at WorkerCAPath
// when the relation has TLS. clientCert and clientKey are the worker's own
// pair (WorkerCertPath, WorkerKeyPath), named in hosts.toml when the
// registry asks for client certificates; "" leaves them out. Credentials
// are not files: containerd gets them with each pull (ctr --user, the
// kubelet's auth in CRI), as the charm's config.toml auth section does.
//
// The containerd charm points ca at /root/cdk/ca.crt, its own easyrsa's
// CA, and installs tls_ca into the system store; here the file holds
// tls_ca from the relation, so the worker trusts only what the relation
// says (with one easyrsa, the two are the same certificate).
func ContainerdWorkerFiles(v RegistryView, certsDir string, clientCert, clientKey string) map[string]string {
	files := map[string]string{}
	cert, key := "", ""
	if v.HasTLS {
		files[WorkerCAPath] = v.CA
		if clientCert != "" {
			files[WorkerCertPath], files[WorkerKeyPath] = clientCert, clientKey
			cert, key = WorkerCertPath, WorkerKeyPath
		}
	}
	files[path.Join(certsDir, HostDir(v.Netloc), "hosts.toml")] = HostsTOML(v, WorkerCAPath, cert, key)
	return files
}

// HostDir is the directory name containerd looks up for a registry host:
// host:port as is (containerd 1.6 uses the netloc verbatim).
func HostDir(netloc string) string { return strings.TrimSuffix(netloc, "/") }
