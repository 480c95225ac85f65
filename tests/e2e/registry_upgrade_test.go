package e2e

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// upgrade-charm to a charm whose binary differs: the registry keeps its
// data (an image pushed before pulls by digest afterwards) and the
// process that serves is the new binary, not the old one left running.
func TestUpgradeCharmKeepsDataRunsNewBinary(t *testing.T) {
	u := regDeploy(t, nil)
	plain := deploy.Client{Env: u.E}
	im := u.Push(plain, 5000, "demo/upgrade:v1")
	oldPID := u.MainPID()
	installed := "/opt/docker-registry/bin/docker-registry"
	oldSum := u.sha256(installed)

	newCharm := buildUpgradeCharm(t)
	newSum := dispatchSum(t, newCharm)
	if newSum == oldSum {
		t.Fatalf("the second charm's dispatch is the same binary as the deployed one (%s)", newSum)
	}

	mark := u.E.Model.HookMark()
	start := time.Now()
	if err := u.E.UpgradeCharm(context.Background(), newCharm); err != nil {
		t.Fatalf("upgrade-charm: %v\nservice log (tail):\n%s", err, u.LogTail(30))
	}
	t.Logf("upgrade sequence %v in %v", sim.HookNames(u.E.Model.Hooks(mark), u.Name), time.Since(start).Round(time.Millisecond))
	u.WantReady(5000, "http")

	if got := u.sha256(installed); got != newSum {
		t.Errorf("%s after the upgrade is %s, want the new dispatch %s (old %s)", installed, got, newSum, oldSum)
	}
	pid := u.MainPID()
	if pid == 0 {
		t.Fatal("no registry process after the upgrade")
	}
	if got := u.sha256("/proc/" + strconv.Itoa(pid) + "/exe"); got != newSum {
		t.Errorf("the running registry (pid %d, was %d) is binary %s, want the new one %s", pid, oldPID, got, newSum)
	}
	if err := u.PullByDigest(plain, 5000, im); err != nil {
		t.Fatalf("pull by digest after the upgrade: %v", err)
	}
	u.Push(plain, 5000, "demo/upgrade:v2")
}

// sha256 hashes a file inside the machine.
func (u *regUnit) sha256(path string) string {
	u.T.Helper()
	f := strings.Fields(u.Run("sha256sum", path))
	if len(f) == 0 {
		u.T.Fatalf("sha256sum %s: no output", path)
	}
	return f[0]
}

// buildUpgradeCharm packs a charm from this tree whose binary differs from
// `make charm`'s: the same flags plus an -X the program ignores, which
// changes the build information embedded in the binary.
func buildUpgradeCharm(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "dispatch")
	build := exec.Command("go", "build", "-trimpath",
		"-ldflags=-s -w -X main.e2eUpgradeMarker=upgraded", "-o", bin, "./cmd/docker-registry")
	build.Dir = deploy.RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the second charm binary: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "docker-registry.charm")
	pack := exec.Command("go", "run", "./tools/mkcharm", "-src", ".", "-dispatch", bin, "-o", out)
	pack.Dir = deploy.RepoRoot()
	if b, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("cannot pack the second charm: %v\n%s", err, b)
	}
	return out
}

// dispatchSum is the sha256 of the dispatch binary inside a packed charm.
func dispatchSum(t *testing.T, charm string) string {
	t.Helper()
	z, err := zip.OpenReader(charm)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		if f.Name != "dispatch" {
			continue
		}
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	t.Fatalf("%s has no dispatch", charm)
	return ""
}
