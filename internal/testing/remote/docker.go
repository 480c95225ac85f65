package remote

import (
	"path"
	"strings"
)

// DockerCertsDir is where dockerd looks for a registry's trust material.
const DockerCertsDir = "/etc/docker/certs.d"

// DockerWorkerFiles are the files a docker worker (charm-docker's
// configure_registry) writes from the docker-registry relation, path →
// content: /etc/docker/certs.d/<netloc>/ca.crt from tls_ca, and
// client.cert/client.key (the charm links them to the worker's
// /root/cdk/client.crt and .key, easyrsa's global client pair) when
// clientCert is not "". Without TLS there is nothing to write: the charm
// adds the netloc to insecure-registries instead.
func DockerWorkerFiles(v RegistryView, clientCert, clientKey string) map[string]string {
	files := map[string]string{}
	if !v.HasTLS {
		return files
	}
	dir := path.Join(DockerCertsDir, HostDir(v.Netloc))
	files[path.Join(dir, "ca.crt")] = v.CA
	if clientCert != "" {
		files[path.Join(dir, "client.cert")] = clientCert
		files[path.Join(dir, "client.key")] = clientKey
	}
	return files
}

// DockerdArgs are dockerd's flags for a worker daemon that keeps to dir
// and leaves the host's network alone (no bridge, no iptables), with its
// own containerd namespaces. insecure lists registries reached over plain
// http (charm-docker's insecure-registry for a relation without TLS).
func DockerdArgs(dir, ns string, insecure ...string) []string {
	args := []string{
		"--data-root", path.Join(dir, "root"), "--exec-root", path.Join(dir, "exec"),
		"--pidfile", path.Join(dir, "docker.pid"), "-H", "unix://" + DockerSocket(dir),
		"--storage-driver=vfs", "--iptables=false", "--ip6tables=false", "--bridge=none",
		"--containerd-namespace", ns, "--containerd-plugins-namespace", ns + "-plugins",
	}
	for _, r := range insecure {
		args = append(args, "--insecure-registry", r)
	}
	return args
}

// DockerSocket is the socket of the daemon started with DockerdArgs(dir, ...).
func DockerSocket(dir string) string { return path.Join(dir, "docker.sock") }

// HostDir is the directory name dockerd looks up for a registry host:
// host:port as is.
func HostDir(netloc string) string { return strings.TrimSuffix(netloc, "/") }
