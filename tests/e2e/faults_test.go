package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/tests/sim"
)

// Hooks killed at any point converge: config-changed hooks that change
// the password are SIGKILLed (the simulator's agent kills the dispatch
// process when the hook's context ends, as the unit agent does to a hook
// it stops) after delays spread over a whole hook, so the kill lands
// before the files are written, between them, after them and during the
// reload. Juju then retries the hook (juju resolve); after each round the
// registry must accept exactly the password configured last.
func TestKilledHooksConverge(t *testing.T) {
	pass := newPassword(t)
	u := regDeploy(t, map[string]any{"auth-basic-password": pass})
	u.WantReady(5000, "http")
	c := Client{Env: u.E}
	im := u.Push(Client{Env: u.E, User: "admin", Password: pass}, 5000, "demo/faults:v1")

	// How long a password change takes when nothing kills it.
	start := time.Now()
	pass = newPassword(t)
	u.Configure(map[string]any{"auth-basic-password": pass})
	whole := time.Since(start)
	t.Logf("an unkilled password change takes %v", whole.Round(time.Millisecond))

	const rounds = 16
	killed := 0
	for i := range rounds {
		prev := pass
		pass = newPassword(t)
		delay := whole * time.Duration(i) / rounds
		ctx, cancel := context.WithTimeout(context.Background(), delay)
		err := u.E.Model.SetConfig(ctx, map[string]any{"auth-basic-password": pass})
		cancel()
		var herr *sim.HookError
		switch {
		case err == nil:
		case errors.As(err, &herr) || strings.Contains(err.Error(), "cannot run hook"):
			killed++
			if err := u.E.Model.Resolve(context.Background(), u.Name, true); err != nil {
				t.Fatalf("round %d: the retried hook failed: %v\n%s", i, err, u.LogTail(20))
			}
		default:
			t.Fatalf("round %d: %v", i, err)
		}
		u.WantReady(5000, "http")
		if code := authCode(t, u, c, pass); code != http.StatusOK {
			t.Errorf("round %d (killed after %v): the new password gets %d", i, delay, code)
		}
		if code := authCode(t, u, c, prev); code != http.StatusUnauthorized {
			t.Errorf("round %d (killed after %v): the old password gets %d", i, delay, code)
		}
	}
	t.Logf("%d of %d hooks killed midway; all converged", killed, rounds)
	if killed < rounds/2 {
		t.Errorf("only %d of %d hooks were killed: the delays do not cover the hook", killed, rounds)
	}
	if err := u.PullByDigest(Client{Env: u.E, User: "admin", Password: pass}, 5000, im); err != nil {
		t.Errorf("the image pushed before the faults: %v", err)
	}
}

func authCode(t *testing.T, u *regUnit, c Client, pass string) int {
	t.Helper()
	resp, err := u.Get(c, "http", 5000, "/v2/", "admin", pass)
	if err != nil {
		t.Fatalf("GET /v2/: %v", err)
	}
	return resp.StatusCode
}

// The registry killed with SIGKILL is back within 5 s: systemd restarts it
// and the socket it holds queues the connections made meanwhile.
func TestKilledRegistryIsBackWithinFiveSeconds(t *testing.T) {
	u := regDeploy(t, nil)
	u.WantReady(5000, "http")
	c := Client{Env: u.E}
	im := u.Push(c, 5000, "demo/sigkill:v1")
	for round := range 3 {
		pid := u.MainPID()
		start := time.Now()
		u.Run("kill", "-KILL", strconv.Itoa(pid))
		deadline := start.Add(5 * time.Second)
		for {
			err := u.PullByDigest(c, 5000, im)
			if err == nil && u.MainPID() != pid {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: not serving 5 s after SIGKILL: %v\n%s", round, err, u.LogTail(10))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("round %d: serving again %v after SIGKILL", round, time.Since(start).Round(time.Millisecond))
	}
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantReady(5000, "http")
}

// A filling data filesystem (a 192 MiB tmpfs on /srv/registry) gives a
// truthful status before pushes fail (blocked under 128 MiB free), the
// pushes that do not fit fail, and every image pushed before still pulls
// by digest: nothing half-written is served.
func TestFullDataFilesystem(t *testing.T) {
	u := regDeploy(t, nil)
	u.WantReady(5000, "http")
	uid := strings.TrimSpace(u.Run("id", "-u", regServiceUser))
	u.Run("systemctl", "stop", "docker-registry.socket", regServiceUnit)
	u.Run("mount", "-t", "tmpfs", "-o", "size=192m,mode=0750,uid="+uid+",gid="+uid, "tmpfs", "/srv/registry")
	u.Run("systemctl", "start", "docker-registry.socket", regServiceUnit)
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantStatus("active", "Ready at", "% of 192 MiB used.")
	c := Client{Env: u.E}
	var pushed []regImage
	var pushErr error
	warned := -1
	for i := range 20 {
		im, err := pushSized(c, u.Netloc(5000), fmt.Sprintf("demo/fill:%d", i), 16<<20)
		if err != nil {
			pushErr = err
			break
		}
		pushed = append(pushed, im)
		if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
			t.Fatal(err)
		}
		if warned < 0 && u.Status().Name == "blocked" {
			warned = len(pushed)
		}
	}
	if pushErr == nil {
		t.Fatal("20 pushes of 16 MiB fit in 192 MiB")
	}
	if warned < 0 || warned >= len(pushed) {
		t.Errorf("status said the filesystem was full only after a push failed (after push %d of %d)", warned, len(pushed))
	}
	t.Logf("%d pushes fitted, then: %v", len(pushed), pushErr)
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantStatus("blocked", "Data filesystem /srv/registry is ")
	for _, im := range pushed {
		if err := u.PullByDigest(c, 5000, im); err != nil {
			t.Errorf("an image pushed before the disk filled: %v", err)
		}
	}
}

// pushSized pushes a random one-layer image of about size bytes.
func pushSized(c Client, netloc, repoTag string, size int64) (regImage, error) {
	img, err := random.Image(size, 1)
	if err != nil {
		return regImage{}, err
	}
	ref, err := c.Ref(netloc, repoTag)
	if err != nil {
		return regImage{}, err
	}
	if err := remote.Write(ref, img, c.Options()...); err != nil {
		return regImage{}, err
	}
	d, _ := img.Digest()
	return regImage{Repo: strings.SplitN(repoTag, ":", 2)[0], Digest: d}, nil
}
