package e2e

// Actions that must end, and end well, whatever the registry does: a
// registry that is stopped or stuck fails them within a minute naming the
// problem; a registry with 10,000 tags is listed; garbage-collect killed
// mid-sweep leaves a registry that the next hook makes writable again.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// actionBound is what issue 10 asks of an action against a registry that
// does not answer.
const actionBound = 60 * time.Second

// registryActions are the actions that talk to the registry, each with
// parameters that would make it work against a healthy one.
func registryActions(netloc string) []struct {
	name   string
	params map[string]any
} {
	return []struct {
		name   string
		params map[string]any
	}{
		{"push", map[string]any{"image": "/root/none.tar", "pull": false}},
		{"images", map[string]any{"details": true}},
		{"rmi", map[string]any{"image": netloc + "/app:1"}},
		{"garbage-collect", nil},
	}
}

// TestActionsAgainstARegistryThatDoesNotAnswer stops the registry behind
// the charm's back (systemctl in the machine), then freezes it (SIGSTOP:
// the socket accepts connections into its backlog, nothing reads them):
// every registry action fails within the bound and says what it found.
func TestActionsAgainstARegistryThatDoesNotAnswer(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	netloc := deployOne(t, e, map[string]any{"storage-delete": true})
	m := e.Machine(unit0)
	ctx := context.Background()

	check := func(t *testing.T, want string) {
		for _, a := range registryActions(netloc) {
			start := time.Now()
			res := runAction(t, e, unit0, a.name, a.params)
			took := time.Since(start)
			if !res.Failed() || !strings.Contains(res.Message, netloc) || !strings.Contains(res.Message, want) ||
				!strings.Contains(res.Message, "systemctl status docker-registry") {
				t.Errorf("%s: %s %q; want a failure naming %s and saying %q", a.name, res.Status, res.Message, netloc, want)
			}
			if took > actionBound {
				t.Errorf("%s took %s", a.name, took.Round(time.Millisecond))
			}
		}
	}

	t.Run("frozen", func(t *testing.T) {
		pid, err := m.Command(ctx, "systemctl", "show", "-p", "MainPID", "docker-registry.service").Output()
		if err != nil {
			t.Fatal(err)
		}
		mainPID := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(pid)), "MainPID="))
		if mainPID == "" || mainPID == "0" {
			t.Fatalf("no main pid: %q", pid)
		}
		if err := m.Command(ctx, "kill", "-STOP", mainPID).Run(); err != nil {
			t.Fatal(err)
		}
		defer m.Command(ctx, "kill", "-CONT", mainPID).Run()
		check(t, "does not answer within 10s")
	})

	t.Run("stopped", func(t *testing.T) {
		if err := m.Command(ctx, "systemctl", "stop", "docker-registry.socket", "docker-registry.service").Run(); err != nil {
			t.Fatal(err)
		}
		check(t, "refuses connections")
	})
}

// TestImagesWithTenThousandTags: the listing went into one action-set
// argument, which Linux caps at 128 KiB; with 10,000 tags the action
// failed. Tags are made quickly: one small image, its manifest PUT under
// 10,000 tags through the registry API, 32 at a time.
func TestImagesWithTenThousandTags(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	netloc := deployOne(t, e, nil)
	ours := deploy.Client{Env: e}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := ours.Ref(netloc, "many/app:seed")
	if err := remote.Write(seed, img, ours.Options()...); err != nil {
		t.Fatal(err)
	}
	manifest, _ := img.RawManifest()
	mt, _ := img.MediaType()

	const tags = 10000
	start := time.Now()
	tr := ours.Transport()
	tr.MaxIdleConnsPerHost = 32
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= tags {
					return
				}
				url := fmt.Sprintf("http://%s/v2/many/app/manifests/t%05d", netloc, i)
				req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(manifest))
				req.Header.Set("Content-Type", string(mt))
				resp, err := hc.Do(req)
				if err != nil || resp.StatusCode != http.StatusCreated {
					failed.Add(1)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d tag PUTs failed", n, tags)
	}
	t.Logf("%d tags made in %s", tags, time.Since(start).Round(time.Millisecond))

	res := runAction(t, e, unit0, "images", nil)
	mustComplete(t, res)
	flat := flatResults(res)
	if flat["count"] != strconv.Itoa(tags+1) || flat["truncated"] != "true" || flat["repository-count"] != "1" {
		t.Errorf("count %q, truncated %q, repository-count %q", flat["count"], flat["truncated"], flat["repository-count"])
	}
	total := 0
	for k, v := range flat {
		total += len(v)
		if len(v) >= 128<<10 {
			t.Errorf("result %s is %d bytes: over what one process argument may hold", k, len(v))
		}
	}
	t.Logf("images: %d result keys, %d bytes in all", len(flat), total)
	if !strings.Contains(flat["output"], "more tags") || !strings.Contains(flat["output"], flat["file"]) {
		t.Errorf("output does not say where the rest is:\n%s", tail(flat["output"], 5))
	}
	full, err := e.Machine(unit0).ReadFile(flat["file"])
	if err != nil {
		t.Fatalf("cannot read %q on the unit: %v", flat["file"], err)
	}
	lines := strings.Split(strings.TrimSpace(string(full)), "\n")
	if len(lines) != tags+2 { // header, the seed, 10,000 tags
		t.Errorf("%s has %d lines, want %d", flat["file"], len(lines), tags+2)
	}
	if fi, err := statOnMachine(e, flat["file"]); err != nil || fi != "600" {
		t.Errorf("%s mode %s (%v), want 600: root-only", flat["file"], fi, err)
	}
}

