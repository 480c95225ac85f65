package machine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A new machine looks like a fresh Ubuntu cloud image, not like the host
// the tests run on. The host has the packages the tests drive installed
// (docker.io, containerd, ...), and those leave directories, accounts and
// groups behind that a real machine of ours never has: with the host's
// /etc/docker (0755, made by docker.io) visible, a charm that created it
// 0750 passed every test and failed on every real machine. So the first
// boot hides them in the machine's overlays.

// hiddenPaths are removed (overlay whiteouts) from a new machine's view.
var hiddenPaths = []string{
	"/etc/docker",
	"/etc/containerd",
	"/var/lib/docker",
	"/var/lib/containerd",
	"/var/lib/docker-registry-charm",
}

// emptyDirs start empty on a new machine (opaque upper directories):
// a cloud image ships nothing in them, and a unit must create what it
// needs there (/srv/registry, /opt/docker-registry).
var emptyDirs = []string{"/srv", "/opt"}

// hiddenGroups and hiddenUsers are accounts the host's packages added.
var (
	hiddenGroups = []string{"docker"}
	hiddenUsers  = []string{"docker-registry"}
)

// freshen makes the upper layer of the overlay on dir, which is being
// created for the machine's first boot, hide what a cloud image lacks.
func freshen(dir, upper string) error {
	for _, d := range emptyDirs {
		if d == dir {
			return setOpaque(upper)
		}
	}
	for _, p := range hiddenPaths {
		rel, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		if err := whiteout(filepath.Join(upper, rel)); err != nil {
			return err
		}
	}
	if dir != "/etc" {
		return nil
	}
	for _, f := range []struct {
		name  string
		names []string
	}{
		{"group", hiddenGroups}, {"gshadow", hiddenGroups},
		{"passwd", hiddenUsers}, {"shadow", hiddenUsers},
	} {
		if err := dropEntries(filepath.Join(dir, f.name), filepath.Join(upper, f.name), f.names); err != nil {
			return err
		}
	}
	return nil
}

// whiteout hides path in the merged view: overlayfs treats a 0/0
// character device in the upper layer as "deleted".
func whiteout(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(path), err)
	}
	if err := unix.Mknod(path, unix.S_IFCHR, 0); err != nil && !os.IsExist(err) {
		return fmt.Errorf("cannot hide %s: %w", path, err)
	}
	return nil
}

func setOpaque(dir string) error {
	if err := unix.Setxattr(dir, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("cannot make %s opaque: %w", dir, err)
	}
	return nil
}

// dropEntries copies the account database src to dst without the lines
// whose first field is one of names, keeping src's mode and owner. A
// missing src is left alone.
func dropEntries(src, dst string, names []string) error {
	data, err := os.ReadFile(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", src, err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), ":")
		if !slices.Contains(names, name) {
			out.WriteString(sc.Text())
			out.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read %s: %w", src, err)
	}
	if err := os.WriteFile(dst, out.Bytes(), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("cannot chown %s: %w", dst, err)
		}
	}
	return os.Chmod(dst, fi.Mode().Perm())
}
