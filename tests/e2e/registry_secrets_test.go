package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// Basic authentication from a Juju user secret, through the packed charm:
// the operator adds the secret, grants it and points
// auth-basic-password-secret at it; images push and pull with its
// password. `juju update-secret` runs secret-changed, after which the new
// password works and the old one is refused, the registry reloaded in
// place. Clients polling throughout never see a failed request: each
// answer is 200 or 401, never an error or 5xx; the old password goes from
// accepted to refused and the new one from refused to accepted, each once
// (no flapping between two configurations), and a client that switches
// to the new password on its first 401 is always served.
func TestBasicAuthFromSecret(t *testing.T) {
	u := regDeploy(t, nil)
	ctx := context.Background()
	model := u.E.Model
	oldPass, newPass := newPassword(t), newPassword(t)
	uri, err := model.AddSecret("registry-password", map[string]string{"password": oldPass})
	if err != nil {
		t.Fatal(err)
	}

	// Not granted yet: blocked, naming the option and the fix; still serving.
	u.Configure(map[string]any{"auth-basic-password-secret": uri})
	u.WantStatus("blocked", "auth-basic-password-secret: secret not granted to docker-registry", "juju grant-secret "+uri)
	wantCode(t, u, "", "", 200, "no credentials while the secret is not granted (last good configuration)")

	if err := model.GrantSecret(uri, model.App()); err != nil {
		t.Fatal(err)
	}
	u.Configure(nil)
	u.WantReady(5000, "http")
	wantCode(t, u, "", "", 401, "no credentials")
	wantCode(t, u, "admin", oldPass, 200, "the secret's password")
	admin := deploy.Client{Env: u.E, User: "admin", Password: oldPass}
	im := u.Push(admin, 5000, "demo/secret:v1")
	if err := u.PullByDigest(admin, 5000, im); err != nil {
		t.Fatalf("pull by digest with the secret's password: %v", err)
	}

	pid := u.MainPID()
	polls := startAuthPollers(u, oldPass, newPass)
	time.Sleep(500 * time.Millisecond)
	mark := model.HookMark()
	start := time.Now()
	if err := model.UpdateSecret(ctx, uri, map[string]string{"password": newPass}); err != nil {
		t.Fatalf("update-secret: %v", err)
	}
	took := time.Since(start)
	var hooks []string
	for _, r := range model.Hooks(mark) {
		hooks = append(hooks, r.Hook)
	}
	if strings.Join(hooks, " ") != "secret-changed" {
		t.Fatalf("hooks after update-secret: %v", hooks)
	}
	// Right after the hook: the old password is refused, the new works.
	wantCode(t, u, "admin", oldPass, 401, "the old password after secret-changed")
	wantCode(t, u, "admin", newPass, 200, "the new password after secret-changed")
	time.Sleep(500 * time.Millisecond)
	report := polls.stop()
	t.Logf("rotation applied in %v; polling: %s", took.Round(time.Millisecond), report.summary())
	if errs := report.problems(); len(errs) > 0 {
		t.Fatalf("clients polling during the rotation:\n%s", strings.Join(errs, "\n"))
	}
	if got := u.MainPID(); got != pid {
		t.Errorf("the registry restarted for a password rotation (MainPID %d -> %d)", pid, got)
	}
	rotated := deploy.Client{Env: u.E, User: "admin", Password: newPass}
	if err := u.PullByDigest(rotated, 5000, im); err != nil {
		t.Fatalf("pull by digest with the rotated password: %v", err)
	}
	u.Push(rotated, 5000, "demo/secret:v2")
	if err := u.PullByDigest(admin, 5000, im); err == nil {
		t.Fatal("pull by digest with the old password succeeded after the rotation")
	}
	if tracked, latest := model.SecretRevision(uri, u.Name); tracked != latest {
		t.Errorf("the unit tracks revision %d of %d", tracked, latest)
	}
	u.WantReady(5000, "http")
	for _, p := range []string{oldPass, newPass} {
		if strings.Contains(u.LogTail(1000), p) {
			t.Error("a password appears in the registry's log")
		}
	}
}

