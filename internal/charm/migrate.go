package charm

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// A unit refreshed from the reactive charm this one replaces carries two
// things of it that stand in the way: the registry:2 container it ran,
// which still holds registry-port, and the data that container wrote into
// /srv/registry as root, which our unprivileged service cannot add to.
// observe finds both (observePrevious), plan decides (planTakeover) and
// apply carries it out before anything starts (takeOver). Once done, each
// costs a stat per hook.

// dockerSocket is where the docker CLI reaches the daemon by default, as
// the reactive charm's hooks did.
const dockerSocket = "/var/run/docker.sock"

// The reactive charm's bind mounts: its data directory at the image's
// storage root, and the configuration file it rendered. Every version
// mounted the configuration; the data mount came later.
const (
	reactiveDataMount   = "/var/lib/registry"
	reactiveConfigMount = machineConfig
)

// dataMarker is the directory distribution's filesystem driver creates
// first under its root. It is handed over last, so its owner says whether
// the whole tree was: a walk cut short leaves it root-owned and the next
// hook walks again.
const dataMarker = "docker"

// Previous is what the reactive charm left on the machine, as observe
// finds it.
type Previous struct {
	// DockerAsked: docker was asked for the container of the configured
	// registry-name (its socket and CLI exist, and no earlier hook
	// settled the question).
	DockerAsked bool
	// Docker is the daemon asked, and the CLI that asked it.
	Docker service.Docker
	// Container is that container; nil when there is none, or docker
	// was not asked or did not answer.
	Container *service.Container
	// DockerErr is why docker did not answer ("" when it did). A daemon
	// that does not answer holds no port either; it may later, so the
	// next hook asks again.
	DockerErr string
	// DataOwner owns the data tree's marker (dataMarker); nil when the
	// registry has written nothing yet.
	DataOwner *Owner
}

// Owner is a file's numeric owner.
type Owner struct{ UID, GID int }

// Takeover is what plan decided to do with the reactive charm's leftovers.
type Takeover struct {
	// Settled: docker answered and nothing of its is left to handle;
	// remembered, so that later hooks do not run docker again.
	Settled bool
	// Remove is the reactive charm's container, to remove before
	// anything starts; Foreign a container of the same name that is
	// someone else's and is left alone.
	Remove, Foreign *service.Container
	// GiveData: the data tree is to be handed to the registry's user.
	GiveData bool
}

// observePrevious looks for what the reactive charm left: its container
// (once, until docker answered) and the owner of the data tree.
func (c *Charm) observePrevious(ctx context.Context, name string, st LocalState) (Previous, error) {
	var p Previous
	if fi, err := os.Lstat(filepath.Join(c.Paths.DataDir(), dataMarker)); err == nil {
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			p.DataOwner = &Owner{UID: int(sys.Uid), GID: int(sys.Gid)}
		}
	}
	dk, ok := c.docker(st)
	if !ok {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	ct, err := dk.Inspect(ctx, name)
	if err != nil {
		p.DockerErr = err.Error()
		return p, nil
	}
	p.DockerAsked, p.Docker, p.Container = true, dk, ct
	return p, nil
}

// docker is the daemon the reactive charm ran its container in, when an
// earlier hook has not settled the question and both the daemon's socket
// and the CLI exist: without a daemon, no container can hold the port.
func (c *Charm) docker(st LocalState) (service.Docker, bool) {
	if st.ReactiveContainerChecked {
		return service.Docker{}, false
	}
	sock := c.Paths.At(dockerSocket)
	if _, err := os.Stat(sock); err != nil {
		return service.Docker{}, false
	}
	cli, err := exec.LookPath("docker")
	if err != nil {
		return service.Docker{}, false
	}
	return service.Docker{CLI: cli, Host: "unix://" + sock}, true
}

// planTakeover decides what to do with what the reactive charm left:
// remove its container when its data is the data this charm serves, hold
// when its images are inside docker, hand its root-owned data over.
func planTakeover(o *Observed, d *Desired) {
	p, acc := o.Host.Previous, o.Host.Account
	if p.DataOwner != nil && (acc == nil || *p.DataOwner != (Owner{acc.UID, acc.GID})) {
		d.Takeover.GiveData = true
		// Once per unit, but it may take a while on a big registry.
		d.Progress = &juju.Status{Name: juju.StatusMaintenance, Message: fmt.Sprintf("Giving %s to user %s", machineDataDir, serviceUser)}
	}
	if !p.DockerAsked {
		return
	}
	ct := p.Container
	if ct == nil {
		d.Takeover.Settled = true
		return
	}
	name := o.Config.RegistryName
	switch reactiveContainer(*ct) {
	case notReactive:
		d.Takeover.Settled, d.Takeover.Foreign = true, ct
	case reactiveOwnData:
		// Removing it would hide its images: they are in docker's
		// volume, not where this charm serves from. The operator
		// copies them over; the next hook removes the container.
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, fmt.Sprintf(
			"The previous charm's container %q keeps its images inside docker: docker cp %s:%s/. %s, then docker rm -f %s",
			name, name, reactiveDataMount, machineDataDir, name))
	case reactiveOurData:
		d.Takeover.Remove = ct
	}
}

