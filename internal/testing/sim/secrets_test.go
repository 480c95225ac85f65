package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

const (
	app   = "docker-registry"
	unit0 = "docker-registry/0"
)

// addGranted adds a secret and grants it to the application.
func addGranted(t *testing.T, m *sim.Model, name string, content map[string]string) string {
	t.Helper()
	uri, err := m.AddSecret(name, content)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.GrantSecret(uri, app); err != nil {
		t.Fatal(err)
	}
	return uri
}

// secret-get's output formats (yaml by default, json), one key, and
// key#base64, as worker/uniter/runner/jujuc/secret-get.go prints them.
func TestSecretGetFormats(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	uri := addGranted(t, m, "db", map[string]string{"password": "pw one", "user": "admin"})
	ev := sim.Event{Hook: "config-changed"}
	for _, tt := range []struct {
		argv []string
		want string
	}{
		{[]string{"secret-get", uri, "--format=json"}, `{"password":"pw one","user":"admin"}` + "\n"},
		{[]string{"secret-get", uri}, "password: pw one\nuser: admin\n"},
		{[]string{"secret-get", uri, "user"}, "admin\n"},
		{[]string{"secret-get", "--format", "json", uri, "password"}, `"pw one"` + "\n"},
		{[]string{"secret-get", uri, "password#base64"}, "cHcgb25l\n"},
		// A bare id and the model-qualified form name the same secret.
		{[]string{"secret-get", strings.TrimPrefix(uri, "secret:"), "user"}, "admin\n"},
		{[]string{"secret-get", "secret://9d0f6b1e-4c2a-4d8e-8a51-3f6c2b7d1e00/" + strings.TrimPrefix(uri, "secret:"), "user"}, "admin\n"},
	} {
		out, stderr, code := execIn(t, m, unit0, ev, "", tt.argv...)
		if code != 0 || out != tt.want {
			t.Errorf("%v: exit %d %s\n got %q\nwant %q", tt.argv, code, stderr, out, tt.want)
		}
	}
}

// The revision a unit reads: the first read tracks the latest; a plain
// read stays on it; --peek reads the latest once; --refresh moves to it
// (apiserver/facades/agent/secretsmanager getConsumedRevision).
func TestSecretGetTracksRevisions(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 2)
	ctx := context.Background()
	uri := addGranted(t, m, "db", map[string]string{"password": "one"})
	unread := addGranted(t, m, "other", map[string]string{"password": "x1"})
	ev := sim.Event{Hook: "config-changed"}
	get := func(flags ...string) string {
		t.Helper()
		out, stderr, code := execIn(t, m, unit0, ev, "", append([]string{"secret-get", uri, "password"}, flags...)...)
		if code != 0 {
			t.Fatalf("secret-get %v: exit %d %s", flags, code, stderr)
		}
		return strings.TrimSpace(out)
	}
	if got := get(); got != "one" {
		t.Fatalf("first read = %q", got)
	}
	if tracked, latest := m.SecretRevision(uri, unit0); tracked != 1 || latest != 1 {
		t.Fatalf("after the first read: tracked %d of %d", tracked, latest)
	}
	mark := m.HookMark()
	must(t, m.UpdateSecret(ctx, uri, map[string]string{"password": "two"}))
	must(t, m.UpdateSecret(ctx, unread, map[string]string{"password": "x2"}))
	// Only the unit that reads the secret hears of it; the test charm does
	// not refresh in its hook, so it stays on revision 1.
	equal(t, "hooks after update-secret", sim.HookNames(m.Hooks(mark), ""), []string{"secret-changed"})
	env := c.lastEnv(unit0, "secret-changed")
	if env["JUJU_SECRET_ID"] != uri || env["JUJU_SECRET_LABEL"] != "" {
		t.Errorf("secret-changed env: JUJU_SECRET_ID=%q JUJU_SECRET_LABEL=%q", env["JUJU_SECRET_ID"], env["JUJU_SECRET_LABEL"])
	}
	if _, ok := env["JUJU_SECRET_REVISION"]; ok {
		t.Error("JUJU_SECRET_REVISION set for secret-changed")
	}
	for _, step := range []struct {
		flags []string
		want  string
		track int
	}{
		{nil, "one", 1},
		{[]string{"--peek"}, "two", 1},
		{nil, "one", 1},
		{[]string{"--refresh"}, "two", 2},
		{nil, "two", 2},
	} {
		if got := get(step.flags...); got != step.want {
			t.Errorf("secret-get %v = %q, want %q", step.flags, got, step.want)
		}
		if tracked, _ := m.SecretRevision(uri, unit0); tracked != step.track {
			t.Errorf("after secret-get %v the unit tracks revision %d, want %d", step.flags, tracked, step.track)
		}
	}
	// Tracking the latest: a new revision is news again, once.
	mark = m.HookMark()
	must(t, m.UpdateSecret(ctx, uri, map[string]string{"password": "three"}))
	equal(t, "hooks after the second update", sim.HookNames(m.Hooks(mark), ""), []string{"secret-changed"})
	if _, stderr, code := execIn(t, m, unit0, ev, "", "secret-get", uri, "--peek", "--label", "db"); code != 0 {
		t.Fatalf("secret-get --label: %s", stderr)
	}
	// As in Juju, the first argument is always the URI: a key needs one.
	out, _, _ := execIn(t, m, unit0, ev, "", "secret-get", "--label", "db", "--format=json")
	if out != `{"password":"two"}`+"\n" {
		t.Errorf("secret-get --label db = %q, want the tracked revision", out)
	}
	mark = m.HookMark()
	must(t, m.UpdateSecret(ctx, uri, map[string]string{"password": "four"}))
	if env := c.lastEnv(unit0, "secret-changed"); env["JUJU_SECRET_LABEL"] != "db" {
		t.Errorf("JUJU_SECRET_LABEL = %q, want the unit's label", env["JUJU_SECRET_LABEL"])
	}
	equal(t, "hooks after the third update", sim.HookNames(m.Hooks(mark), ""), []string{"secret-changed"})
}

