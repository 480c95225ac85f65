package files

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteOnlyWhenDifferent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "secret")
	f := File{Path: p, Content: []byte("one"), Mode: 0o600, UID: os.Getuid(), GID: os.Getgid()}
	if changed, err := Write(f); err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	before, _ := os.Stat(p)
	if changed, err := Write(f); err != nil || changed {
		t.Fatalf("same content: changed=%v err=%v", changed, err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Error("an unchanged file was replaced")
	}
	f.Mode = 0o640
	if changed, _ := Write(f); !changed {
		t.Error("a mode change was not applied")
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v", st.Mode().Perm())
	}
	f.Content = []byte("two")
	if changed, _ := Write(f); !changed {
		t.Error("new content not written")
	}
	if got, _ := os.ReadFile(p); string(got) != "two" {
		t.Errorf("content = %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestRemove(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if removed, err := Remove(p); err != nil || removed {
		t.Fatalf("missing file: removed=%v err=%v", removed, err)
	}
	os.WriteFile(p, nil, 0o600)
	if removed, err := Remove(p); err != nil || !removed {
		t.Fatalf("existing file: removed=%v err=%v", removed, err)
	}
}

func TestCopyIfChangedAndIdentity(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "bin", "dst")
	os.WriteFile(src, []byte("binary v1"), 0o644)
	if copied, err := CopyIfChanged(src, dst, 0o755); err != nil || !copied {
		t.Fatalf("first copy: copied=%v err=%v", copied, err)
	}
	if copied, _ := CopyIfChanged(src, dst, 0o755); copied {
		t.Error("an identical binary was copied again")
	}
	if st, _ := os.Stat(dst); st.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v", st.Mode().Perm())
	}
	id1, _ := Identify(src)
	// upgrade-charm unpacks a new file: a new inode.
	os.Remove(src)
	os.WriteFile(src, []byte("binary v2"), 0o644)
	id2, _ := Identify(src)
	if id1 == id2 {
		t.Error("a replaced file has the same identity")
	}
	if copied, _ := CopyIfChanged(src, dst, 0o755); !copied {
		t.Error("a new binary was not installed")
	}
}

// A directory the charm creates never passes its own mode on to the
// parents it had to create, and the umask a hook inherits changes none of
// them: /etc/docker made 0750 on the way to /etc/docker/registry kept the
// service user out of its own configuration.
func TestEnsureDirGivesParentsTheirOwnMode(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	root := t.TempDir()
	dir := filepath.Join(root, "etc", "docker", "registry")
	if err := EnsureDir(dir, 0o750, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		filepath.Join(root, "etc"):           ParentMode,
		filepath.Join(root, "etc", "docker"): ParentMode,
		dir:                                  0o750,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	// A file written below a missing directory: the same.
	f := filepath.Join(root, "opt", "docker-registry", "bin", "x")
	if _, err := Write(File{Path: f, Content: []byte("x"), Mode: 0o755, UID: os.Getuid(), GID: os.Getgid()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(root, "opt"), filepath.Join(root, "opt", "docker-registry", "bin")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != ParentMode {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode().Perm(), err, ParentMode)
		}
	}
	// A parent that exists keeps its mode: it is not the charm's.
	own := filepath.Join(root, "srv")
	if err := os.Mkdir(own, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(own, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := EnsureDir(filepath.Join(own, "registry"), 0o750, os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(own); fi.Mode().Perm() != 0o711 {
		t.Errorf("an existing parent changed mode to %v", fi.Mode().Perm())
	}
}
