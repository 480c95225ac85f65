package e2e

import (
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// Basic authentication from auth-basic-password: anonymous clients get
// 401 with a challenge naming the application as realm, clients with the
// credentials are served, and a password change takes effect by the time
// config-changed returns: the old password gets 401, the new one 200.
func TestBasicAuthFromConfig(t *testing.T) {
	u := regDeploy(t, nil)
	realm := `Basic realm="` + u.E.Model.App() + `"`
	anon := deploy.Client{Env: u.E}
	im := u.Push(anon, 5000, "demo/auth:v1")

	pass := newPassword(t)
	u.Configure(map[string]any{"auth-basic-password": pass})
	u.WantReady(5000, "http")

	resp, err := u.Get(anon, "http", 5000, "/v2/", "", "")
	if err != nil {
		t.Fatalf("GET /v2/ without credentials: %v", err)
	}
	if resp.StatusCode != 401 {
		t.Fatalf("GET /v2/ without credentials answered %d, want 401", resp.StatusCode)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != realm {
		t.Fatalf("WWW-Authenticate = %q, want %q", got, realm)
	}
	if err := u.PullByDigest(anon, 5000, im); err == nil {
		t.Fatal("anonymous pull by digest succeeded with basic auth on")
	}
	wantCode(t, u, "admin", pass, 200, "the configured credentials")
	wantCode(t, u, "someone", pass, 401, "an unknown user")
	admin := deploy.Client{Env: u.E, User: "admin", Password: pass}
	if err := u.PullByDigest(admin, 5000, im); err != nil {
		t.Fatalf("pull by digest with credentials: %v", err)
	}

	// A new password: right after the hook the old one is refused and
	// the new one works, without a restart of the registry.
	pid := u.MainPID()
	newPass := newPassword(t)
	took := u.Configure(map[string]any{"auth-basic-password": newPass})
	wantCode(t, u, "admin", pass, 401, "the old password")
	wantCode(t, u, "admin", newPass, 200, "the new password")
	t.Logf("password change applied in %v", took)
	if got := u.MainPID(); got != pid {
		t.Errorf("the registry restarted for a password change (MainPID %d -> %d)", pid, got)
	}

	// A new user name with the same password.
	u.Configure(map[string]any{"auth-basic-user": "operator"})
	wantCode(t, u, "admin", newPass, 401, "the old user")
	wantCode(t, u, "operator", newPass, 200, "the new user")

	// Back to no authentication.
	u.Configure(map[string]any{"auth-basic-password": ""})
	u.WantReady(5000, "http")
	wantCode(t, u, "", "", 200, "no credentials after auth was turned off")
	if err := u.PullByDigest(anon, 5000, im); err != nil {
		t.Fatalf("anonymous pull by digest after auth was turned off: %v", err)
	}
}

// wantCode checks the status of GET /v2/ with the given credentials; what
// names the credentials in a failure, never their value.
func wantCode(t *testing.T, u *regUnit, user, pass string, code int, what string) {
	t.Helper()
	resp, err := u.Get(deploy.Client{Env: u.E}, "http", 5000, "/v2/", user, pass)
	if err != nil {
		t.Fatalf("GET /v2/ with %s: %v", what, err)
	}
	if resp.StatusCode != code {
		t.Fatalf("GET /v2/ with %s answered %d, want %d", what, resp.StatusCode, code)
	}
}
