package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// Hooks killed at any point converge: config-changed hooks that rotate
// the TLS certificate are SIGKILLed (the simulator's agent kills the
// dispatch process when the hook's context ends, as the unit agent does to
// a hook it stops) after delays spread over a whole hook, so the kill
// lands before the files are written, between them, after them and during
// the reload. Juju then retries the hook (juju resolve); after each round
// the registry must serve exactly the certificate configured last. (The
// record of the reload a killed hook still owes is proven step by step,
// with the hook failing at each systemd call, by internal/charm's
// TestKilledHookIsFinishedByTheNext; here the kills are real and land
// where they land.)
func TestKilledHooksConverge(t *testing.T) {
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	rotate := func(ctx context.Context) (string, error) {
		cfg := pki.TLSConfig(t, u.Addr, "none")
		raw, _ := base64.StdEncoding.DecodeString(cfg["tls-cert-blob"].(string))
		return leafSerial(raw), u.E.Model.SetConfig(ctx, cfg)
	}
	want, err := rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	u.WantReady(5000, "https")

	// How long a rotation takes when nothing kills it.
	start := time.Now()
	if want, err = rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	whole := time.Since(start)
	t.Logf("an unkilled certificate rotation takes %v", whole.Round(time.Millisecond))

	const rounds = 20
	killed := 0
	for i := range rounds {
		delay := whole * time.Duration(i) / rounds
		ctx, cancel := context.WithTimeout(context.Background(), delay)
		want, err = rotate(ctx)
		cancel()
		if err != nil {
			// Killed in the hook: the unit is in error state and
			// juju resolve retries it. Killed before it began: it is
			// still queued and runs with the next hook.
			rerr := u.E.Model.Resolve(context.Background(), u.Name, true)
			switch {
			case rerr == nil:
				killed++
			case strings.Contains(rerr.Error(), "not in error state"):
				if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
			default:
				t.Fatalf("round %d: the retried hook failed: %v\n%s", i, rerr, u.LogTail(20))
			}
		}
		u.WantReady(5000, "https")
		got, err := servedCertSerial(context.Background(), u.E, u.Netloc(5000), pki.CAPEM)
		if err != nil || got != want {
			t.Errorf("round %d (killed after %v): serving certificate %s (%v), want %s", i, delay, got, err, want)
		}
	}
	t.Logf("%d of %d hooks killed midway; all converged", killed, rounds)
	if killed < rounds/2 {
		t.Errorf("only %d of %d hooks were killed: the delays do not cover the hook", killed, rounds)
	}
}

// The registry killed with SIGKILL is back within 5 s: systemd restarts it
// and the socket it holds queues the connections made meanwhile.
func TestKilledRegistryIsBackWithinFiveSeconds(t *testing.T) {
	u := regDeploy(t, nil)
	u.WantReady(5000, "http")
	c := deploy.Client{Env: u.E}
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
	c := deploy.Client{Env: u.E}
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
func pushSized(c deploy.Client, netloc, repoTag string, size int64) (regImage, error) {
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

// A hook killed in the reload itself: the registry is frozen (SIGSTOP, as
// a stuck process would be), so the hook that rotates the certificate
// blocks in the reload and is killed there; the registry then thaws. The
// retry finds the files on disk already written and must still leave the
// registry serving the new certificate, and the unit active.
func TestHookKilledDuringReloadConverges(t *testing.T) {
	u := regDeploy(t, nil)
	pki := newRegPKI(t)
	first := pki.TLSConfig(t, u.Addr, "none")
	u.Configure(first)
	u.WantReady(5000, "https")
	next := pki.TLSConfig(t, u.Addr, "none")
	raw, _ := base64.StdEncoding.DecodeString(next["tls-cert-blob"].(string))
	want := leafSerial(raw)

	pid := strconv.Itoa(u.MainPID())
	u.Run("kill", "-STOP", pid)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := u.E.Model.SetConfig(ctx, next)
	cancel()
	u.Run("kill", "-CONT", pid)
	if err == nil {
		t.Fatal("the hook finished although the registry was frozen")
	}
	if err := u.E.Model.Resolve(context.Background(), u.Name, true); err != nil {
		t.Fatalf("the retried hook: %v", err)
	}
	u.WantReady(5000, "https")
	if got, err := servedCertSerial(context.Background(), u.E, u.Netloc(5000), pki.CAPEM); err != nil || got != want {
		t.Errorf("after the retry the registry serves certificate %s (%v), want the new one %s", got, err, want)
	}
}
