package charm

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Changes says what apply changed on the machine, which decides how the
// service learns about it.
type Changes struct {
	Binary, Units, Socket, Env, Served bool
}

// applyWorkload makes the machine match d: files, units, service state.
// It returns what changed and whether the service should be serving.
func (c *Charm) applyWorkload(ctx context.Context, o *Observed, d *Desired, st *LocalState) (Changes, error) {
	var ch Changes
	acc, err := c.account(ctx)
	if err != nil {
		return ch, err
	}
	if err := c.ensureDirs(acc); err != nil {
		return ch, err
	}
	// Before anything starts: what a unit refreshed from the reactive
	// charm still has of it (migrate.go).
	if err := c.takeOver(ctx, o, d, st, acc); err != nil {
		return ch, err
	}
	if ch.Binary, err = c.installBinary(st); err != nil {
		return ch, err
	}
	if ch.Served, err = c.writeServed(o, d, st, acc); err != nil {
		return ch, err
	}
	if ch.Env, err = c.writeOptional(c.Paths.EnvFile(), d.EnvFile, 0o600, 0, 0); err != nil {
		return ch, err
	}
	ch.Units, ch.Socket, err = c.writeUnits(d)
	return ch, err
}

// readOnly is the mode of the secrets the registry reads (config.yml with
// the http secret and storage keys, htpasswd, the TLS key), owned by root
// and group docker-registry.
const readOnly fs.FileMode = 0o640

func (c *Charm) ensureDirs(acc service.Account) error {
	// The config dir is group-readable by the service so it can traverse
	// it. What the registry reads there is root:docker-registry 0640
	// (readOnly): the service can read but never change its own
	// configuration, password file or key.
	if err := files.EnsureDir(c.Paths.ConfigDir(), 0o750, 0, acc.GID); err != nil {
		return err
	}
	// The data directory is takeOverData's: it may be read-only or hold
	// the previous charm's root-owned tree.
	return files.EnsureDir(c.Paths.StateDir(), 0o700, 0, 0)
}

// installBinary copies the running charm binary to a stable path for the
// service: the charm directory is replaced on upgrade-charm and removed
// with the unit, and the service must not depend on it. Hashing two
// binaries of tens of megabytes would dominate every hook, so a binary
// whose identity (inode, size, mtime) is the one installed last time is
// trusted to be unchanged.
func (c *Charm) installBinary(st *LocalState) (bool, error) {
	if c.Self == "" {
		return false, nil
	}
	id, err := files.Identify(c.Self)
	if err != nil {
		return false, err
	}
	if id == st.InstalledFrom {
		if _, err := os.Stat(c.Paths.Binary()); err == nil {
			return false, nil
		}
	}
	changed, err := files.CopyIfChanged(c.Self, c.Paths.Binary(), 0o755)
	if err == nil {
		st.InstalledFrom = id
	}
	return changed, err
}

// writeServed writes every file the registry reads. Any change among them
// is picked up by a reload, without restarting the process.
func (c *Charm) writeServed(o *Observed, d *Desired, st *LocalState, acc service.Account) (bool, error) {
	changed := false
	note := func(ch bool, err error) error {
		changed = changed || ch
		return err
	}
	if err := note(c.writeTLS(o, d, st, acc)); err != nil {
		return changed, err
	}
	if err := note(c.writeClientPair(d)); err != nil {
		return changed, err
	}
	if !d.HtpasswdKeep {
		if err := note(c.writeOptional(c.Paths.Htpasswd(), d.Htpasswd, readOnly, 0, acc.GID)); err != nil {
			return changed, err
		}
	}
	st.HtpasswdMemo = d.HtpasswdMemo
	if err := note(c.writeOptional(c.Paths.TokenBundle(), d.TokenBundle, 0o644, 0, acc.GID)); err != nil {
		return changed, err
	}
	err := note(files.Write(files.File{Path: c.Paths.ConfigFile(), Content: d.Registry, Mode: readOnly, UID: 0, GID: acc.GID}))
	return changed, err
}

// writeOptional writes content, or removes the file when content is nil.
func (c *Charm) writeOptional(path string, content []byte, mode fs.FileMode, uid, gid int) (bool, error) {
	if content == nil {
		return files.Remove(path)
	}
	return files.Write(files.File{Path: path, Content: content, Mode: mode, UID: uid, GID: gid})
}

func (c *Charm) writeTLS(o *Observed, d *Desired, st *LocalState, acc service.Account) (bool, error) {
	cfg := o.Config
	paths := []string{c.Paths.At(cfg.TLSCertPath), c.Paths.At(cfg.TLSKeyPath), c.Paths.At(cfg.TLSCAPath)}
	if d.TLS == nil || d.TLS.Source == tlsFromFiles {
		if st.TLSSource == "" {
			return false, nil
		}
		// Serving http again: remove only the files this charm wrote.
		st.TLSSource = ""
		return removeAll(paths)
	}
	st.TLSSource = d.TLS.Source
	m := d.TLS.Material
	want := []files.File{
		{Path: paths[0], Content: m.Cert, Mode: 0o644, UID: 0, GID: acc.GID},
		{Path: paths[1], Content: m.Key, Mode: readOnly, UID: 0, GID: acc.GID},
	}
	changed, err := writeAll(want)
	if err != nil {
		return changed, err
	}
	ch, err := c.writeOptional(paths[2], nilIfEmpty(m.CA), 0o644, 0, acc.GID)
	return changed || ch, err
}

func (c *Charm) writeClientPair(d *Desired) (bool, error) {
	if d.ClientPair == nil {
		return removeAll([]string{c.Paths.ClientCert(), c.Paths.ClientKey()})
	}
	return writeAll([]files.File{
		{Path: c.Paths.ClientCert(), Content: d.ClientPair.Cert, Mode: 0o600},
		{Path: c.Paths.ClientKey(), Content: d.ClientPair.Key, Mode: 0o600},
	})
}

func (c *Charm) writeUnits(d *Desired) (units, socket bool, err error) {
	dir := c.Paths.UnitDir()
	if units, err = files.Write(files.File{Path: filepath.Join(dir, service.ServiceUnit), Content: d.Service, Mode: 0o644}); err != nil {
		return
	}
	socket, err = files.Write(files.File{Path: filepath.Join(dir, service.SocketUnit), Content: d.Socket, Mode: 0o644})
	return units || socket, socket, err
}

func writeAll(fs []files.File) (bool, error) {
	changed := false
	for _, f := range fs {
		ch, err := files.Write(f)
		if err != nil {
			return changed, err
		}
		changed = changed || ch
	}
	return changed, nil
}

func removeAll(paths []string) (bool, error) {
	changed := false
	for _, p := range paths {
		ch, err := files.Remove(p)
		if err != nil {
			return changed, err
		}
		changed = changed || ch
	}
	return changed, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
