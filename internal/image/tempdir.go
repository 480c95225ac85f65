package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CleanTempDir makes dir (mode 0700: extracted images may be private) and
// removes every entry in it last modified before started, the time the
// running action began. Those are what an earlier push left when it was
// killed midway (SIGKILL, a machine that lost power): its deferred cleanup
// never ran, and nothing else would ever remove them. Entries from started
// on belong to the running action. It returns how many entries went.
func CleanTempDir(dir string, started time.Time) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return 0, fmt.Errorf("cannot restrict %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %w", dir, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.ModTime().Before(started) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("cannot remove what an earlier push left in %s: %w", dir, errors.Join(errs...))
	}
	return removed, nil
}
