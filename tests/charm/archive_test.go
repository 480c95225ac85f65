// Package charm_test checks the packed docker-registry.charm the way Juju
// reads it (github.com/juju/charm/v12), and pins its compatibility contract
// with the reactive charm it replaces: endpoints, storage, options and
// action parameters.
//
// It uses $CHARM when set (make test packs it first), and otherwise packs
// one itself with tools/mkcharm.
package charm_test

import (
	"archive/zip"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/juju/charm/v12"
)

var (
	packOnce  sync.Once
	packDir   string
	packPath  string
	packError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if packDir != "" {
		os.RemoveAll(packDir)
	}
	os.Exit(code)
}

// charmPath returns the archive under test, packing it once per run.
func charmPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHARM"); p != "" {
		return p
	}
	packOnce.Do(func() { packPath, packError = pack(t) })
	if packError != nil {
		t.Fatal(packError)
	}
	return packPath
}

// pack builds cmd/docker-registry (or, before that command exists, a
// stand-in script) and packs it with tools/mkcharm into a temp dir that
// lives as long as the test binary.
func pack(t *testing.T) (string, error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "charm-archive-test-")
	if err != nil {
		return "", err
	}
	packDir = dir
	bin := filepath.Join(dir, "dispatch")
	if _, err := os.Stat(filepath.Join(root, "cmd", "docker-registry")); err == nil {
		if err := goCmd(root, "build", "-trimpath", "-o", bin, "./cmd/docker-registry"); err != nil {
			return "", err
		}
	} else {
		t.Logf("cmd/docker-registry does not exist yet: packing a stand-in dispatch")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			return "", err
		}
	}
	out := filepath.Join(dir, "docker-registry.charm")
	if err := goCmd(root, "run", "./tools/mkcharm", "-src", root, "-dispatch", bin, "-o", out); err != nil {
		return "", err
	}
	return out, nil
}

