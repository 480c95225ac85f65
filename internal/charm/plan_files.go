package charm

import (
	"bytes"
	"io/fs"
	"path/filepath"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// WantFile is one file plan wants on the machine, by its machine path.
type WantFile struct {
	Path string
	// Content is what the file holds; nil: the file is removed.
	Content []byte
	Mode    fs.FileMode
	// Group: owned by root and the registry's group, so that the
	// service reads it; otherwise root's alone.
	Group bool
	// Kind is what the service must do when the file changes.
	Kind Changes
}

// FileState is a managed file as observe found it.
type FileState struct {
	Content  []byte
	Mode     fs.FileMode
	UID, GID int
}

// readOnly is the mode of the secrets the registry reads (config.yml with
// the http secret and storage keys, htpasswd, the TLS key), owned by root
// and group docker-registry.
const readOnly fs.FileMode = 0o640

// planFiles is every file the service reads or is run by, as d wants it.
func planFiles(o *Observed, d *Desired) []WantFile {
	served := Changes{Served: true}
	out := planTLSFiles(o, d)
	add := func(path string, content []byte, mode fs.FileMode, group bool, kind Changes) {
		out = append(out, WantFile{Path: path, Content: content, Mode: mode, Group: group, Kind: kind})
	}
	var clientCert, clientKey []byte
	if d.ClientPair != nil {
		clientCert, clientKey = d.ClientPair.Cert, d.ClientPair.Key
	}
	add(machineClientCert, clientCert, 0o600, false, Changes{})
	add(machineClientKey, clientKey, 0o600, false, Changes{})
	if !d.HtpasswdKeep {
		add(machineHtpasswd, d.Htpasswd, readOnly, true, served)
	}
	add(machineToken, d.TokenBundle, 0o644, true, served)
	add(machineRedisCA, d.RedisCA, 0o644, true, served)
	add(machineConfig, d.Registry, readOnly, true, served)
	add(machineEnvFile, d.EnvFile, 0o600, false, Changes{Env: true})
	add(filepath.Join(machineUnitDir, service.ServiceUnit), d.Service, 0o644, false, Changes{Units: true})
	add(filepath.Join(machineUnitDir, service.SocketUnit), d.Socket, 0o644, false, Changes{Units: true, Socket: true})
	return out
}

// planTLSFiles are the serving certificate, key and CA at tls-*-path.
// Files an operator placed there (TLS from files) are never the charm's to
// write or remove; files the charm wrote are removed when TLS goes.
func planTLSFiles(o *Observed, d *Desired) []WantFile {
	cfg := o.Config
	served := Changes{Served: true}
	var out []WantFile
	keep := map[string]bool{}
	if d.TLS != nil && d.TLS.Source != tlsFromFiles {
		m := d.TLS.Material
		out = append(out,
			WantFile{Path: cfg.TLSCertPath, Content: m.Cert, Mode: 0o644, Group: true, Kind: served},
			WantFile{Path: cfg.TLSKeyPath, Content: m.Key, Mode: readOnly, Group: true, Kind: served})
		keep[cfg.TLSCertPath], keep[cfg.TLSKeyPath] = true, true
		if len(m.CA) > 0 {
			out = append(out, WantFile{Path: cfg.TLSCAPath, Content: m.CA, Mode: 0o644, Group: true, Kind: served})
			keep[cfg.TLSCAPath] = true
		}
	}
	// What the charm wrote before and no longer serves (TLS off, paths
	// moved, the CA gone): removed, and nothing else.
	for _, p := range writtenTLS(cfg, o.Host.State) {
		if !keep[p] {
			out = append(out, WantFile{Path: p, Kind: served})
		}
	}
	return out
}

// managedPaths are the machine paths planFiles may name for this config
// and state, which observe reads.
func managedPaths(cfg config.Config, st LocalState) []string {
	paths := []string{machineClientCert, machineClientKey, machineHtpasswd, machineToken, machineRedisCA,
		machineConfig, machineEnvFile,
		filepath.Join(machineUnitDir, service.ServiceUnit), filepath.Join(machineUnitDir, service.SocketUnit)}
	for _, p := range append([]string{cfg.TLSCertPath, cfg.TLSKeyPath, cfg.TLSCAPath}, writtenTLS(cfg, st)...) {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// fileChanges compares the files plan wants with what observe found and
// returns those to write or remove, with what the service must do about
// them. A file observe did not read, or whose group cannot be known yet
// (the registry's user does not exist), is taken to differ.
func fileChanges(o *Observed, want []WantFile) ([]WantFile, Changes) {
	var todo []WantFile
	var ch Changes
	for _, w := range want {
		if fileDiffers(o, w) {
			todo = append(todo, w)
			ch.add(w.Kind)
		}
	}
	return todo, ch
}

func fileDiffers(o *Observed, w WantFile) bool {
	have, read := o.Host.Files[w.Path]
	switch {
	case !read:
		return true
	case w.Content == nil || have == nil:
		return (w.Content == nil) != (have == nil)
	case !bytes.Equal(have.Content, w.Content) || have.Mode.Perm() != w.Mode.Perm() || have.UID != 0:
		return true
	case !w.Group:
		return have.GID != 0
	}
	acc := o.Host.Account
	return acc == nil || have.GID != acc.GID
}
