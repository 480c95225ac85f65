package machine

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The simmachine binary is built once per source version and cached in
// the temp dir, so parallel test packages and repeated runs share it.
var built struct {
	once sync.Once
	dir  string // holds simmachine and bin/systemctl
	err  error
}

// BinaryEnv names an environment variable that points at a prebuilt
// simmachine binary (for CI caches); a bin/systemctl link to it is made
// beside it.
const BinaryEnv = "SIMMACHINE_BINARY"

// RaceEnv, when set, builds the agent with the race detector (its
// reports go to <state>/agent.log and the service logs).
const RaceEnv = "SIMMACHINE_RACE"

func agentDir() (string, error) {
	built.once.Do(func() { built.dir, built.err = buildAgent() })
	return built.dir, built.err
}

func buildAgent() (string, error) {
	if bin := os.Getenv(BinaryEnv); bin != "" {
		dir := filepath.Dir(bin)
		return dir, linkSystemctl(dir, bin)
	}
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Dir(file)
	sum, err := sourceHash(src)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(os.TempDir(), "simmachine-"+sum[:16])
	bin := filepath.Join(dir, "simmachine")
	if _, err := os.Stat(filepath.Join(dir, "bin", "journalctl")); err == nil {
		now := time.Now()
		os.Chtimes(bin, now, now) // in use: keeps pruneBuilds away
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", dir, err)
	}
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	args := []string{"build", "-o", tmp}
	if os.Getenv(RaceEnv) != "" {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool(), append(args, "./cmd/simmachine")...)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build simmachine: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("cannot install simmachine: %w", err)
	}
	pruneBuilds(dir)
	return dir, linkSystemctl(dir, bin)
}

// pruneBuilds removes builds of other source versions unused for a day,
// so editing the agent does not fill the temp dir. Running agents exec
// their own binary (the service wrapper), so a build in use must stay.
func pruneBuilds(keep string) {
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(keep), "simmachine-*"))
	for _, d := range old {
		fi, err := os.Stat(filepath.Join(d, "simmachine"))
		if d != keep && err == nil && time.Since(fi.ModTime()) > 24*time.Hour {
			os.RemoveAll(d)
		}
	}
}

// linkSystemctl installs the binary under the names systemctl and
// journalctl; Main switches on its own name.
func linkSystemctl(dir, bin string) error {
	bindir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bindir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", bindir, err)
	}
	for _, name := range []string{"systemctl", "journalctl"} {
		tmp := filepath.Join(bindir, fmt.Sprintf(".%s.%d", name, os.Getpid()))
		os.Remove(tmp)
		if err := os.Link(bin, tmp); err != nil {
			return fmt.Errorf("cannot link %s: %w", name, err)
		}
		if err := os.Rename(tmp, filepath.Join(bindir, name)); err != nil {
			return err
		}
	}
	return nil
}

// sourceHash identifies the agent's source: this package, its command and
// the toolchain.
func sourceHash(src string) (string, error) {
	h := sha256.New()
	io.WriteString(h, runtime.Version()+os.Getenv(RaceEnv))
	files, _ := filepath.Glob(filepath.Join(src, "*.go"))
	more, _ := filepath.Glob(filepath.Join(src, "cmd", "simmachine", "*.go"))
	mod, _ := filepath.Glob(filepath.Join(src, "..", "..", "..", "..", "go.sum"))
	for _, f := range append(append(files, more...), mod...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("cannot hash agent source: %w", err)
		}
		io.WriteString(h, f)
		h.Write(data)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}