func goCmd(dir string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot run go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func readCharm(t *testing.T) *charm.CharmArchive {
	t.Helper()
	ch, err := charm.ReadCharmArchive(charmPath(t))
	if err != nil {
		t.Fatalf("cannot read charm: %v", err)
	}
	return ch
}

func TestArchiveIsValidFormatV2(t *testing.T) {
	ch := readCharm(t)
	if err := charm.CheckMeta(ch); err != nil {
		t.Errorf("CheckMeta: %v", err)
	}
	if err := ch.Manifest().Validate(); err != nil {
		t.Errorf("manifest: %v", err)
	}
	if f := charm.MetaFormat(ch); f != charm.FormatV2 {
		t.Errorf("format = %v, want v2", f)
	}
	var bases []string
	for _, b := range ch.Manifest().Bases {
		for _, arch := range b.Architectures {
			bases = append(bases, b.Name+"@"+b.Channel.Track+"/"+arch)
		}
	}
	slices.Sort(bases)
	// The source manifest supports amd64 and arm64; a packed charm claims
	// only the architecture its dispatch binary runs on.
	want := []string{"ubuntu@22.04/" + runtime.GOARCH, "ubuntu@24.04/" + runtime.GOARCH}
	if !reflect.DeepEqual(bases, want) {
		t.Errorf("bases = %v, want %v", bases, want)
	}
	if len(ch.Meta().Series) != 0 {
		t.Errorf("metadata has series %v; format v2 charms must not", ch.Meta().Series)
	}
}

func TestMetadataMatchesReference(t *testing.T) {
	meta := readCharm(t).Meta()
	if meta.Name != "docker-registry" || meta.Summary == "" || meta.Description == "" {
		t.Errorf("name/summary/description = %q/%q/%q", meta.Name, meta.Summary, meta.Description)
	}
	type endpoint struct {
		role      charm.RelationRole
		iface     string
		container bool
	}
	want := map[string]endpoint{
		"docker-registry":      {charm.RoleProvider, "docker-registry", false},
		"website":              {charm.RoleProvider, "http", false},
		"nrpe-external-master": {charm.RoleProvider, "nrpe-external-master", true},
		"cert-provider":        {charm.RoleRequirer, "tls-certificates", false},
		"peer":                 {charm.RolePeer, "peer-discovery", false},
		// Beyond the reference: the COS collector's subordinate
		// relation (interface cos_agent, container scope as the
		// collector charms declare it).
		"cos-agent": {charm.RoleProvider, "cos_agent", true},
	}
	got := map[string]endpoint{}
	for _, rels := range []map[string]charm.Relation{meta.Provides, meta.Requires, meta.Peers} {
		for name, r := range rels {
			got[name] = endpoint{r.Role, r.Interface, r.Scope == charm.ScopeContainer}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("endpoints = %+v\nwant %+v", got, want)
	}
	s, ok := meta.Storage["registry-data"]
	if !ok || len(meta.Storage) != 1 {
		t.Fatalf("storage = %+v, want only registry-data", meta.Storage)
	}
	if s.Type != charm.StorageFilesystem || s.Location != "/srv/registry" ||
		s.CountMin != 0 || s.CountMax != 1 || s.Description == "" {
		t.Errorf("registry-data = %+v, want an optional (0-1) filesystem at /srv/registry", s)
	}
}

func TestDispatchIsExecutableInZipHeader(t *testing.T) {
	ch := readCharm(t)
	members, err := ch.ArchiveMembers()
	if err != nil {
		t.Fatal(err)
	}
	if !members.Contains("dispatch") {
		t.Fatalf("dispatch missing from %v", members.SortedValues())
	}
	for _, name := range []string{"metadata.yaml", "manifest.yaml", "config.yaml", "actions.yaml", "icon.svg", "LICENSE"} {
		if !members.Contains(name) {
			t.Errorf("%s missing from the archive", name)
		}
	}
	zr, err := zip.OpenReader(charmPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	headers := map[string]*zip.File{}
	for _, f := range zr.File {
		headers[f.Name] = f
	}
	if mode := headers["dispatch"].Mode(); !mode.IsRegular() || mode.Perm() != 0o755 {
		t.Errorf("dispatch zip mode = %v, want a regular file with 0755", mode)
	}
	if headers["revision"] != nil {
		t.Error("archive carries a revision file; Juju assigns local revisions itself")
	}
	// The hooks folder: charmcraft's mandatory hooks, as links
	// (hooks_test.go checks them).
	for name := range headers {
		if hook, ok := strings.CutPrefix(name, "hooks/"); ok && !ch.Meta().Hooks()[hook] {
			t.Errorf("%s is not a hook of this charm's metadata", name)
		}
	}
}

func TestExpandToGivesExecutableDispatch(t *testing.T) {
	ch := readCharm(t)
	dir := t.TempDir()
	if err := ch.ExpandTo(dir); err != nil {
		t.Fatal(err)
	}
	dispatch, err := os.Stat(filepath.Join(dir, "dispatch"))
	if err != nil {
		t.Fatal(err)
	}
	if dispatch.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("expanded dispatch mode = %v, want executable by all", dispatch.Mode())
	}
	// LookPath is how the unit agent finds dispatch; a permission problem
	// there fails every hook.
	if _, err := exec.LookPath(filepath.Join(dir, "dispatch")); err != nil {
		t.Errorf("agent would not run dispatch: %v", err)
	}
	for _, hook := range []string{"install", "start", "upgrade-charm"} {
		fi, err := os.Stat(filepath.Join(dir, "hooks", hook))
		if err != nil || !os.SameFile(fi, dispatch) {
			t.Errorf("hooks/%s does not lead to dispatch: %v", hook, err)
		}
	}
}

func TestActionSchemas(t *testing.T) {
	actions := readCharm(t).Actions().ActionSpecs
	type params = map[string]any
	tests := []struct {
		action   string
		valid    []params
		defaults params // what InsertDefaults must fill into {} (plus required ones given)
		required []string
	}{
		{"push", []params{
			{"image": "docker.io/library/busybox:1.36"},
			{"image": "busybox:1.36 alpine:3.20", "pull": true},
			{"image": "/root/busybox.tar", "tag": "mirror/busybox:1.36", "pull": false,
				"source-username": "u", "source-password": "p"},
		}, params{"pull": true}, []string{"image"}},
		{"images", []params{{}, {"repository": "busybox:1.36", "options": "--digests", "details": true}},
			params{"details": false}, nil},
		{"rmi", []params{{"image": "busybox:1.36 alpine@sha256:0123"}, {"image": "x", "options": "-f"}},
			params{}, []string{"image"}},
		{"start", []params{{}, {"name": "registry"}}, params{}, nil},
		{"stop", []params{{}, {"name": "registry", "remove": false}}, params{"remove": true}, nil},
		{"garbage-collect", []params{{}, {"dry-run": true, "delete-untagged": true}},
			params{"dry-run": false, "delete-untagged": false}, nil},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.action] = true
		spec, ok := actions[tt.action]
		if !ok {
			t.Errorf("action %s missing", tt.action)
			continue
		}
		if spec.Description == "" {
			t.Errorf("action %s has no description", tt.action)
		}
		for _, p := range tt.valid {
			if err := spec.ValidateParams(p); err != nil {
				t.Errorf("%s %v rejected: %v", tt.action, p, err)
			}
		}
		base := params{}
		for _, r := range tt.required {
			base[r] = "x"
		}
		unknown := maps.Clone(base)
		unknown["bogus"] = "1"
		if err := spec.ValidateParams(unknown); err == nil {
			t.Errorf("%s accepted an unknown parameter", tt.action)
		}
		if len(tt.required) > 0 {
			if err := spec.ValidateParams(params{}); err == nil {
				t.Errorf("%s accepted no %v", tt.action, tt.required)
			}
		}
		if err := spec.ValidateParams(params{"dry-run": "yes", "pull": "no", "details": 1, "remove": "x"}); err == nil {
			t.Errorf("%s accepted wrongly typed parameters", tt.action)
		}
		got, err := spec.InsertDefaults(maps.Clone(base))
		if err != nil {
			t.Fatal(err)
		}
		for r := range base {
			delete(got, r)
		}
		if !reflect.DeepEqual(got, tt.defaults) {
			t.Errorf("%s defaults = %v, want %v", tt.action, got, tt.defaults)
		}
	}
	for name := range actions {
		if !seen[name] {
			t.Errorf("action %s is not covered by this test", name)
		}
	}
}

// Every hook starts the packed binary anew, and Go initialises the ~300
// packages distribution brings in before main runs; they allocate enough
// to cross the collector's first heap goal. internal/initgc keeps the
// collector off during that: the shipped binary must run no collection
// before main (gctrace prints one line per collection).
func TestDispatchStartsWithoutCollecting(t *testing.T) {
	ch := readCharm(t)
	dir := t.TempDir()
	if err := ch.ExpandTo(dir); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "dispatch"))
	// No JUJU_DISPATCH_PATH: dispatch prints its usage and exits 2, so
	// whatever collection runs, runs during start-up.
	cmd.Env = []string{"GODEBUG=gctrace=1"}
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "usage:") {
		t.Fatalf("dispatch without a hook environment did not print its usage:\n%s", out)
	}
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "gc ") {
			t.Errorf("a garbage collection ran while dispatch started: %s", line)
		}
	}
}
