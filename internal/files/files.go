// Package files writes the charm's files atomically and only when their
// content, mode or owner differ, so a reconcile that changes nothing
// touches nothing (and reports that nothing changed).
package files

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// File is one desired file.
type File struct {
	Path     string
	Content  []byte
	Mode     fs.FileMode
	UID, GID int
}

// Write makes the file on disk equal to f and reports whether anything
// changed. Content goes to a temporary file in the same directory that is
// renamed over the target, so a reader (the registry) never sees a partial
// file.
func Write(f File) (bool, error) {
	cur, err := os.ReadFile(f.Path)
	if err == nil && bytes.Equal(cur, f.Content) {
		return fixMeta(f)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("cannot read %s: %w", f.Path, err)
	}
	if err := MkdirAll(filepath.Dir(f.Path), ParentMode); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), "."+filepath.Base(f.Path)+".tmp-")
	if err != nil {
		return false, fmt.Errorf("cannot write %s: %w", f.Path, err)
	}
	defer os.Remove(tmp.Name())
	if err := writeTemp(tmp, f); err != nil {
		return false, fmt.Errorf("cannot write %s: %w", f.Path, err)
	}
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return false, fmt.Errorf("cannot write %s: %w", f.Path, err)
	}
	return true, nil
}

// Differs reports whether Write(f) would change anything on disk: the
// content, mode or owner differ, or the file is missing. It writes
// nothing, so a caller can record what it is about to change first.
func Differs(f File) (bool, error) {
	cur, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read %s: %w", f.Path, err)
	}
	if !bytes.Equal(cur, f.Content) {
		return true, nil
	}
	st, err := os.Stat(f.Path)
	if err != nil {
		return false, fmt.Errorf("cannot stat %s: %w", f.Path, err)
	}
	if st.Mode().Perm() != f.Mode.Perm() {
		return true, nil
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && (int(sys.Uid) != f.UID || int(sys.Gid) != f.GID), nil
}

// Exists reports whether path exists (a removal would change something).
func Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func writeTemp(tmp *os.File, f File) error {
	// Mode and owner are set before any byte is written so a secret is
	// never readable by others, not even for an instant.
	if err := tmp.Chmod(f.Mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chown(f.UID, f.GID); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(f.Content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	return tmp.Close()
}

func fixMeta(f File) (bool, error) {
	st, err := os.Stat(f.Path)
	if err != nil {
		return false, fmt.Errorf("cannot stat %s: %w", f.Path, err)
	}
	changed := false
	if st.Mode().Perm() != f.Mode.Perm() {
		if err := os.Chmod(f.Path, f.Mode); err != nil {
			return false, fmt.Errorf("cannot chmod %s: %w", f.Path, err)
		}
		changed = true
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && (int(sys.Uid) != f.UID || int(sys.Gid) != f.GID) {
		if err := os.Chown(f.Path, f.UID, f.GID); err != nil {
			return false, fmt.Errorf("cannot chown %s: %w", f.Path, err)
		}
		changed = true
	}
	return changed, nil
}

// Remove deletes the file if it exists and reports whether it did.
func Remove(path string) (bool, error) {
	err := os.Remove(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, fmt.Errorf("cannot remove %s: %w", path, err)
}

// ParentMode is the mode of every missing parent directory the charm
// creates: traversable and listable by all, writable by root only, as
// /etc/docker is where a package makes it. A parent must never take the
// mode of the directory below it: /etc/docker made 0750 root:root keeps
// the service user out of its own /etc/docker/registry.
const ParentMode fs.FileMode = 0o755

// MkdirAll creates dir and each missing parent with exactly mode (not
// filtered by the process umask, which a hook inherits from Juju).
// Directories that exist are left as they are.
func MkdirAll(dir string, mode fs.FileMode) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("cannot create %s: a file is in the way", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := MkdirAll(parent, mode); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("cannot chmod %s: %w", dir, err)
	}
	return nil
}

// EnsureDir creates dir with the mode and owner given, fixing them if the
// directory exists with others. Missing parents get ParentMode.
func EnsureDir(dir string, mode fs.FileMode, uid, gid int) error {
	if err := MkdirAll(filepath.Dir(dir), ParentMode); err != nil {
		return err
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("cannot chmod %s: %w", dir, err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("cannot chown %s: %w", dir, err)
	}
	return nil
}
