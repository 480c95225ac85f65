package files

import (
	"os"
	"path/filepath"
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