func statOnMachine(e *deploy.Env, path string) (string, error) {
	out, err := e.Machine(unit0).Command(context.Background(), "stat", "-c", "%a", path).Output()
	return strings.TrimSpace(string(out)), err
}

// TestGarbageCollectKilledMidSweep kills the garbage-collect action with
// SIGKILL while it holds the registry read-only (an upload left open keeps
// its drain waiting there), then runs update-status: the registry takes
// pushes again.
func TestGarbageCollectKilledMidSweep(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	netloc := deployOne(t, e, nil)
	m := e.Machine(unit0)
	ours := deploy.Client{Env: e}
	ctx := context.Background()
	push := func(tag string) error {
		img, err := random.Image(4096, 1)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := ours.Ref(netloc, "gc/app:"+tag)
		return remote.Write(r, img, ours.Options()...)
	}
	if err := push("before"); err != nil {
		t.Fatal(err)
	}

	// An upload in flight, its body never finished.
	hc := &http.Client{Transport: ours.Transport()}
	resp, err := hc.Post("http://"+netloc+"/v2/gc/held/blobs/uploads/", "", nil)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("cannot start an upload: %v %v", resp, err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = "http://" + netloc + loc
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPatch, loc, pr)
	req.Header.Set("Content-Type", "application/octet-stream")
	go func() {
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := pw.Write(make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var gcRes struct {
		failed bool
		msg    string
		err    error
	}
	go func() {
		defer close(done)
		res, err := e.Model.RunAction(ctx, unit0, "garbage-collect", nil)
		gcRes.failed, gcRes.msg, gcRes.err = res.Failed(), res.Message, err
	}()
	waitFor(t, "garbage-collect to make the registry read-only", 30*time.Second, func() bool {
		data, err := m.ReadFile("/etc/docker/registry/config.yml")
		if err != nil {
			return false
		}
		cfg, err := configuration.Parse(bytes.NewReader(data))
		if err != nil {
			return false
		}
		ro, _ := cfg.Storage["maintenance"]["readonly"].(map[any]any)
		return ro != nil && ro["enabled"] == true
	})
	if st, _ := m.ReadFile("/var/lib/docker-registry-charm/state.json"); !bytes.Contains(st, []byte(`"gc-hold"`)) {
		t.Errorf("no hold recorded before the switch:\n%s", st)
	}
	out, err := m.Command(ctx, "sh", "-c", `for p in /proc/[0-9]*; do
		if tr '\0' '\n' < $p/environ 2>/dev/null | grep -qx JUJU_ACTION_NAME=garbage-collect; then
			kill -KILL ${p#/proc/} && echo ${p#/proc/}
		fi
	done`).Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("cannot kill the action: %q %v", out, err)
	}
	t.Logf("killed %s", strings.Fields(string(out)))
	<-done
	if gcRes.err != nil || !gcRes.failed {
		t.Fatalf("the killed garbage-collect: failed=%t %q %v", gcRes.failed, gcRes.msg, gcRes.err)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF) // the upload may end now

	if err := push("while-held"); err == nil {
		t.Fatal("the registry took a push after the action was killed: the test killed nothing that mattered")
	}
	if err := e.Model.UpdateStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if err := push("after"); err != nil {
		t.Fatalf("after update-status the registry still refuses pushes: %v", err)
	}
	if st, _ := m.ReadFile("/var/lib/docker-registry-charm/state.json"); bytes.Contains(st, []byte(`"gc-hold"`)) {
		t.Errorf("the hold is still recorded after update-status:\n%s", st)
	}
	wantStatus(t, e, "active", "Ready at "+netloc+" (http).")
}
