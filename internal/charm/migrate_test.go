package charm

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/service"
)

// The registry's user in these tests: not the test's own (root), so that
// a tree the test writes is the previous charm's root-owned data.
var regUser = service.Account{Name: "docker-registry", UID: 4242, GID: 4343}

// seedReactiveData writes, as the test's user (root), a tree shaped like
// what the reactive charm's registry:2 container left in /srv/registry,
// plus a link out of the tree to a file that must keep its owner.
func seedReactiveData(t *testing.T, root string) (outside string) {
	t.Helper()
	v2 := filepath.Join(root, "srv/registry/docker/registry/v2")
	for _, f := range []string{
		"repositories/old/_layers/sha256/abcd/link",
		"repositories/old/_manifests/tags/v1/current/link",
		"blobs/sha256/ab/abcd/data",
	} {
		p := filepath.Join(v2, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outside = filepath.Join(root, "outside")
	if err := os.WriteFile(outside, []byte("not the registry's"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(v2, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(v2, "escape-dir")); err != nil {
		t.Fatal(err)
	}
	return outside
}

// owners lists every entry under dir not owned by acc.
func notOwned(t *testing.T, dir string, acc service.Account) []string {
	t.Helper()
	var bad []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !ownedBy(fi, acc) {
			bad = append(bad, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

func uidOf(t *testing.T, p string) int {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func takeOverLogs(h *harness) int {
	n := 0
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "gave ") && strings.Contains(l.Message, "/srv/registry to user docker-registry") {
			n++
		}
	}
	return n
}

// A unit installed where the reactive charm's container left root-owned
// data gives the whole tree to the registry's user, once, without
// following links out of it.
func TestRootOwnedDataChangesHandsOnce(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	h := newHarness(t)
	h.account = &regUser
	root := h.unitRoot(unit0)
	outside := seedReactiveData(t, root)
	data := filepath.Join(root, "srv/registry")

	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	if bad := notOwned(t, data, regUser); len(bad) > 0 {
		t.Errorf("still not the registry user's after deploy: %v", bad)
	}
	if uid := uidOf(t, outside); uid != 0 {
		t.Errorf("the target of a link in the tree changed owner to %d", uid)
	}
	if uid := uidOf(t, root); uid != 0 {
		t.Errorf("the target of a directory link in the tree changed owner to %d", uid)
	}
	if n := takeOverLogs(h); n != 1 {
		t.Errorf("%d log lines about the data changing hands, want 1", n)
	}

	// Done is done: the next hooks only look at the marker.
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	if n := takeOverLogs(h); n != 1 {
		t.Errorf("%d log lines about the data changing hands after another hook, want still 1", n)
	}
}

// A walk that did not finish (the hook was killed) left the marker
// root-owned: the next hook walks again, shows maintenance meanwhile and
// ends in the status it had.
func TestUnfinishedTakeOverResumes(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to own files as another user")
	}
	h := newHarness(t)
	h.account = &regUser
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	root := h.unitRoot(unit0)
	seedReactiveData(t, root)
	data := filepath.Join(root, "srv/registry")
	// Half done: some entries already the registry's, the marker not.
	if err := os.Lchown(filepath.Join(data, "docker/registry"), regUser.UID, regUser.GID); err != nil {
		t.Fatal(err)
	}

	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	h.wantStatus(unit0, "active", "Ready at")
	if bad := notOwned(t, data, regUser); len(bad) > 0 {
		t.Errorf("still not the registry user's: %v", bad)
	}
	if n := takeOverLogs(h); n != 1 {
		t.Errorf("%d log lines about the data changing hands, want 1", n)
	}
}

func TestReactiveContainerIsKnownByItsMounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		binds map[string]string
		ports []string
		want  containerKind
	}{
		{"data and config mounted, as the reactive charm ran it",
			map[string]string{"/srv/registry": "/var/lib/registry", "/etc/docker/registry/config.yml": "/etc/docker/registry/config.yml"},
			[]string{"5000->5000/tcp"}, reactiveOurData},
		{"config only: older reactive charms kept the images inside docker",
			map[string]string{"/etc/docker/registry/config.yml": "/etc/docker/registry/config.yml"}, []string{"5000->5000/tcp"}, reactiveOwnData},
		{"data only", map[string]string{"/srv/registry": "/var/lib/registry"}, nil, reactiveOurData},
		{"someone's registry:2 on the same port, own volume",
			map[string]string{"/data/registry": "/var/lib/registry"}, []string{"5000->5000/tcp"}, notReactive},
		{"our data mounted elsewhere", map[string]string{"/srv/registry": "/backup"}, nil, notReactive},
		{"no mounts at all", map[string]string{}, []string{"5000->5000/tcp"}, notReactive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reactiveContainer(service.Container{Name: "registry", Image: "registry:2", Binds: tc.binds, Ports: tc.ports})
			if got != tc.want {
				t.Errorf("reactiveContainer = %v, want %v", got, tc.want)
			}
		})
	}
}
