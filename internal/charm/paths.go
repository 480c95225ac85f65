package charm

import "path/filepath"

// Paths are where the charm keeps what it manages on the machine. Root is
// "/" in production; state-transition tests point it at a temporary
// directory.
type Paths struct {
	Root string
}

func (p Paths) join(elem ...string) string {
	return filepath.Join(append([]string{p.Root}, elem...)...)
}

// At maps an absolute machine path (such as a tls-*-path option) under Root.
func (p Paths) At(abs string) string { return p.join(abs) }

func (p Paths) ConfigDir() string   { return p.join("/etc/docker/registry") }
func (p Paths) ConfigFile() string  { return p.join("/etc/docker/registry/config.yml") }
func (p Paths) Htpasswd() string    { return p.join("/etc/docker/registry/htpasswd") }
func (p Paths) TokenBundle() string { return p.join("/etc/docker/registry/auth-token-root-certs.pem") }
func (p Paths) EnvFile() string     { return p.join("/etc/docker/registry/environment") }
func (p Paths) RedisCA() string     { return p.join(machineRedisCA) }
func (p Paths) DataDir() string     { return p.join("/srv/registry") }
func (p Paths) Binary() string      { return p.join("/opt/docker-registry/bin/docker-registry") }
func (p Paths) UnitDir() string     { return p.join(machineUnitDir) }
func (p Paths) StateDir() string    { return p.join("/var/lib/docker-registry-charm") }
func (p Paths) StateFile() string   { return p.join("/var/lib/docker-registry-charm/state.json") }

// ClientCert and ClientKey hold the client certificate from cert-provider
// that the charm's own client (the push action) presents when the registry
// requires client certificates. Root-only.
func (p Paths) ClientCert() string { return p.join(machineClientCert) }
func (p Paths) ClientKey() string  { return p.join(machineClientKey) }

func (p Paths) NRPEDir() string   { return p.join("/etc/nagios/nrpe.d") }
func (p Paths) ExportDir() string { return p.join("/var/lib/nagios/export") }

// Fixed paths as the service sees them (without Root): the unit files and
// the registry configuration name these.
const (
	serviceUser      = "docker-registry"
	machineConfigDir = "/etc/docker/registry"
	machineConfig    = "/etc/docker/registry/config.yml"
	machineHtpasswd  = "/etc/docker/registry/htpasswd"
	machineToken     = "/etc/docker/registry/auth-token-root-certs.pem"
	machineEnvFile   = "/etc/docker/registry/environment"
	machineRedisCA   = "/etc/docker/registry/redis-ca.pem"
	machineDataDir   = "/srv/registry"
	machineBinary    = "/opt/docker-registry/bin/docker-registry"
	machineUnitDir   = "/etc/systemd/system"

	machineClientCert = "/var/lib/docker-registry-charm/client.crt"
	machineClientKey  = "/var/lib/docker-registry-charm/client.key"
)
