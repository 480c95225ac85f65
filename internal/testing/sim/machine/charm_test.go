package machine_test

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

const hook = `#!/bin/sh
echo "hook $JUJU_DISPATCH_PATH in $(pwd)"
echo "HOME=${HOME-unset}"
echo "PATH=$PATH"
systemctl is-active nothing.service
echo "systemctl exit $?"
echo oops >&2
exit 0
`

// packCharm writes a .charm zip whose dispatch has the given mode.
func packCharm(t *testing.T, dispatchMode os.FileMode, extra map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.charm")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	add := func(name, body string, mode os.FileMode) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	add("metadata.yaml", "name: test\nsummary: s\ndescription: d\n", 0o644)
	add("manifest.yaml", "bases:\n- name: ubuntu\n  channel: '22.04'\n  architectures: [amd64]\n", 0o644)
	add("dispatch", hook, dispatchMode)
	for name, body := range extra {
		add(name, body, 0o644)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

var hookEnv = []string{"JUJU_DISPATCH_PATH=hooks/install", "JUJU_UNIT_NAME=test/0", "PATH=/nonexistent-tools"}

func TestDeployCharmHonoursZipModes(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	dir, err := m.DeployCharm("test/0", packCharm(t, 0o755, nil))
	if err != nil {
		t.Fatal(err)
	}
	if dir != "/var/lib/juju/agents/unit-test-0/charm" {
		t.Errorf("charm dir %s", dir)
	}
	r, err := m.Dispatch(context.Background(), "test/0", hookEnv)
	if err != nil {
		t.Fatal(err)
	}
	out := string(r.Stdout)
	for _, want := range []string{
		"hook hooks/install in " + dir + "\n",
		"HOME=unset\n",
		"PATH=/nonexistent-tools:" + m.BinDir() + ":/usr/sbin:/usr/bin:/sbin:/bin\n",
		"inactive\nsystemctl exit 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hook printed %q, want %q in it", out, want)
		}
	}
	if r.ExitCode != 0 || string(r.Stderr) != "oops\n" {
		t.Errorf("hook result %d %q", r.ExitCode, r.Stderr)
	}
	if rev, _ := m.ReadFile(dir + "/revision"); string(rev) != "0" {
		t.Errorf("ExpandTo wrote revision %q", rev)
	}

	// A dispatch packed without the executable bit fails, as in Juju.
	if _, err := m.DeployCharm("bad/0", packCharm(t, 0o644, nil)); err != nil {
		t.Fatal(err)
	}
	r, err = m.Dispatch(context.Background(), "bad/0", hookEnv)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 126 || !strings.Contains(string(r.Stderr), "permission denied") {
		t.Errorf("0644 dispatch: exit %d, %q", r.ExitCode, r.Stderr)
	}
}

func TestUpgradeCharm(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	dir, err := m.DeployCharm("test/0", packCharm(t, 0o644, map[string]string{"old.txt": "old"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFile(dir+"/state.json", []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.UpgradeCharm("test/0", packCharm(t, 0o755, map[string]string{"new.txt": "new"})); err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadFile(dir + "/old.txt"); err == nil {
		t.Errorf("old.txt survived the upgrade")
	}
	for _, f := range []string{"new.txt", "state.json"} {
		if _, err := m.ReadFile(dir + "/" + f); err != nil {
			t.Errorf("%s after upgrade: %v", f, err)
		}
	}
	if r, _ := m.Dispatch(context.Background(), "test/0", hookEnv); r.ExitCode != 0 {
		t.Errorf("upgraded dispatch: %d %s", r.ExitCode, r.Stderr)
	}
	if _, err := os.Stat(m.Path(machine.CharmDir("test/0") + "/new.txt")); err != nil {
		t.Errorf("upper layer: %v", err)
	}
}
