package charm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/htpasswd"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// planRegistry renders the registry's files and units from the config, the
// secret and the TLS plan.
func planRegistry(o *Observed, d *Desired) error {
	cfg := o.Config
	in := registryconf.RenderInput{
		Config:                  cfg,
		AppName:                 o.App,
		HTTPSecret:              d.Secret,
		DataDir:                 machineDataDir,
		HtpasswdPath:            machineHtpasswd,
		TokenRootCertBundlePath: machineToken,
		ListenAddr:              fmt.Sprintf(":%d", cfg.RegistryPort),
		DebugAddr:               fmt.Sprintf(":%d", cfg.DebugPort),
		LocalMetrics:            len(o.COSAgents) > 0,
	}
	if d.TLS != nil {
		in.TLS = &registryconf.TLSPaths{Cert: cfg.TLSCertPath, Key: cfg.TLSKeyPath}
		if d.TLS.ClientCAs {
			in.TLS.CA = cfg.TLSCAPath
		}
	}
	planRedis(o, d, &in)
	rendered, err := registryconf.Render(in)
	if err != nil {
		return err
	}
	if d.Registry, err = registryconf.Marshal(rendered); err != nil {
		return err
	}
	if err := planAuth(o, d); err != nil {
		return err
	}
	return planUnits(o, d)
}

func planAuth(o *Observed, d *Desired) error {
	cfg := o.Config
	if cfg.BasicAuth() {
		user, password := cfg.AuthBasicUser, cfg.AuthBasicPassword
		memo := htpasswdMemo(d.Secret, o.Host.Htpasswd, user, password)
		if hmac.Equal([]byte(memo), []byte(o.Host.State.HtpasswdMemo)) ||
			htpasswd.UpToDate(o.Host.Htpasswd, user, password) {
			d.Htpasswd, d.HtpasswdKeep = o.Host.Htpasswd, true
		} else {
			entry, err := htpasswd.OneUser(user, password)
			if err != nil {
				return err
			}
			d.Htpasswd = entry
			memo = htpasswdMemo(d.Secret, entry, user, password)
		}
		d.HtpasswdMemo = memo
	}
	if cfg.TokenAuth() {
		bundle, err := registryconf.TokenRootCertBundle(cfg)
		if err != nil {
			return err
		}
		d.TokenBundle = bundle
	}
	return nil
}

// htpasswdMemo binds an htpasswd file to the user and password it was
// verified to grant. Verifying means a bcrypt comparison, about 60 ms of
// CPU at our cost, and every hook would pay it: the memo lets a hook trust
// a file it (or an earlier hook) already checked. It is keyed by the http
// secret, which the state file that keeps the memo does not hold, so the
// state file alone does not let anyone test password guesses quickly.
// The file's content (its salted hash) is part of the message: a file
// changed by hand fails the memo and gets the full check.
func htpasswdMemo(secret string, file []byte, user, password string) string {
	key := sha256.Sum256([]byte("docker-registry-charm htpasswd memo\x00" + secret))
	mac := hmac.New(sha256.New, key[:])
	for _, field := range [][]byte{file, []byte(user), []byte(password)} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		mac.Write(n[:])
		mac.Write(field)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

func planUnits(o *Observed, d *Desired) error {
	cfg := o.Config
	memBytes, _ := config.MemoryBytes(cfg.ServiceMemoryMax)
	opts := service.UnitOptions{
		Description:         fmt.Sprintf("Docker registry %s (Juju application %s)", cfg.RegistryName, o.App),
		Binary:              machineBinary,
		ConfigPath:          machineConfig,
		User:                serviceUser,
		DataDir:             machineDataDir,
		ConfigDir:           machineConfigDir,
		ControlSocket:       registry.DefaultControlSocket,
		Port:                cfg.RegistryPort,
		BindsPrivilegedPort: (cfg.PrometheusMetrics || len(o.COSAgents) > 0) && cfg.DebugPort < 1024,
		EnvironmentFile:     machineEnvFile,
		MemoryMax:           cfg.ServiceMemoryMax,
		MemoryMaxBytes:      memBytes,
		TasksMax:            cfg.ServiceTasksMax,
	}
	var err error
	if d.Service, err = service.ServiceFile(opts); err != nil {
		return err
	}
	d.Socket = service.SocketFile(opts)
	if d.EnvFile, err = service.EnvironmentFile(service.Proxy{HTTP: cfg.RegistryHTTPProxy, HTTPS: cfg.RegistryHTTPSProxy}); err != nil {
		return err
	}
	d.Ports = planPorts(cfg)
	d.Scheme = "http"
	if d.TLS != nil {
		d.Scheme = "https"
	}
	d.Probe = Probe{Port: cfg.RegistryPort, TLS: d.TLS != nil}
	return nil
}
