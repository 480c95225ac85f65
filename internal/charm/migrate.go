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
// takeOver deals with both before anything starts, container first so
// that nothing writes root-owned files after the data changed hands. Each
// step costs one stat per hook once done; a failure is a blocked status
// that says what to do, never a hook error, and the next hook retries.

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

func (c *Charm) takeOver(ctx context.Context, o *Observed, d *Desired, st *LocalState, acc service.Account) error {
	if err := c.takeOverContainer(ctx, o, d, st); err != nil {
		return err
	}
	return c.takeOverData(ctx, d, st, acc)
}

// takeOverContainer stops and removes the reactive charm's registry
// container. It looks once: after the daemon answered that the container
// is gone (or is not the charm's), later hooks do not run docker again.
func (c *Charm) takeOverContainer(ctx context.Context, o *Observed, d *Desired, st *LocalState) error {
	if st.ReactiveContainerChecked {
		return nil
	}
	sock := c.Paths.At(dockerSocket)
	if _, err := os.Stat(sock); err != nil {
		// No daemon listening: no container can hold the port.
		return nil
	}
	cli, err := exec.LookPath("docker")
	if err != nil {
		return nil
	}
	dk := service.Docker{CLI: cli, Host: "unix://" + sock}
	name := o.Config.RegistryName
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	ct, err := dk.Inspect(ctx, name)
	if err != nil {
		// A daemon that does not answer holds no port either; it may
		// later, so the next hook looks again.
		_ = c.Juju.Log(ctx, juju.LevelWarning, fmt.Sprintf("cannot look for the reactive charm's %q container: %v", name, err))
		return nil
	}
	if ct == nil {
		st.ReactiveContainerChecked = true
		return nil
	}
	switch reactiveContainer(*ct) {
	case notReactive:
		_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
			"leaving docker container %q alone: it mounts neither %s nor %s as the reactive charm's did",
			name, machineDataDir, reactiveConfigMount))
		st.ReactiveContainerChecked = true
		return nil
	case reactiveOwnData:
		// Removing it would hide its images: they are in docker's
		// volume, not where this charm serves from. The operator
		// copies them over; the next hook removes the container.
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, fmt.Sprintf(
			"The previous charm's container %q keeps its images inside docker: docker cp %s:%s/. %s, then docker rm -f %s",
			name, name, reactiveDataMount, machineDataDir, name))
		return nil
	}
	if err := dk.Remove(ctx, ct.ID); err != nil {
		_ = c.Juju.Log(ctx, juju.LevelError, fmt.Sprintf("cannot remove the reactive charm's container %q: %v", name, err))
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, fmt.Sprintf(
			"Cannot remove the previous charm's docker container %q: remove it with docker rm -f %s", name, name))
		return nil
	}
	_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
		"removed the reactive charm's docker container %q (image %s, ports %s, %s mounted at %s): the registry now runs as the %s service on the same data",
		name, ct.Image, strings.Join(ct.Ports, " "), machineDataDir, reactiveDataMount, service.ServiceUnit))
	st.ReactiveContainerChecked = true
	return nil
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
// tree under it when the reactive charm's container (root inside) wrote
// it: without that, the registry cannot add to a repository that existed
// before, nor to any blob prefix directory it created.
func (c *Charm) takeOverData(ctx context.Context, d *Desired, st *LocalState, acc service.Account) error {
	dir := c.Paths.DataDir()
	blocked := func(err error) error {
		_ = c.Juju.Log(ctx, juju.LevelError, fmt.Sprintf("cannot give %s to user %s: %v", machineDataDir, acc.Name, err))
		d.Hold = holdIfNone(d.Hold, juju.StatusBlocked, fmt.Sprintf(
			"Cannot give %s to user %s (%s): make it writable by root; the next hook retries",
			machineDataDir, acc.Name, errnoText(err)))
		return nil
	}
	if err := ensureOwnedDir(dir, 0o750, acc); err != nil {
		return blocked(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, dataMarker))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && ownedBy(fi, acc)) {
		return nil
	}
	if err != nil {
		return blocked(err)
	}
	// Once per unit, but it may take a while on a big registry.
	msg := juju.Status{Name: juju.StatusMaintenance, Message: fmt.Sprintf("Giving %s to user %s", machineDataDir, acc.Name)}
	if err := c.Juju.StatusSet(ctx, msg); err != nil {
		return err
	}
	if st.Last != nil {
		// finish sets the outcome only when it differs from the last.
		st.Last.Status = msg
	}
	start := time.Now()
	n, err := chownTree(ctx, dir, dataMarker, acc)
	if err != nil {
		return blocked(err)
	}
	_ = c.Juju.Log(ctx, juju.LevelInfo, fmt.Sprintf(
		"gave %d files and directories under %s to user %s (uid %d) in %v: the previous charm's registry container wrote them as root",
		n, machineDataDir, acc.Name, acc.UID, time.Since(start).Round(time.Millisecond)))
	return nil
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
