// Command mkcharm packs docker-registry.charm: the zip archive Juju deploys.
//
// It does what `charmcraft pack` would for this charm, without charmcraft:
// the contract files, the Go binary as `dispatch` (mode 0755 in its zip
// header, which is where Juju's extraction takes file modes from), and the
// source's hooks/ folder: links to ../dispatch for the hooks charmcraft
// always creates (install, start, upgrade-charm; charmcraft/const.py
// MANDATORY_HOOK_NAMES, charm_builder.py handle_dispatcher), which agents
// older than 2.8, that do not know dispatch, run by name.
//
// The archive is deterministic: entries are sorted and carry a fixed time,
// so the same inputs always give the same bytes.
//
// Usage:
//
//	mkcharm [-src DIR] [-dispatch FILE] [-o FILE]
package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/juju/charm/v12"

	"github.com/canonical/docker-registry-charm/internal/cos"
)

// requiredFiles must be in the source directory; optionalFiles are packed
// when present.
var (
	requiredFiles = []string{"metadata.yaml", "manifest.yaml", "config.yaml", "actions.yaml"}
	optionalFiles = []string{"README.md", "icon.svg", "LICENSE"}
)

// epoch is every entry's modification time. Zip stores DOS times, which
// start in 1980; any fixed time gives reproducible archives.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	src := flag.String("src", ".", "directory holding metadata.yaml and the other charm files")
	dispatch := flag.String("dispatch", "build/dispatch", "the charm binary, packed as dispatch")
	out := flag.String("o", "docker-registry.charm", "archive to write")
	flag.Parse()
	if err := run(*src, *dispatch, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkcharm:", err)
		os.Exit(1)
	}
}

func run(src, dispatch, out string) error {
	entries, err := collect(src, dispatch)
	if err != nil {
		return err
	}
	data, err := pack(entries)
	if err != nil {
		return err
	}
	if err := check(data); err != nil {
		return err
	}
	return writeAtomic(out, data)
}

// entry is one archive member.
type entry struct {
	name string
	mode fs.FileMode // fs.ModeSymlink for links, whose data is the target
	data []byte
}

// collect reads every member from disk and derives the hook links.
func collect(src, dispatch string) ([]entry, error) {
	var entries []entry
	for _, name := range requiredFiles {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return nil, fmt.Errorf("cannot read charm file: %w", err)
		}
		entries = append(entries, entry{name: name, mode: 0o644, data: data})
	}
	for _, name := range optionalFiles {
		data, err := os.ReadFile(filepath.Join(src, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read charm file: %w", err)
		}
		entries = append(entries, entry{name: name, mode: 0o644, data: data})
	}
	// The alert rules and dashboard the charm publishes over cos-agent,
	// the bytes its binary embeds, where a Python charm keeps them, for
	// operators to read.
	for _, f := range append(cos.MetricsRules(), cos.Dashboards()...) {
		entries = append(entries, entry{name: f.Path, mode: 0o644, data: f.Data})
	}
	bin, err := os.ReadFile(dispatch)
	if err != nil {
		return nil, fmt.Errorf("cannot read dispatch binary: %w", err)
	}
	entries = append(entries, entry{name: "dispatch", mode: 0o755, data: bin})
	if err := restrictToArch(entries, bin); err != nil {
		return nil, err
	}

	hooks, err := hookLinks(src)
	if err != nil {
		return nil, err
	}
	entries = append(entries, hooks...)
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	return entries, nil
}

// restrictToArch rewrites the manifest entry for the binary's architecture.
func restrictToArch(entries []entry, bin []byte) error {
	arch, err := elfArch(bin)
	if err != nil {
		return err
	}
	for i := range entries {
		if entries[i].name == "manifest.yaml" {
			m, err := manifestFor(entries[i].data, arch)
			if err != nil {
				return err
			}
			entries[i].data = m
		}
	}
	return nil
}

// mandatoryHooks are the hooks charmcraft puts in every charm it packs
// (charmcraft/const.py MANDATORY_HOOK_NAMES).
var mandatoryHooks = []string{"install", "start", "upgrade-charm"}

// dispatchLink is the one target a hook may have.
const dispatchLink = "../dispatch"

// hookLinks reads the source's hooks/ folder: every entry must be a link
// to ../dispatch named for a hook of the metadata, and charmcraft's
// mandatory hooks must be there. Anything else is refused, so a stray
// script or a link out of the charm never ships.
func hookLinks(src string) ([]entry, error) {
	known, err := hookNames(filepath.Join(src, "metadata.yaml"))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(src, "hooks")
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the hooks folder: %w", err)
	}
	var entries []entry
	for _, de := range des {
		name := de.Name()
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil || target != dispatchLink {
			return nil, fmt.Errorf("hooks/%s must be a link to %s", name, dispatchLink)
		}
		if !known[name] {
			return nil, fmt.Errorf("hooks/%s is not a hook of this charm's metadata", name)
		}
		entries = append(entries, entry{name: "hooks/" + name, mode: fs.ModeSymlink | 0o777, data: []byte(dispatchLink)})
	}
	for _, h := range mandatoryHooks {
		if !slices.ContainsFunc(entries, func(e entry) bool { return e.name == "hooks/"+h }) {
			return nil, fmt.Errorf("hooks/%s is missing: charmcraft packs install, start and upgrade-charm", h)
		}
	}
	return entries, nil
}

// hookNames is every hook Juju may run for this metadata (unit, secret,
// relation and storage hooks), as juju/charm computes them.
func hookNames(metadataPath string) (map[string]bool, error) {
	f, err := os.Open(metadataPath)
	if err != nil {
		return nil, fmt.Errorf("cannot read metadata: %w", err)
	}
	defer f.Close()
	meta, err := charm.ReadMeta(f)
	if err != nil {
		return nil, fmt.Errorf("cannot parse metadata: %w", err)
	}
	return meta.Hooks(), nil
}

// pack writes the entries, in order, into a zip archive. Hooks stay
// symlinks: juju/utils' zip extraction, which Juju's CharmArchive.ExpandTo
// uses, recreates entries with the symlink mode as symlinks (a relative
// target that stays inside the charm). charmcraft zips with Python's
// ZipFile.write (charmcraft/utils/file.py build_zip), which follows links
// and stores a copy of dispatch per hook: harmless for its few-line shell
// dispatch, but here each copy would repeat the whole binary.
func pack(entries []entry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(e.mode)
		if e.mode&fs.ModeSymlink != 0 {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, fmt.Errorf("cannot add %s to archive: %w", e.name, err)
		}
		if _, err := w.Write(e.data); err != nil {
			return nil, fmt.Errorf("cannot add %s to archive: %w", e.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("cannot finish archive: %w", err)
	}
	return buf.Bytes(), nil
}

// check reads the archive back the way Juju does and refuses one Juju
// would refuse, so a broken charm fails the build rather than the deploy.
func check(data []byte) error {
	ch, err := charm.ReadCharmArchiveBytes(data)
	if err != nil {
		return fmt.Errorf("cannot read packed charm: %w", err)
	}
	if err := charm.CheckMeta(ch); err != nil {
		return fmt.Errorf("packed charm has invalid metadata: %w", err)
	}
	if charm.MetaFormat(ch) != charm.FormatV2 {
		return errors.New("packed charm is not format v2: manifest.yaml needs bases and metadata.yaml no series")
	}
	return nil
}

// writeAtomic replaces path with data, so a failed run never leaves a
// truncated charm behind.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mkcharm-*")
	if err != nil {
		return fmt.Errorf("cannot write charm: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write charm: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write charm: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("cannot write charm: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot write charm: %w", err)
	}
	return nil
}
