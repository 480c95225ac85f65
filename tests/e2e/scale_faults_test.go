package e2e

// Faults across units on shared S3 behind haproxy: a unit's registry
// killed or stopped under a pull load, and the leader unit removed with
// an upload in flight through the others.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

func TestScaleOutFaults(t *testing.T) {
	t.Parallel()
	sc := newScale(t, 3, false)
	e := sc.e
	ctx := context.Background()
	u0, u1, u2 := sc.units[0], sc.units[1], sc.units[2]
	sc.balance(t, sc.units...)
	images := sc.pushPullables(t, 3)

	// under runs a 4-worker pull load through haproxy while fault runs,
	// and for settle after it returns.
	under := func(fault func() time.Time, settle time.Duration) (ops []pullOp, reacted time.Time) {
		stop := make(chan struct{})
		done := make(chan []pullOp)
		go func() { done <- pullLoad(e, sc.Proxied, images, 4, 0, stop) }()
		time.Sleep(time.Second)
		reacted = fault()
		time.Sleep(settle)
		close(stop)
		return <-done, reacted
	}
	failedSince := func(ops []pullOp, since time.Time) (n int, first error) {
		for _, op := range ops {
			if op.Err != nil && !op.Start.Before(since) {
				if n == 0 {
					first = op.Err
				}
				n++
			}
		}
		return n, first
	}

	t.Run("a registry SIGKILLed under load", func(t *testing.T) {
		var killed time.Time
		ops, _ := under(func() time.Time {
			pid := sc.mainPID(t, u1)
			killed = time.Now()
			sc.run(t, u1, "kill", "-KILL", strconv.Itoa(pid))
			return killed
		}, 5*time.Second)
		n, first := failedSince(ops, killed)
		t.Logf("%d pulls in the round, %d failed after SIGKILL of %s's registry (systemd restarts it, its socket queues connections): %v", len(ops), n, u1, first)
		if n > 0 {
			t.Errorf("%d pulls failed while the killed registry was restarted", n)
		}
	})

	t.Run("a registry stopped under load", func(t *testing.T) {
		var stopped time.Time
		ops, down := under(func() time.Time {
			stopped = time.Now()
			sc.run(t, u2, "systemctl", "stop", "docker-registry.socket", "docker-registry.service")
			// haproxy's checks: inter 2000 fall 5 (the charm's stanza).
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				st, err := sc.px.stat("docker-registry", "status")
				if err == nil && strings.HasPrefix(st[sc.server(u2)], "DOWN") {
					return time.Now()
				}
			}
			t.Fatalf("haproxy never marked %s down\n%s", u2, sc.px.log())
			return time.Time{}
		}, 10*time.Second)
		before, first := failedSince(ops, stopped)
		after, firstAfter := failedSince(ops, down)
		t.Logf("haproxy marked %s down %s after its registry stopped; %d of %d pulls failed before that (%v), %d after",
			u2, down.Sub(stopped).Round(100*time.Millisecond), before-after, len(ops), first, after)
		if after > 0 {
			t.Errorf("%d pulls failed after haproxy marked the stopped unit down: %v", after, firstAfter)
		}
		if ok := len(ops) - before; ok == 0 {
			t.Error("no pull succeeded after the stop")
		}
		sc.run(t, u2, "systemctl", "start", "docker-registry.socket", "docker-registry.service")
		if err := sc.px.waitChecks(ctx, "docker-registry", sc.server(u0), sc.server(u1), sc.server(u2)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the leader removed with an upload in flight", func(t *testing.T) {
		leader := e.Model.Leader()
		var others []string
		for _, u := range sc.units {
			if u != leader {
				others = append(others, u)
			}
		}
		peer := e.Model.PeerRelation("peer")
		bag := e.Model.RelationAppData(peer, "docker-registry")
		secret := relRenderedSecret(t, e, others[0])
		blob := randomBytes(t, 2<<20)
		sum := sha256.Sum256(blob)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		third := len(blob) / 3
		loc := uploadStep(t, e, http.MethodPost, sc.addrs[others[0]], "/v2/scale/inflight/blobs/uploads/", nil, nil, http.StatusAccepted)
		loc = uploadStep(t, e, http.MethodPatch, sc.addrs[others[1]], loc, blob[:third], nil, http.StatusAccepted)

		if err := e.Model.RemoveUnit(ctx, leader); err != nil {
			t.Fatalf("remove %s: %v", leader, err)
		}
		if now := e.Model.Leader(); now == "" || now == leader {
			t.Fatalf("after removing %s the leader is %q", leader, now)
		}
		t.Logf("%s removed; %s elected", leader, e.Model.Leader())
		for _, u := range others {
			if relRenderedSecret(t, e, u) != secret {
				t.Errorf("%s's http secret changed when the leader went", u)
			}
		}
		if after := e.Model.RelationAppData(peer, "docker-registry"); !equalBags(bag, after) {
			t.Error("the peer application bag changed when the leader went")
		}
		loc = uploadStep(t, e, http.MethodPatch, sc.addrs[others[0]], loc, blob[third:2*third], nil, http.StatusAccepted)
		uploadStep(t, e, http.MethodPut, sc.addrs[others[1]], loc, blob[2*third:], url.Values{"digest": {digest}}, http.StatusCreated)
		if got, ok := sc.s.Blobs()[digest]; !ok || got != int64(len(blob)) {
			t.Errorf("the upload finished across the remaining units is in the bucket: %t, %d bytes", ok, got)
		}
		// haproxy over the remaining units serves every image.
		sc.balance(t, others...)
		ops := pullLoad(e, sc.Proxied, images, 2, 6, nil)
		if n, first := failedSince(ops, time.Time{}); n > 0 {
			t.Errorf("%d of %d pulls through haproxy over the remaining units failed: %v", n, len(ops), first)
		}
	})
}

func equalBags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (sc *scaleSetup) run(t testing.TB, unit string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := sc.e.Machine(unit).Command(ctx, args[0], args[1:]...).Result()
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("%v on %s: %v %d %s", args, unit, err, r.ExitCode, r.Stderr)
	}
	return string(r.Stdout)
}

func (sc *scaleSetup) mainPID(t testing.TB, unit string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(sc.run(t, unit, "systemctl", "show", "-p", "MainPID", "--value", "docker-registry.service")))
	if err != nil || pid == 0 {
		t.Fatalf("%s's registry has no main PID: %v", unit, err)
	}
	return pid
}

// uploadStep sends one request of a blob upload to host (the Location of
// the previous step, re-pointed at host) and returns the next Location.
func uploadStep(t testing.TB, e *deploy.Env, method, host, loc string, body []byte, q url.Values, want int) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = "http", host
	v := u.Query()
	for k, x := range q {
		v[k] = x
	}
	u.RawQuery = v.Encode()
	req, _ := http.NewRequest(method, u.String(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s3HTTP(e).Do(req)
	if err != nil {
		t.Fatalf("%s on %s: %v", method, host, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode != want {
		t.Fatalf("%s %s on %s: %s, want %d: %s", method, u.Path, host, resp.Status, want, msg)
	}
	return resp.Header.Get("Location")
}
