package remote

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// containerdDump loads config.toml with the real containerd 1.6 (the
// package the tests install) and returns the configuration it read.
func containerdDump(t *testing.T, config string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("containerd")
	if err != nil {
		t.Skip("containerd is not installed (make test installs it)")
	}
	f := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(f, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--config", f, "config", "dump").CombinedOutput()
	return string(out), err
}

// What the containerd charm renders for our relation is what containerd
// reads: a mirror of the netloc whose endpoint has no scheme, and the
// auth and tls tables keyed by that netloc.
func TestContainerdReadsTheCharmsRegistrySection(t *testing.T) {
	v := RegistryView{Netloc: "10.0.0.5:5000", HasAuth: true, User: "admin", Password: "s3cr3t'!", HasTLS: true, CA: "x"}
	r := ContainerdRegistryFor(v)
	out, err := containerdDump(t, ContainerdConfig(t.TempDir(), &r))
	if err != nil {
		t.Fatalf("containerd refuses the config: %v\n%s", err, out)
	}
	p := `[plugins."io.containerd.grpc.v1.cri".registry.`
	for _, want := range []string{
		p + `mirrors."10.0.0.5:5000"]` + "\n" + `          endpoint = ["10.0.0.5:5000"]`,
		p + `configs."10.0.0.5:5000".auth]`,
		`password = "s3cr3t'!"`,
		p + `configs."10.0.0.5:5000".tls]`,
		`ca_file = "/root/cdk/ca.crt"`,
		`cert_file = "/root/cdk/server.crt"`,
		`key_file = "/root/cdk/server.key"`,
		`sandbox_image = "10.0.0.5:5000/pause:3.6"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("containerd did not read %q:\n%s", want, out)
		}
	}
}

// The charm pastes credentials unescaped: a quote or a stray backslash
// makes containerd refuse its whole configuration, so the worker's
// containerd does not start again (why our status warns about them).
func TestContainerdRefusesUnescapedCredentials(t *testing.T) {
	for _, pw := range []string{`pa"ss`, `pa\qss`} {
		v := RegistryView{Netloc: "10.0.0.5:5000", HasAuth: true, User: "admin", Password: pw}
		r := ContainerdRegistryFor(v)
		out, err := containerdDump(t, ContainerdConfig(t.TempDir(), &r))
		if err == nil || !strings.Contains(out, "failed to load TOML") {
			t.Errorf("password %q: containerd loaded the config (%v)", pw, err)
		}
	}
}