// takeOver carries out d.Takeover before anything starts, container
// first so that nothing writes root-owned files after the data changed
// hands. It returns what failed, in operator terms ("" when nothing did),
// and the status it showed meanwhile (nil when none): a failure is a
// blocked status, never a hook error, and the next hook retries.
func (c *Charm) takeOver(ctx context.Context, o *Observed, d *Desired, st *LocalState, acc service.Account) (string, *juju.Status, error) {
	t := d.Takeover
	name := o.Config.RegistryName
	if ct := t.Foreign; ct != nil {
		_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
			"leaving docker container %q alone: it mounts neither %s nor %s as the reactive charm's did",
			ct.Name, machineDataDir, reactiveConfigMount))
	}
	if p := o.Host.Previous; p.DockerErr != "" {
		_ = c.Juju.Log(ctx, juju.LevelWarning, fmt.Sprintf("cannot look for the reactive charm's %q container: %s", name, p.DockerErr))
	}
	st.ReactiveContainerChecked = st.ReactiveContainerChecked || t.Settled
	if ct := t.Remove; ct != nil {
		if failed := c.removeContainer(ctx, o.Host.Previous.Docker, ct); failed != "" {
			return failed, nil, nil
		}
		st.ReactiveContainerChecked = true
	}
	return c.takeOverData(ctx, d, acc)
}

// removeContainer removes the reactive charm's registry container.
func (c *Charm) removeContainer(ctx context.Context, dk service.Docker, ct *service.Container) string {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := dk.Remove(ctx, ct.ID); err != nil {
		_ = c.Juju.Log(ctx, juju.LevelError, fmt.Sprintf("cannot remove the reactive charm's container %q: %v", ct.Name, err))
		return fmt.Sprintf("Cannot remove the previous charm's docker container %q: remove it with docker rm -f %s", ct.Name, ct.Name)
	}
	_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
		"removed the reactive charm's docker container %q (image %s, ports %s, %s mounted at %s): the registry now runs as the %s service on the same data",
		ct.Name, ct.Image, strings.Join(ct.Ports, " "), machineDataDir, reactiveDataMount, service.ServiceUnit))
	return ""
}

// What a container of the configured name is to this charm.
type containerKind int

const (
	notReactive     containerKind = iota // someone else's: never touched
	reactiveOwnData                      // the reactive charm's, its images inside docker
	reactiveOurData                      // the reactive charm's, on /srv/registry: ours to replace
)

// reactiveContainer tells the reactive charm's registry container by its
// mounts of the charm's own files. The published port does not tell: any
// registry:2 container publishes something to 5000, and registry-port
// may have changed with the refresh. Only a container whose data is
// /srv/registry may go, since that is the data this charm serves.
func reactiveContainer(ct service.Container) containerKind {
	if dst, ok := ct.Binds[machineDataDir]; ok && dst == reactiveDataMount {
		return reactiveOurData
	}
	if dst, ok := ct.Binds[reactiveConfigMount]; ok && dst == reactiveConfigMount {
		return reactiveOwnData
	}
	return notReactive
}

// takeOverData makes the data directory the service user's, and the
// tree under it when plan found the reactive charm's container (root
// inside) wrote it: without that, the registry cannot add to a repository
// that existed before, nor to any blob prefix directory it created.
func (c *Charm) takeOverData(ctx context.Context, d *Desired, acc service.Account) (string, *juju.Status, error) {
	dir := c.Paths.DataDir()
	failed := func(err error) (string, *juju.Status, error) {
		_ = c.Juju.Log(ctx, juju.LevelError, fmt.Sprintf("cannot give %s to user %s: %v", machineDataDir, acc.Name, err))
		return fmt.Sprintf("Cannot give %s to user %s (%s): make it writable by root; the next hook retries",
			machineDataDir, acc.Name, errnoText(err)), nil, nil
	}
	if err := ensureOwnedDir(dir, 0o750, acc); err != nil {
		return failed(err)
	}
	if !d.Takeover.GiveData {
		return "", nil, nil
	}
	if err := c.Juju.StatusSet(ctx, *d.Progress); err != nil {
		return "", nil, err
	}
	start := time.Now()
	n, err := chownTree(ctx, dir, dataMarker, acc)
	if err != nil {
		why, _, _ := failed(err)
		return why, d.Progress, nil
	}
	_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
		"gave %d files and directories under %s to user %s (uid %d) in %v: the previous charm's registry container wrote them as root",
		n, machineDataDir, acc.Name, acc.UID, time.Since(start).Round(time.Millisecond)))
	return "", d.Progress, nil
}

// ensureOwnedDir creates dir, or changes its mode and owner, only where
// they differ: a read-only data directory that is already right is fine.
func ensureOwnedDir(dir string, mode fs.FileMode, acc service.Account) error {
	// Stat, not Lstat: the directory may be a link to a volume.
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return files.EnsureDir(dir, mode, acc.UID, acc.GID)
	}
	if err != nil {
		return err
	}
	if fi.Mode().Perm() != mode {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("cannot chmod %s: %w", dir, err)
		}
	}
	if !ownedBy(fi, acc) {
		if err := os.Chown(dir, acc.UID, acc.GID); err != nil {
			return fmt.Errorf("cannot chown %s: %w", dir, err)
		}
	}
	return nil
}

// chownTree gives everything under root to acc, the entry last below
// root at the very end, and returns how many entries it changed. Links
// are changed themselves and never followed (Lchown, and WalkDir does
// not descend into them), so nothing outside the tree changes hands; the
// root itself may be a link to a volume.
func chownTree(ctx context.Context, root, last string, acc service.Account) (int, error) {
	top, err := filepath.EvalSymlinks(root)
	if err != nil {
		return 0, err
	}
	n := 0
	lastPath := filepath.Join(top, last)
	err = filepath.WalkDir(top, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == top || p == lastPath {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.Lchown(p, acc.UID, acc.GID); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := os.Lchown(lastPath, acc.UID, acc.GID); err != nil {
		return n, err
	}
	return n + 1, nil
}

func ownedBy(fi fs.FileInfo, acc service.Account) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == acc.UID && int(st.Gid) == acc.GID
}

// errnoText is the system's words for why err failed ("read-only file
// system"), short enough for a status line.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
