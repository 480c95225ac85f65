package charm

import (
	"fmt"

	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// planRegistry renders the registry's files and units from the config, the
// secret and the TLS plan.
func planRegistry(o *Observed, d *Desired) error {
	cfg := o.Config
	in := registry.RenderInput{
		Config:                  cfg,
		AppName:                 o.App,
		HTTPSecret:              d.Secret,
		DataDir:                 machineDataDir,
		HtpasswdPath:            machineHtpasswd,
		TokenRootCertBundlePath: machineToken,
		ListenAddr:              fmt.Sprintf(":%d", cfg.RegistryPort),
		DebugAddr:               fmt.Sprintf(":%d", cfg.DebugPort),
	}
	if d.TLS != nil {
		in.TLS = &registry.TLSPaths{Cert: cfg.TLSCertPath, Key: cfg.TLSKeyPath}
		if d.TLS.ClientCAs {
			in.TLS.CA = cfg.TLSCAPath
		}
	}
	rendered, err := registry.Render(in)
	if err != nil {
		return err
	}
	if d.Registry, err = registry.Marshal(rendered); err != nil {
		return err
	}
	if err := planAuth(o, d); err != nil {
		return err
	}
	planUnits(o, d)
	return nil
}

func planAuth(o *Observed, d *Desired) error {
	cfg := o.Config
	if cfg.BasicAuth() {
		if registry.HtpasswdUpToDate(o.Host.Htpasswd, cfg.AuthBasicUser, cfg.AuthBasicPassword) {
			d.Htpasswd, d.HtpasswdKeep = o.Host.Htpasswd, true
		} else {
			entry, err := registry.HtpasswdEntry(cfg.AuthBasicUser, cfg.AuthBasicPassword)
			if err != nil {
				return err
			}
			d.Htpasswd = entry
		}
	}
	if cfg.TokenAuth() {
		bundle, err := registry.TokenRootCertBundle(cfg)
		if err != nil {
			return err
		}
		d.TokenBundle = bundle
	}
	return nil
}

func planUnits(o *Observed, d *Desired) {
	cfg := o.Config
	opts := service.UnitOptions{
		Description:         fmt.Sprintf("Docker registry %s (Juju application %s)", cfg.RegistryName, o.App),
		Binary:              machineBinary,
		ConfigPath:          machineConfig,
		User:                serviceUser,
		DataDir:             machineDataDir,
		ConfigDir:           machineConfigDir,
		Port:                cfg.RegistryPort,
		BindsPrivilegedPort: cfg.PrometheusMetrics && cfg.DebugPort < 1024,
		EnvironmentFile:     machineEnvFile,
	}
	d.Service = service.ServiceFile(opts)
	d.Socket = service.SocketFile(opts)
	d.EnvFile = service.EnvironmentFile(service.Proxy{HTTP: cfg.RegistryHTTPProxy, HTTPS: cfg.RegistryHTTPSProxy})
	d.Ports = planPorts(cfg)
	d.Scheme = "http"
	if d.TLS != nil {
		d.Scheme = "https"
	}
	d.Probe = Probe{Port: cfg.RegistryPort, TLS: d.TLS != nil}
}
