package charm

import (
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

// applyWorkload writes the files and the binary plan found differ. What
// the service is about to be told is recorded before the first write: a
// hook killed between writing files and reloading would otherwise leave
// nothing different on disk for the retry to see, and the old password,
// certificate or binary would keep serving.
func (c *Charm) applyWorkload(o *Observed, d *Desired, st *LocalState, acc service.Account) error {
	pending := st.Pending
	pending.add(d.Changes)
	if pending != st.Pending {
		st.Pending = pending
		if err := writePending(pendingPath(c.Paths.StateFile()), pending); err != nil {
			return err
		}
	}
	for _, w := range d.Write {
		if err := c.writeFile(w, acc); err != nil {
			return err
		}
	}
	if d.InstallBinary {
		if _, err := files.CopyIfChanged(c.Self, c.Paths.Binary(), 0o755); err != nil {
			return err
		}
		st.InstalledFrom = o.Host.Self
	}
	st.TLSSource, st.TLSFiles = tlsSource(d), tlsWritten(o.Config, d)
	st.HtpasswdMemo = d.HtpasswdMemo
	return nil
}

// writeFile writes or removes one file plan wants, owned by root and,
// where the service reads it, the registry's group.
func (c *Charm) writeFile(w WantFile, acc service.Account) error {
	path := c.Paths.At(w.Path)
	if w.Content == nil {
		_, err := files.Remove(path)
		return err
	}
	gid := 0
	if w.Group {
		gid = acc.GID
	}
	_, err := files.Write(files.File{Path: path, Content: w.Content, Mode: w.Mode, UID: 0, GID: gid})
	return err
}

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
