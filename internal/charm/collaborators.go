package charm

import (
	"context"
	"errors"
	"time"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/registry"
	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Workload is the running registry as hooks and actions talk to it.
type Workload interface {
	// Answers reports whether the registry serves at p.
	Answers(ctx context.Context, p Probe) bool
	// Reload has the running registry serve its configuration files anew
	// and returns once it does (with drain: once requests begun under the
	// previous configuration have finished).
	Reload(ctx context.Context, drain bool) error
	// FailingChecks names the running registry's failing health checks.
	FailingChecks(ctx context.Context) ([]string, error)
}

// Machine is what the charm asks of the machine beyond its files.
type Machine interface {
	// Account returns the registry's system user, creating it if needed.
	Account(ctx context.Context) (service.Account, error)
	// LookupAccount returns the registry's system user if it exists,
	// creating nothing.
	LookupAccount() (service.Account, bool, error)
	// Disk reads the space of the filesystem holding dir.
	Disk(dir string) Disk
	// CheckStorage asks object storage, reached from this machine,
	// whether it lets a registry configuration in.
	CheckStorage(ctx context.Context, cfg *configuration.Configuration) error
	// Now is the machine's clock.
	Now() time.Time
}

// New is the charm as Juju runs it: hook tools on PATH, at most
// maxParallelTools of them at once, systemd, the registry behind its
// control socket, and the machine's own users, filesystems and clock.
// self is the path of the running binary, installed for the service.
func New(env juju.Env, self, version string) *Charm {
	svc := service.Systemctl{}
	return &Charm{
		Juju:         &juju.Client{Runner: limited(juju.ExecRunner{}), Env: env},
		Services:     svc,
		Workload:     registryWorkload{services: svc},
		Machine:      localMachine{},
		Paths:        Paths{Root: "/"},
		Self:         self,
		Version:      version,
		ReadyTimeout: 20 * time.Second,
	}
}

// registryWorkload reaches the registry on this machine: HTTP for the
// probe, the control socket for everything else.
type registryWorkload struct{ services service.Manager }

func (registryWorkload) Answers(ctx context.Context, p Probe) bool { return httpProbe(ctx, p) }

// Reload asks over the control socket, which answers when the new
// configuration serves; systemctl reload does the same through ExecReload
// but costs two more processes, so it is only the fallback.
func (w registryWorkload) Reload(ctx context.Context, drain bool) error {
	err := registry.RequestReload(ctx, registry.DefaultControlSocket, drain)
	if errors.Is(err, registry.ErrUnreachable) {
		if serr := w.services.Reload(ctx, service.ServiceUnit); serr != nil {
			return err
		}
		return nil
	}
	return err
}

func (registryWorkload) FailingChecks(ctx context.Context) ([]string, error) {
	return registry.RequestFailingChecks(ctx, registry.DefaultControlSocket)
}

// localMachine is the machine the charm runs on.
type localMachine struct{}

func (localMachine) Account(ctx context.Context) (service.Account, error) {
	return service.EnsureUser(ctx, serviceUser, machineDataDir)
}

func (localMachine) LookupAccount() (service.Account, bool, error) {
	return service.LookupUser(serviceUser)
}

func (localMachine) Disk(dir string) Disk { return statDisk(dir) }

func (localMachine) CheckStorage(ctx context.Context, cfg *configuration.Configuration) error {
	return registryconf.CheckStorage(ctx, cfg)
}

func (localMachine) Now() time.Time { return time.Now() }
