package charm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// The pending record says what apply is about to change and systemd has
// not been told of yet (Changes), so that a hook killed between writing
// files and telling systemd is finished by the next one. It is written
// before every hook that changes something, so it costs as little as a
// write can: five bytes, '0' or '1' for Binary, Units, Socket, Env and
// Served, written in place with one write(2). No temporary file, rename
// or fsync: a write of five bytes to the page cache is whole or absent
// when a process is killed, and the page cache outlives the process; after
// a machine crash the service starts afresh from the files on disk, which
// tells it everything the record would have.
const pendingLen = 5

// pendingPath is the record's path, beside the state file.
func pendingPath(statePath string) string { return filepath.Join(filepath.Dir(statePath), "pending") }

// readPending reads the record. Anything but the five flags (a file from
// elsewhere, a truncated one) asks for everything: a restart is the safe
// way to make the service use what may have changed.
func readPending(path string) Changes {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Changes{}
	}
	if err != nil || len(b) != pendingLen {
		return Changes{Binary: true, Units: true, Socket: true, Env: true, Served: true}
	}
	for _, c := range b {
		if c != '0' && c != '1' {
			return Changes{Binary: true, Units: true, Socket: true, Env: true, Served: true}
		}
	}
	return Changes{Binary: b[0] == '1', Units: b[1] == '1', Socket: b[2] == '1', Env: b[3] == '1', Served: b[4] == '1'}
}

// writePending writes the record in place.
func writePending(path string, ch Changes) error {
	flag := func(v bool) byte {
		if v {
			return '1'
		}
		return '0'
	}
	b := []byte{flag(ch.Binary), flag(ch.Units), flag(ch.Socket), flag(ch.Env), flag(ch.Served)}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