// authPoller polls GET /v2/ over one keep-alive connection pool.
type authPoller struct {
	name  string
	codes []int // each answer, in order
	errs  []string
	// follower: on 401 with the first password, retries at once with the
	// second and keeps it; a request fails unless it ends in 200.
	follower bool
	followed int
}

type authPolls struct {
	stopCh  chan struct{}
	wg      sync.WaitGroup
	pollers []*authPoller
}

func startAuthPollers(u *regUnit, oldPass, newPass string) *authPolls {
	p := &authPolls{stopCh: make(chan struct{})}
	type spec struct {
		poller     *authPoller
		first, alt string
	}
	specs := []spec{
		{&authPoller{name: "old password"}, oldPass, ""},
		{&authPoller{name: "new password"}, newPass, ""},
		{&authPoller{name: "following client", follower: true}, oldPass, newPass},
	}
	for _, s := range specs {
		p.pollers = append(p.pollers, s.poller)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pollAuth(u, s.poller, s.first, s.alt, p.stopCh)
		}()
	}
	return p
}

func pollAuth(u *regUnit, pl *authPoller, pass, alt string, stop <-chan struct{}) {
	tr := deploy.Client{Env: u.E}.Transport()
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(pw string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+u.Netloc(5000)+"/v2/", nil)
		req.SetBasicAuth("admin", pw)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = drain(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, err
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		code, err := get(pass)
		if err == nil && code == 401 && pl.follower && alt != "" {
			pass, alt = alt, ""
			pl.followed++
			code, err = get(pass)
		}
		if err != nil {
			pl.errs = append(pl.errs, err.Error())
			continue
		}
		pl.codes = append(pl.codes, code)
		time.Sleep(5 * time.Millisecond)
	}
}

type authReport struct{ pollers []*authPoller }

func (p *authPolls) stop() authReport {
	close(p.stopCh)
	p.wg.Wait()
	return authReport{p.pollers}
}

// transitions counts changes between consecutive answers.
func transitions(codes []int) int {
	n := 0
	for i := 1; i < len(codes); i++ {
		if codes[i] != codes[i-1] {
			n++
		}
	}
	return n
}

func (r authReport) summary() string {
	var parts []string
	for _, pl := range r.pollers {
		parts = append(parts, fmt.Sprintf("%s %d requests", pl.name, len(pl.codes)))
	}
	return strings.Join(parts, ", ")
}

// problems checks each poller's answers; messages never carry a password.
func (r authReport) problems() []string {
	var out []string
	want := map[string][2]int{"old password": {200, 401}, "new password": {401, 200}, "following client": {200, 200}}
	for _, pl := range r.pollers {
		for _, e := range pl.errs {
			out = append(out, fmt.Sprintf("%s: request failed: %s", pl.name, e))
		}
		if len(pl.codes) < 2 {
			out = append(out, fmt.Sprintf("%s: only %d answers: it did not poll during the rotation", pl.name, len(pl.codes)))
			continue
		}
		w := want[pl.name]
		first, last := pl.codes[0], pl.codes[len(pl.codes)-1]
		for _, c := range pl.codes {
			if c != 200 && c != 401 {
				out = append(out, fmt.Sprintf("%s: answered %d", pl.name, c))
			}
		}
		if first != w[0] || last != w[1] {
			out = append(out, fmt.Sprintf("%s: answers went %d … %d, want %d … %d", pl.name, first, last, w[0], w[1]))
		}
		if n := transitions(pl.codes); n > 1 {
			out = append(out, fmt.Sprintf("%s: the answer changed %d times: two configurations served in turn", pl.name, n))
		}
		if pl.follower && pl.followed != 1 {
			out = append(out, fmt.Sprintf("%s: switched passwords %d times, want once", pl.name, pl.followed))
		}
	}
	return out
}