// Juju's errors: exit 2 for what Init refuses, 1 for what the agent
// refuses (secret "…" not found: state's NotFound; permission denied:
// apiserver ErrPerm for a secret not granted).
func TestSecretGetErrors(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	uri := addGranted(t, m, "db", map[string]string{"password": "pw"})
	ungranted, err := m.AddSecret("ungranted", map[string]string{"password": "pw"})
	must(t, err)
	revoked := addGranted(t, m, "revoked", map[string]string{"password": "pw"})
	must(t, m.RevokeSecret("revoked", app))
	removed := addGranted(t, m, "removed", map[string]string{"password": "pw"})
	must(t, m.RemoveSecret(removed))
	unknown := "secret:cn4m2rjpbv7s71a2fsj0"
	ev := sim.Event{Hook: "config-changed"}
	for _, tt := range []struct {
		argv   []string
		code   int
		stderr string
	}{
		{[]string{"secret-get", unknown}, 1, `ERROR secret "` + unknown + `" not found`},
		{[]string{"secret-get", removed}, 1, `ERROR secret "` + removed + `" not found`},
		{[]string{"secret-get", ungranted}, 1, "ERROR permission denied"},
		{[]string{"secret-get", revoked, "--format=json"}, 1, "ERROR permission denied"},
		{[]string{"secret-get", uri, "user"}, 1, `ERROR secret key "user" not found`},
		{[]string{"secret-get", "--label", "nobody"}, 1, `ERROR consumer label "nobody" not found`},
		{[]string{"secret-get", "--label", "db", "password"}, 2, `ERROR secret URI "password" not valid`},
		{[]string{"secret-get", "secret:bogus"}, 2, `ERROR secret URI "secret:bogus" not valid`},
		{[]string{"secret-get", "vault:cn4m2rjpbv7s71a2fsj0"}, 2, `ERROR secret URI scheme "vault" not valid`},
		{[]string{"secret-get"}, 2, "ERROR require either a secret URI or label"},
		{[]string{"secret-get", uri, "--peek", "--refresh"}, 2, "ERROR specify one of --peek or --refresh but not both"},
		{[]string{"secret-get", uri, "password", "extra"}, 2, `ERROR unrecognized args: ["extra"]`},
		{[]string{"secret-get", uri, "--format=smart"}, 2, `ERROR invalid value "smart" for option --format: unknown format "smart"`},
	} {
		out, stderr, code := execIn(t, m, unit0, ev, "", tt.argv...)
		if code != tt.code || stderr != tt.stderr || out != "" {
			t.Errorf("%v: exit %d %q (stdout %d bytes), want exit %d %q", tt.argv, code, stderr, len(out), tt.code, tt.stderr)
		}
	}
	// A refused read leaves no tracking record: no secret-changed later.
	mark := m.HookMark()
	must(t, m.UpdateSecret(context.Background(), ungranted, map[string]string{"password": "pw2"}))
	if got := m.Hooks(mark); len(got) != 0 {
		t.Errorf("hooks after updating a secret the unit could not read: %v", got)
	}
}

// Operator commands refuse what juju refuses; a type: secret option takes
// only a secret URI (juju/charm's secretC, then the application facade's
// validateSecretConfig).
func TestSecretCommandsAndConfig(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	ctx := context.Background()
	uri, err := m.AddSecret("db", map[string]string{"password": "pw"})
	must(t, err)
	for what, err := range map[string]error{
		"a key with capitals":  func() error { _, err := m.AddSecret("a", map[string]string{"Password": "x"}); return err }(),
		"a two-letter key":     func() error { _, err := m.AddSecret("b", map[string]string{"pw": "x"}); return err }(),
		"no content":           func() error { _, err := m.AddSecret("c", nil); return err }(),
		"a name already taken": func() error { _, err := m.AddSecret("db", map[string]string{"password": "x"}); return err }(),
		"an unknown app":       m.GrantSecret(uri, "nosuchapp"),
		"an unknown secret":    m.GrantSecret("nosuchsecret", app),
		"an empty revision":    m.UpdateSecret(ctx, uri, map[string]string{}),
		"a bad URI option":     m.SetConfig(ctx, map[string]any{"db-password": "secret:bogus"}),
		"another scheme":       m.SetConfig(ctx, map[string]any{"db-password": "https://vault/x"}),
	} {
		if err == nil {
			t.Errorf("%s accepted", what)
		}
	}
	must(t, m.SetConfig(ctx, map[string]any{"db-password": uri}))
	out, _, code := execIn(t, m, unit0, sim.Event{Hook: "config-changed"}, "", "config-get", "db-password")
	if code != 0 || out != uri+"\n" {
		t.Errorf("config-get db-password = %q (exit %d), want the URI", out, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
