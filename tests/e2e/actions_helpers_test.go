package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// runAction runs an action like `juju run --wait` and fails the test if
// the model refuses it (bad params); the action's own failure is the
// caller's to check. Every result is checked for the secrets first.
func runAction(t testing.TB, e *deploy.Env, unit, action string, params map[string]any, secrets ...string) sim.ActionResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := e.Model.RunAction(ctx, unit, action, params)
	if err != nil {
		t.Fatalf("juju run %s %s: %v", unit, action, err)
	}
	t.Logf("%s %s: %s in %s", unit, action, res.Status, time.Since(start).Round(time.Millisecond))
	assertNoSecret(t, e, res, secrets...)
	return res
}

// mustComplete fails the test unless the action completed.
func mustComplete(t testing.TB, res sim.ActionResult) {
	t.Helper()
	if res.Failed() {
		t.Fatalf("%s failed: %s\nresults: %v\nlogs: %s", res.Name, res.Message, flatResults(res), strings.Join(res.Logs, "\n"))
	}
}

// result is one value of the action's results by its dotted key, as
// `juju show-task` prints them ("images.0.digest").
func result(res sim.ActionResult, key string) string {
	return flatResults(res)[key]
}

// flatResults flattens the nested results into dotted keys.
func flatResults(res sim.ActionResult) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, x)
			}
		case map[string]string:
			for k, x := range v {
				walk(prefix+"."+k, x)
			}
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", res.Results)
	return out
}

// assertNoSecret checks that none of the secrets shows anywhere an
// operator (or anyone with juju show-task / debug-log) can read: the
// action's message, results, stdout/stderr, action-log lines, and the
// unit's juju-log. Failures name the place, never the secret.
func assertNoSecret(t testing.TB, e *deploy.Env, res sim.ActionResult, secrets ...string) {
	t.Helper()
	for i, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(res.Message, s) {
			t.Errorf("%s: secret #%d appears in the action's failure message", res.Name, i)
		}
		for k, v := range flatResults(res) {
			if strings.Contains(v, s) {
				t.Errorf("%s: secret #%d appears in result %q", res.Name, i, k)
			}
		}
		for n, l := range res.Logs {
			if strings.Contains(l, s) {
				t.Errorf("%s: secret #%d appears in action-log line %d", res.Name, i, n)
			}
		}
		for n, l := range e.Model.Unit(res.Unit).Logs() {
			if strings.Contains(l.Message, s) {
				t.Errorf("%s: secret #%d appears in juju-log line %d (%s)", res.Name, i, n, l.Hook)
			}
		}
	}
}

// diskUsage adds up the sizes of the files under dir on a machine's disk
// (its overlay upper layer: everything the unit wrote there).
func diskUsage(t testing.TB, hostDir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(hostDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("cannot measure %s: %v", hostDir, err)
	}
	return n
}

// platformsOf lists the platforms of an index, sorted.
func platformsOf(t testing.TB, idx v1.ImageIndex) []string {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range m.Manifests {
		if d.Platform != nil {
			out = append(out, d.Platform.String())
		}
	}
	sort.Strings(out)
	return out
}

// pullIntact reads ref (an index or an image) from a registry, every
// manifest and every blob, and checks each blob's sha256 against its
// digest; it returns the number of blob bytes read. A registry that lost
// a blob but still claims it (a stale blob-descriptor cache after garbage
// collection) fails here.
func pullIntact(t testing.TB, ref name.Reference, opts ...remote.Option) int64 {
	t.Helper()
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		t.Fatalf("cannot pull %s: %v", ref, err)
	}
	var images []v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range m.Manifests {
			img, err := remote.Image(ref.Context().Digest(d.Digest.String()), opts...)
			if err != nil {
				t.Fatalf("cannot pull %s@%s: %v", ref.Context(), d.Digest, err)
			}
			images = append(images, img)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, img)
	}
	var total int64
	for _, img := range images {
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			total += fetchBlob(t, ref.Context(), d, opts...)
		}
	}
	return total
}

// fetchBlob GETs one blob and checks its length and sha256.
func fetchBlob(t testing.TB, repo name.Repository, d v1.Descriptor, opts ...remote.Option) int64 {
	t.Helper()
	l, err := remote.Layer(repo.Digest(d.Digest.String()), opts...)
	if err != nil {
		t.Fatalf("cannot get blob %s: %v", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		t.Fatalf("cannot get blob %s of %s: %v", d.Digest, repo, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("cannot read blob %s of %s: %v", d.Digest, repo, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest.String() || n != d.Size {
		t.Fatalf("blob %s of %s came back as %s, %d bytes (want %d)", d.Digest, repo, got, n, d.Size)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
