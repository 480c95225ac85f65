package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/juju/charm/v12"

	"github.com/canonical/docker-registry-charm/internal/cos"
)

// source writes a minimal charm source tree and a stand-in binary.
func source(t *testing.T, metadata string) (src, bin string) {
	t.Helper()
	src = t.TempDir()
	files := map[string]string{
		"metadata.yaml": metadata,
		"manifest.yaml": "bases:\n- name: ubuntu\n  channel: \"24.04\"\n  architectures: [amd64, arm64]\n- name: ubuntu\n  channel: \"22.04\"\n  architectures: [arm64]\n",
		"config.yaml":   "options:\n  a:\n    type: string\n    default: x\n",
		"actions.yaml":  "go:\n  description: d\n",
		"icon.svg":      "<svg/>",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(src, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, h := range mandatoryHooks {
		if err := os.Symlink("../dispatch", filepath.Join(src, "hooks", h)); err != nil {
			t.Fatal(err)
		}
	}
	// A real executable of this machine's architecture: mkcharm reads
	// the binary's architecture to write the packed manifest.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(src, "bin")
	if err := os.WriteFile(bin, self, 0o700); err != nil {
		t.Fatal(err)
	}
	return src, bin
}

const meta = "name: t\nsummary: s\ndescription: d\nrequires:\n  cert:\n    interface: tls-certificates\n" +
	"storage:\n  data:\n    type: filesystem\n    location: /srv/data\n"

func TestPackIsDeterministic(t *testing.T) {
	src, bin := source(t, meta)
	out1 := filepath.Join(t.TempDir(), "a.charm")
	out2 := filepath.Join(t.TempDir(), "b.charm")
	if err := run(src, bin, out1); err != nil {
		t.Fatal(err)
	}
	// A different mtime on the inputs must not change the archive.
	later := epoch.AddDate(3, 0, 0)
	if err := os.Chtimes(bin, later, later); err != nil {
		t.Fatal(err)
	}
	if err := run(src, bin, out2); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("two packs of the same inputs differ (%d and %d bytes)", len(a), len(b))
	}
}

func TestHooksExpandToLinksToDispatch(t *testing.T) {
	src, bin := source(t, meta)
	out := filepath.Join(t.TempDir(), "t.charm")
	if err := run(src, bin, out); err != nil {
		t.Fatal(err)
	}
	ch, err := charm.ReadCharmArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ch.ExpandTo(dir); err != nil {
		t.Fatal(err)
	}
	dispatch, err := os.Stat(filepath.Join(dir, "dispatch"))
	if err != nil {
		t.Fatal(err)
	}
	if dispatch.Mode().Perm() != 0o755 {
		t.Errorf("dispatch mode = %v, want 0755", dispatch.Mode().Perm())
	}
	for _, hook := range []string{"install", "start", "upgrade-charm"} {
		p := filepath.Join(dir, "hooks", hook)
		target, err := os.Readlink(p)
		if err != nil {
			t.Errorf("hook %s is not a symlink: %v", hook, err)
			continue
		}
		if target != "../dispatch" {
			t.Errorf("hook %s -> %q, want ../dispatch", hook, target)
		}
		fi, err := os.Stat(p)
		if err != nil || !os.SameFile(fi, dispatch) {
			t.Errorf("hook %s does not resolve to dispatch: %v", hook, err)
		}
	}
	// Only what the hooks folder holds: Juju ≥ 2.8 runs dispatch for
	// every other hook.
	if _, err := os.Lstat(filepath.Join(dir, "hooks", "cert-relation-changed")); err == nil {
		t.Error("hooks/cert-relation-changed packed though the hooks folder does not have it")
	}
}

// The hooks folder ships as it is, or the build fails: a missing
// mandatory hook, a script, a link elsewhere or a hook the metadata does
// not know.
func TestHooksFolderIsChecked(t *testing.T) {
	for name, spoil := range map[string]func(hooks string) error{
		"missing start": func(hooks string) error { return os.Remove(filepath.Join(hooks, "start")) },
		"no folder":     func(hooks string) error { return os.RemoveAll(hooks) },
		"script": func(hooks string) error {
			return os.WriteFile(filepath.Join(hooks, "config-changed"), []byte("#!/bin/sh\n"), 0o755)
		},
		"link out": func(hooks string) error {
			return os.Symlink("/usr/bin/true", filepath.Join(hooks, "config-changed"))
		},
		"unknown hook": func(hooks string) error {
			return os.Symlink("../dispatch", filepath.Join(hooks, "website-relation-joined"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			src, bin := source(t, meta)
			if err := spoil(filepath.Join(src, "hooks")); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "t.charm")
			if err := run(src, bin, out); err == nil || !strings.Contains(err.Error(), "hooks") {
				t.Errorf("packed a charm from a spoilt hooks folder (err %v)", err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a charm was written anyway")
			}
		})
	}
}

func TestRefusesFormatV1(t *testing.T) {
	src, bin := source(t, meta+"series: [jammy]\n")
	out := filepath.Join(t.TempDir(), "t.charm")
	err := run(src, bin, out)
	if err == nil || !strings.Contains(err.Error(), "format v2") {
		t.Errorf("err = %v, want a format v2 error", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Error("an archive was written despite the error")
	}
}

func TestMissingRequiredFile(t *testing.T) {
	src, bin := source(t, meta)
	if err := os.Remove(filepath.Join(src, "actions.yaml")); err != nil {
		t.Fatal(err)
	}
	err := run(src, bin, filepath.Join(t.TempDir(), "t.charm"))
	if err == nil || !strings.HasPrefix(err.Error(), "cannot read charm file") {
		t.Errorf("err = %v, want a missing-file error", err)
	}
}

func TestManifestClaimsOnlyTheBinarysArchitecture(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the source manifest of this test lists amd64 and arm64 bases")
	}
	src, bin := source(t, meta)
	out := filepath.Join(t.TempDir(), "t.charm")
	if err := run(src, bin, out); err != nil {
		t.Fatal(err)
	}
	ch, err := charm.ReadCharmArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	bases := ch.Manifest().Bases
	if len(bases) != 1 || bases[0].Channel.Track != "24.04" || !slices.Equal(bases[0].Architectures, []string{"amd64"}) {
		t.Errorf("packed bases = %+v, want only ubuntu 24.04 on amd64", bases)
	}
}

func TestRefusesADispatchThatIsNotAnExecutable(t *testing.T) {
	src, bin := source(t, meta)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := run(src, bin, filepath.Join(t.TempDir(), "t.charm")); err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Fatalf("err = %v", err)
	}
}

func TestManifestWithoutTheBinarysArchitectureIsRefused(t *testing.T) {
	_, err := manifestFor([]byte("bases:\n- name: ubuntu\n  channel: \"24.04\"\n  architectures: [arm64]\n"), "amd64")
	if err == nil || !strings.Contains(err.Error(), "no base on amd64") {
		t.Fatalf("err = %v", err)
	}
}

// TestPacksCOSFiles: the rules and dashboard land where a Python charm
// keeps them (the dashboard's uid derives from that path), byte for byte
// what the binary publishes.
func TestPacksCOSFiles(t *testing.T) {
	src, bin := source(t, meta)
	out := filepath.Join(t.TempDir(), "t.charm")
	if err := run(src, bin, out); err != nil {
		t.Fatal(err)
	}
	ch, err := charm.ReadCharmArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ch.ExpandTo(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range append(cos.MetricsRules(), cos.Dashboards()...) {
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s: %v (packed %d bytes, embedded %d)", f.Path, err, len(got), len(f.Data))
		}
	}
	for _, p := range []string{"src/prometheus_alert_rules/registry.rules", "src/grafana_dashboards/docker-registry.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not packed: %v", p, err)
		}
	}
}
