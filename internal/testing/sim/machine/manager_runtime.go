package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RuntimeDirectory= as systemd.exec(5) describes it: before the service's
// first command, each name becomes /run/<name>, owned by User=/Group= with
// RuntimeDirectoryMode= (0755 by default), writable even under
// ProtectSystem=strict (sandboxOf adds it), and named in
// $RUNTIME_DIRECTORY. It is removed when the service stops, by itself or
// on request, unless RuntimeDirectoryPreserve=yes; =restart keeps it
// across automatic restarts only (systemd also keeps it across
// `systemctl restart`; here that is a stop and a start).

func runtimeDirs(svc *ServiceSection) []string {
	dirs := make([]string, len(svc.RuntimeDirectory))
	for i, d := range svc.RuntimeDirectory {
		dirs[i] = filepath.Join("/run", d)
	}
	return dirs
}

// makeRuntimeDirs creates (or takes over) the service's runtime
// directories. Parents it creates are root's, 0755, as systemd's are.
func (m *manager) makeRuntimeDirs(us *unitState) error {
	svc := &us.unit.Service
	dirs := runtimeDirs(svc)
	if len(dirs) == 0 {
		return nil
	}
	mode := uint64(0o755)
	if svc.RuntimeDirectoryMode != "" {
		mode, _ = strconv.ParseUint(svc.RuntimeDirectoryMode, 8, 32)
	}
	uid, gid := 0, 0
	if svc.User != "" || svc.Group != "" {
		acct, err := lookupAccount(svc.User, svc.Group)
		if err != nil {
			return err
		}
		uid, gid = int(acct.UID), int(acct.GID)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			return fmt.Errorf("cannot create RuntimeDirectory= %s: %w", d, err)
		}
		if err := os.Mkdir(d, os.FileMode(mode)); err != nil && !os.IsExist(err) {
			return fmt.Errorf("cannot create RuntimeDirectory= %s: %w", d, err)
		}
		st, err := os.Lstat(d)
		if err != nil || !st.IsDir() {
			return fmt.Errorf("cannot use RuntimeDirectory= %s: not a directory", d)
		}
		if err := os.Lchown(d, uid, gid); err != nil {
			return fmt.Errorf("cannot chown RuntimeDirectory= %s: %w", d, err)
		}
		if err := os.Chmod(d, os.FileMode(mode)); err != nil {
			return fmt.Errorf("cannot chmod RuntimeDirectory= %s: %w", d, err)
		}
	}
	return nil
}

// removeRuntimeDirs removes them after the service stopped; restarting
// tells an automatic restart from a stop.
func (m *manager) removeRuntimeDirs(us *unitState, restarting bool) {
	switch us.unit.Service.RuntimeDirectoryPreserve {
	case "yes", "true", "1", "on":
		return
	case "restart":
		if restarting {
			return
		}
	}
	for _, d := range runtimeDirs(&us.unit.Service) {
		if err := os.RemoveAll(d); err != nil {
			m.logf(us, "cannot remove RuntimeDirectory= %s: %v", d, err)
		}
	}
}

// runtimeEnv is $RUNTIME_DIRECTORY, when the service has any.
func runtimeEnv(svc *ServiceSection) []string {
	dirs := runtimeDirs(svc)
	if len(dirs) == 0 {
		return nil
	}
	return []string{"RUNTIME_DIRECTORY=" + strings.Join(dirs, ":")}
}
