package machine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// RuntimeDirectory= is created for the service's user with its mode,
// stays writable under ProtectSystem=strict (the rest of /run does not),
// and is gone once the service stops.
func TestRuntimeDirectory(t *testing.T) {
	c := newCloud(t)
	m := newMachine(t, c, "a")
	installSvc(t, m)
	run(t, m, "useradd", "--system", "--no-create-home", "--user-group", "simsvc")
	unit := `[Service]
ExecStart=/usr/local/bin/svc
Environment=ADDR=:8080
User=simsvc
ProtectSystem=strict
RuntimeDirectory=svcrun
RuntimeDirectoryMode=0750
`
	if err := m.WriteFile("/etc/systemd/system/rt.service", []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	mustSystemctl(t, m, "start", "rt")
	base := fmt.Sprintf("http://%s:8080/write?path=", m.Addr())
	eventually(t, "serving", func() error { _, err := get(context.Background(), c, base+"/run/svcrun/a"); return err })
	if got := strings.TrimSpace(run(t, m, "stat", "-c", "%U:%G %a", "/run/svcrun")); got != "simsvc:simsvc 750" {
		t.Errorf("/run/svcrun is %q, want simsvc:simsvc 750", got)
	}
	for path, want := range map[string]string{
		"/run/svcrun/control.sock": "ok",
		"/run/other":               "read-only file system",
	} {
		if got := mustGet(t, c, base+path); !strings.Contains(got, want) {
			t.Errorf("writing %s: %q, want %q", path, got, want)
		}
	}
	if v, _ := m.ReadFile("/run/svcrun/control.sock"); v == nil {
		t.Error("the machine does not see the service's runtime directory")
	}
	mustSystemctl(t, m, "stop", "rt")
	if out, err := m.Command(context.Background(), "test", "-e", "/run/svcrun").CombinedOutput(); err == nil {
		t.Errorf("/run/svcrun outlived the service: %s", out)
	}
	if got := mustSystemctl(t, m, "show", "-p", "RuntimeDirectory", "--value", "rt"); strings.TrimSpace(got) != "svcrun" {
		t.Errorf("show RuntimeDirectory = %q", got)
	}
}
