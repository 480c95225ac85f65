package charm

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// Changes says what apply changed on the machine, which decides how the
// service learns about it. Saved in the state file before anything is
// written, so a hook killed midway leaves them for the next hook.
type Changes struct {
	Binary bool `json:"binary,omitempty"`
	Units  bool `json:"units,omitempty"`
	Socket bool `json:"socket,omitempty"`
	Env    bool `json:"env,omitempty"`
	Served bool `json:"served,omitempty"`
}

func (ch *Changes) add(k Changes) {
	ch.Binary, ch.Units, ch.Socket = ch.Binary || k.Binary, ch.Units || k.Units, ch.Socket || k.Socket
	ch.Env, ch.Served = ch.Env || k.Env, ch.Served || k.Served
}

// managed is one file the reconcile keeps as desired: written, or
// removed when remove is set, and what the service must do when it
// changes.
type managed struct {
	files.File
	remove bool
	kind   Changes
}

func (f managed) differs() (bool, error) {
	if f.remove {
		return files.Exists(f.Path), nil
	}
	return files.Differs(f.File)
}

func (f managed) apply() error {
	if f.remove {
		_, err := files.Remove(f.Path)
		return err
	}
	_, err := files.Write(f.File)
	return err
}

// applyWorkload makes the machine match d: files, units, service state.
// It returns what changed, with what an earlier hook changed but did not
// get to tell systemd about. What is about to change is recorded before
// the first write: a hook killed between writing files and reloading
// would otherwise leave nothing different on disk for the retry to see,
// and the old password, certificate or binary would keep serving.
func (c *Charm) applyWorkload(ctx context.Context, o *Observed, d *Desired, st *LocalState) (Changes, error) {
	ch := st.Pending
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
	var todo []managed
	for _, f := range c.workloadFiles(o, d, st, acc) {
		differs, err := f.differs()
		if err != nil {
			return ch, err
		}
		if differs {
			todo = append(todo, f)
			ch.add(f.kind)
		}
	}
	newBinary, id, err := c.binaryDiffers(st)
	if err != nil {
		return ch, err
	}
	ch.Binary = ch.Binary || newBinary
	if ch != st.Pending {
		st.Pending = ch
		if err := saveState(c.Paths.StateFile(), *st); err != nil {
			return ch, err
		}
	}
	for _, f := range todo {
		if err := f.apply(); err != nil {
			return ch, err
		}
	}
	if newBinary {
		if _, err := files.CopyIfChanged(c.Self, c.Paths.Binary(), 0o755); err != nil {
			return ch, err
		}
		st.InstalledFrom = id
	}
	st.TLSSource, st.TLSFiles = tlsSource(d), tlsWritten(o.Config, d)
	st.HtpasswdMemo = d.HtpasswdMemo
	return ch, nil
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

// binaryDiffers says whether the running charm binary must be copied to
// the stable path the service runs (the charm directory is replaced on
// upgrade-charm and removed with the unit). Hashing two binaries of tens
// of megabytes would dominate every hook, so a binary whose identity
// (inode, size, mtime) is the one installed last time is trusted to be
// unchanged; the copy is synced to disk before that identity is recorded.
func (c *Charm) binaryDiffers(st *LocalState) (bool, files.Identity, error) {
	if c.Self == "" {
		return false, files.Identity{}, nil
	}
	id, err := files.Identify(c.Self)
	if err != nil {
		return false, id, err
	}
	if id == st.InstalledFrom && files.Exists(c.Paths.Binary()) {
		return false, id, nil
	}
	return true, id, nil
}

// workloadFiles is every file the service reads or is run by, as d wants
// it.
func (c *Charm) workloadFiles(o *Observed, d *Desired, st *LocalState, acc service.Account) []managed {
	served := Changes{Served: true}
	var out []managed
	add := func(path string, content []byte, mode fs.FileMode, uid, gid int, kind Changes) {
		out = append(out, managed{File: files.File{Path: path, Content: content, Mode: mode, UID: uid, GID: gid}, remove: content == nil, kind: kind})
	}
	out = append(out, c.tlsFiles(o, d, st, acc)...)
	if d.ClientPair == nil {
		add(c.Paths.ClientCert(), nil, 0, 0, 0, Changes{})
		add(c.Paths.ClientKey(), nil, 0, 0, 0, Changes{})
	} else {
		add(c.Paths.ClientCert(), d.ClientPair.Cert, 0o600, 0, 0, Changes{})
		add(c.Paths.ClientKey(), d.ClientPair.Key, 0o600, 0, 0, Changes{})
	}
	if !d.HtpasswdKeep {
		add(c.Paths.Htpasswd(), d.Htpasswd, readOnly, 0, acc.GID, served)
	}
	add(c.Paths.TokenBundle(), d.TokenBundle, 0o644, 0, acc.GID, served)
	add(c.Paths.RedisCA(), d.RedisCA, 0o644, 0, acc.GID, served)
	add(c.Paths.ConfigFile(), d.Registry, readOnly, 0, acc.GID, served)
	add(c.Paths.EnvFile(), d.EnvFile, 0o600, 0, 0, Changes{Env: true})
	dir := c.Paths.UnitDir()
	add(filepath.Join(dir, service.ServiceUnit), d.Service, 0o644, 0, 0, Changes{Units: true})
	add(filepath.Join(dir, service.SocketUnit), d.Socket, 0o644, 0, 0, Changes{Units: true, Socket: true})
	return out
}

// tlsFiles are the serving certificate, key and CA at tls-*-path. Files an
// operator placed there (TLS from files) are never the charm's to write or
// remove; files the charm wrote are removed when TLS goes.
func (c *Charm) tlsFiles(o *Observed, d *Desired, st *LocalState, acc service.Account) []managed {
	cfg := o.Config
	served := Changes{Served: true}
	var out []managed
	keep := map[string]bool{}
	if d.TLS != nil && d.TLS.Source != tlsFromFiles {
		m := d.TLS.Material
		out = append(out,
			managed{File: files.File{Path: c.Paths.At(cfg.TLSCertPath), Content: m.Cert, Mode: 0o644, UID: 0, GID: acc.GID}, kind: served},
			managed{File: files.File{Path: c.Paths.At(cfg.TLSKeyPath), Content: m.Key, Mode: readOnly, UID: 0, GID: acc.GID}, kind: served})
		keep[cfg.TLSCertPath], keep[cfg.TLSKeyPath] = true, true
		if len(m.CA) > 0 {
			out = append(out, managed{File: files.File{Path: c.Paths.At(cfg.TLSCAPath), Content: m.CA, Mode: 0o644, UID: 0, GID: acc.GID}, kind: served})
			keep[cfg.TLSCAPath] = true
		}
	}
	// What the charm wrote before and no longer serves (TLS off, paths
	// moved, the CA gone): removed, and nothing else.
	for _, p := range writtenTLS(cfg, *st) {
		if !keep[p] {
			out = append(out, managed{File: files.File{Path: c.Paths.At(p)}, remove: true, kind: served})
		}
	}
	return out
}

// writtenTLS are the tls-*-path files the charm wrote. A state file from
// before they were recorded says only that it wrote some (TLSSource): then
// they are at the configured paths.
func writtenTLS(cfg config.Config, st LocalState) []string {
	if len(st.TLSFiles) > 0 || st.TLSSource == "" {
		return st.TLSFiles
	}
	return []string{cfg.TLSCertPath, cfg.TLSKeyPath, cfg.TLSCAPath}
}

// tlsWritten are the machine paths apply leaves written for d.
func tlsWritten(cfg config.Config, d *Desired) []string {
	if d.TLS == nil || d.TLS.Source == tlsFromFiles {
		return nil
	}
	out := []string{cfg.TLSCertPath, cfg.TLSKeyPath}
	if len(d.TLS.Material.CA) > 0 {
		out = append(out, cfg.TLSCAPath)
	}
	return out
}

// tlsSource is who the files at tls-*-path belong to after apply: the
// charm ("config" or "relation"), or nobody it may touch ("").
func tlsSource(d *Desired) string {
	if d.TLS == nil || d.TLS.Source == tlsFromFiles {
		return ""
	}
	return d.TLS.Source
}

// applyAll runs op (files.Write, files.Remove) on every item in order and
// stops at the first error.
func applyAll[T any](items []T, op func(T) (bool, error)) error {
	for _, it := range items {
		if _, err := op(it); err != nil {
			return err
		}
	}
	return nil
}
