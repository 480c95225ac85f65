package files

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CopyIfChanged installs src at dst when their contents differ, atomically
// (a running program at dst keeps its old inode), and reports whether it
// copied.
func CopyIfChanged(src, dst string, mode fs.FileMode) (bool, error) {
	want, err := digest(src)
	if err != nil {
		return false, err
	}
	have, err := digest(dst)
	if err == nil && have == want {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := copyAtomic(src, dst, mode); err != nil {
		return false, fmt.Errorf("cannot install %s: %w", dst, err)
	}
	return true, nil
}

func digest(path string) ([32]byte, error) {
	var sum [32]byte
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, fmt.Errorf("cannot read %s: %w", path, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func copyAtomic(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := MkdirAll(filepath.Dir(dst), ParentMode); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	// On disk before the rename, and the rename on disk before the
	// charm records the binary as installed: its identity (inode, size,
	// mtime) is trusted from then on, so a power cut must not leave a
	// truncated binary behind an identity that says it is installed.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Identity tells a file apart from another without reading it: a new
// charm binary (upgrade-charm unpacks a new file) has a new inode or mtime.
type Identity struct {
	Inode uint64 `json:"inode,omitempty"`
	Size  int64  `json:"size,omitempty"`
	MTime int64  `json:"mtime,omitempty"`
}

// Identify returns path's identity.
func Identify(path string) (Identity, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Identity{}, fmt.Errorf("cannot stat %s: %w", path, err)
	}
	id := Identity{Size: st.Size(), MTime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		id.Inode = sys.Ino
	}
	return id, nil
}
