package charm

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

const app = "docker-registry"

// secretCase is one credential option served from a Juju user secret.
type secretCase struct {
	option, key string
	// config is what else the option needs to be in use.
	config map[string]any
	// values are two good values (the first, then the rotated one).
	values [2]string
	// inEffect reports whether the unit's files carry value.
	inEffect func(h *harness, value string) bool
	// apply is what systemd is asked to do when the value changes.
	apply string
	// complete finishes a rotation the new revision starts (a new key
	// needs its new certificate), after checking what the unit does in
	// between.
	complete func(h *harness)
}

func registryConfig(h *harness) *configuration.Configuration {
	h.t.Helper()
	cfg, err := configuration.Parse(strings.NewReader(h.file(unit0, "/etc/docker/registry/config.yml")))
	if err != nil {
		h.t.Fatalf("rendered config does not parse: %v", err)
	}
	return cfg
}

func secretCases(t *testing.T) []secretCase {
	ca := pkitest.NewCA(t, "test CA")
	pairs := [2]pkitest.Pair{ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}}), ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})}
	envHas := func(name string) func(*harness, string) bool {
		return func(h *harness, v string) bool {
			return h.exists(unit0, "/etc/docker/registry/environment") &&
				strings.Contains(h.file(unit0, "/etc/docker/registry/environment"), name+"="+v+"\n")
		}
	}
	return []secretCase{
		{option: "auth-basic-password-secret", key: "password", values: [2]string{"pw-from-secret-1", "pw-from-secret-2"},
			inEffect: func(h *harness, v string) bool {
				user, hash, _ := strings.Cut(strings.TrimSpace(h.file(unit0, "/etc/docker/registry/htpasswd")), ":")
				return user == "admin" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(v)) == nil
			}, apply: "reload docker-registry.service"},
		{option: "cache-password-secret", key: "password",
			config: map[string]any{"cache-remoteurl": "https://registry-1.docker.io", "cache-username": "mirror"},
			values: [2]string{"upstream-pw-1", "upstream-pw-2"},
			inEffect: func(h *harness, v string) bool {
				return registryConfig(h).Proxy.Password == v
			}, apply: "reload docker-registry.service"},
		{option: "storage-s3-secretkey-secret", key: "secret-key",
			config: map[string]any{"storage-s3-region": "us-east-1", "storage-s3-bucket": "registry",
				"storage-s3-accesskey": "AKIDEXAMPLE", "storage-s3-regionendpoint": "http://127.0.0.1:1"},
			values: [2]string{"s3-secret-1", "s3-secret-2"},
			inEffect: func(h *harness, v string) bool {
				return registryConfig(h).Storage["s3"]["secretkey"] == v
			}, apply: "reload docker-registry.service"},
		{option: "tls-key-blob-secret", key: "key",
			config: map[string]any{"tls-cert-blob": b64(string(pairs[0].CertPEM)), "tls-client-auth": "none"},
			values: [2]string{string(pairs[0].KeyPEM), string(pairs[1].KeyPEM)},
			inEffect: func(h *harness, v string) bool {
				return h.exists(unit0, servedKey) && h.file(unit0, servedKey) == v
			}, apply: "reload docker-registry.service",
			complete: func(h *harness) {
				// The new key does not match the served certificate: fail
				// closed, naming the secret option, the old pair serving.
				h.wantStatus(unit0, "blocked", "Invalid charm config: tls-key-blob-secret")
				if h.file(unit0, servedKey) != string(pairs[0].KeyPEM) {
					h.t.Fatal("the served key changed before its certificate")
				}
				h.must(h.model.SetConfig(ctx, map[string]any{"tls-cert-blob": b64(string(pairs[1].CertPEM))}))
			}},
		{option: "registry-http-proxy-secret", key: "url", values: [2]string{"http://u1:p1@proxy.internal:3128", "http://u2:p2@proxy.internal:3128"},
			inEffect: envHas("HTTP_PROXY"), apply: "restart docker-registry.service"},
		{option: "registry-https-proxy-secret", key: "url", values: [2]string{"http://u1:p1@proxy.internal:3129", "http://u2:p2@proxy.internal:3129"},
			inEffect: envHas("HTTPS_PROXY"), apply: "restart docker-registry.service"},
	}
}

// Each credential option's secret twin: the secret's value is what the
// registry uses; a new revision reaches it through secret-changed, applied
// the least disruptive way; a secret not granted, removed or without the
// key blocks naming the option while the last good configuration stays;
// no value ever reaches the status, the debug log or the state file.
func TestCredentialOptionsFromSecrets(t *testing.T) {
	for _, tc := range secretCases(t) {
		t.Run(tc.option, func(t *testing.T) {
			h := newHarness(t)
			h.must(h.model.Deploy(ctx, 1))
			uri, err := h.model.AddSecret(tc.option, map[string]string{tc.key: tc.values[0]})
			h.must(err)
			h.must(h.model.GrantSecret(uri, app))
			cfg := map[string]any{tc.option: uri}
			for k, v := range tc.config {
				cfg[k] = v
			}
			h.must(h.model.SetConfig(ctx, cfg))
			h.wantStatus(unit0, "active", "Ready at")
			if !tc.inEffect(h, tc.values[0]) {
				t.Fatal("the secret's value is not what the registry uses")
			}
			if tracked, latest := h.model.SecretRevision(uri, unit0); tracked != latest {
				t.Fatalf("the unit tracks revision %d of %d", tracked, latest)
			}

			// Rotation: secret-changed applies the new revision.
			rec := h.services(unit0)
			mark, hooks := rec.mark(), h.model.HookMark()
			h.must(h.model.UpdateSecret(ctx, uri, map[string]string{tc.key: tc.values[1]}))
			if got := hookNamesSince(h, hooks); !slices.Equal(got, []string{"secret-changed"}) {
				t.Fatalf("hooks after update-secret: %v", got)
			}
			if tc.complete != nil {
				tc.complete(h)
			}
			if !tc.inEffect(h, tc.values[1]) || tc.inEffect(h, tc.values[0]) {
				t.Fatal("secret-changed did not apply the new revision (and only it)")
			}
			if calls := rec.since(mark); !slices.Contains(calls, tc.apply) {
				t.Errorf("systemd calls %v, want %q", calls, tc.apply)
			}
			// --refresh, not --peek: Juju knows the old revision is unused.
			if tracked, latest := h.model.SecretRevision(uri, unit0); tracked != latest {
				t.Errorf("after secret-changed the unit tracks revision %d of %d", tracked, latest)
			}
			h.wantStatus(unit0, "active", "Ready at")

			// A revision without the key: blocked, the last good value stays.
			mark = rec.mark()
			h.must(h.model.UpdateSecret(ctx, uri, map[string]string{"other": tc.values[0]}))
			h.wantStatus(unit0, "blocked", tc.option+": secret "+uri+` has no key "`+tc.key+`"`)
			if !tc.inEffect(h, tc.values[1]) {
				t.Error("the last good value was not kept")
			}
			if calls := rec.since(mark); len(calls) != 0 {
				t.Errorf("systemd was asked to %v while blocked", calls)
			}
			h.must(h.model.UpdateSecret(ctx, uri, map[string]string{tc.key: tc.values[1]}))
			h.wantStatus(unit0, "active", "Ready at")

			// Revoked: blocked with the command that fixes it.
			h.must(h.model.RevokeSecret(uri, app))
			h.must(h.model.SetConfig(ctx, nil))
			h.wantStatus(unit0, "blocked", tc.option+": secret not granted to docker-registry (juju grant-secret "+uri+" docker-registry)")
			if !tc.inEffect(h, tc.values[1]) {
				t.Error("the last good value was not kept")
			}
			h.must(h.model.GrantSecret(uri, app))
			h.must(h.model.SetConfig(ctx, nil))
			h.wantStatus(unit0, "active", "Ready at")

			// Removed: blocked, naming the secret.
			h.must(h.model.RemoveSecret(uri))
			h.must(h.model.SetConfig(ctx, nil))
			h.wantStatus(unit0, "blocked", tc.option+": secret "+uri+" not found")
			if !tc.inEffect(h, tc.values[1]) {
				t.Error("the last good value was not kept")
			}
			noSecretsLeaked(t, h, tc.values[:]...)
		})
	}
}

func hookNamesSince(h *harness, mark int) []string {
	var out []string
	for _, r := range h.model.Hooks(mark) {
		out = append(out, r.Hook)
	}
	return out
}

// noSecretsLeaked fails if a value shows in the unit's status, debug log,
// tool arguments or state file. It never prints the value.
func noSecretsLeaked(t *testing.T, h *harness, values ...string) {
	t.Helper()
	var seen []string
	seen = append(seen, h.status(unit0).Message)
	for _, l := range h.model.Unit(unit0).Logs() {
		seen = append(seen, l.Message)
	}
	for _, c := range h.model.ToolCalls(0) {
		seen = append(seen, strings.Join(c.Args, " "))
	}
	if state, err := os.ReadFile(filepath.Join(h.unitRoot(unit0), "/var/lib/docker-registry-charm/state.json")); err == nil {
		seen = append(seen, string(state))
	}
	all := strings.Join(seen, "\n")
	for i, v := range values {
		// The password part of a proxy URL is what must not leak.
		if _, after, ok := strings.Cut(v, "://"); ok {
			v, _, _ = strings.Cut(after, "@")
		}
		if strings.Contains(all, v) {
			t.Errorf("secret value %d appears in the status, log, tool arguments or state file", i)
		}
	}
}

// The secret option wins over its plain option; the plain option alone
// keeps working (Juju before 3.3 has no user secrets to give).
func TestSecretOptionWinsOverPlain(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "plain-pw"}))
	htpasswdHas := func(pw string) bool {
		_, hash, _ := strings.Cut(strings.TrimSpace(h.file(unit0, "/etc/docker/registry/htpasswd")), ":")
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
	}
	if !htpasswdHas("plain-pw") {
		t.Fatal("the plain option does not work")
	}
	uri, err := h.model.AddSecret("pw", map[string]string{"password": "secret-pw"})
	h.must(err)
	h.must(h.model.GrantSecret(uri, app))
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password-secret": uri}))
	h.wantStatus(unit0, "active", "Ready at")
	if !htpasswdHas("secret-pw") || htpasswdHas("plain-pw") {
		t.Fatal("the secret did not win over the plain option")
	}
	logs := h.model.Unit(unit0).Logs()
	if last := logs[len(logs)-1]; last.Level != "WARNING" || !strings.Contains(last.Message, "ignoring auth-basic-password:") ||
		!strings.Contains(last.Message, "--reset auth-basic-password") {
		t.Errorf("no warning that the plain option is ignored: %q", last.Message)
	}
	// Unsetting the secret option falls back to the plain option.
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password-secret": nil}))
	if !htpasswdHas("plain-pw") {
		t.Error("the plain option does not apply once the secret option is unset")
	}
	noSecretsLeaked(t, h, "secret-pw", "plain-pw")
}

// What an operator can get wrong blocks, naming the option, and never
// fails the hook: an unknown secret, an empty value (which would turn
// authentication off), a TLS key that is not PEM, a value the option's
// own validation refuses, and several problems at once.
func TestSecretProblemsBlock(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	add := func(name string, content map[string]string) string {
		uri, err := h.model.AddSecret(name, content)
		h.must(err)
		h.must(h.model.GrantSecret(uri, app))
		return uri
	}
	unknown := "secret:cn4m2rjpbv7s71a2fsj0"
	long := add("long", map[string]string{"password": strings.Repeat("x", 73)})
	for _, tc := range []struct {
		config map[string]any
		status string
	}{
		{map[string]any{"auth-basic-password-secret": unknown},
			"auth-basic-password-secret: secret " + unknown + " not found (juju add-secret, then set this option to its URI)"},
		{map[string]any{"auth-basic-password-secret": add("empty", map[string]string{"password": ""})},
			"auth-basic-password-secret: key \"password\" of secret "},
		{map[string]any{"tls-cert-blob": b64("x"), "tls-key-blob-secret": add("notpem", map[string]string{"key": "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"})},
			"tls-key-blob-secret: key \"key\" of secret "},
		{map[string]any{"auth-basic-password-secret": long}, "Invalid charm config: auth-basic-password-secret (see juju debug-log)"},
		// A line break would inject a variable into the service's environment.
		{map[string]any{"registry-http-proxy-secret": add("inject", map[string]string{"url": "http://proxy.internal:3128\nLD_PRELOAD=/tmp/x.so"})},
			"Invalid charm config: registry-http-proxy-secret (see juju debug-log)"},
		{map[string]any{"auth-basic-password-secret": unknown, "registry-http-proxy-secret": unknown},
			"auth-basic-password-secret: secret " + unknown + " not found (juju add-secret, then set this option to its URI) (and 1 more, see juju debug-log)"},
	} {
		h.must(h.model.SetConfig(ctx, tc.config))
		if tc.status != "" {
			h.wantStatus(unit0, "blocked", tc.status)
		}
		reset := map[string]any{}
		for k := range tc.config {
			reset[k] = nil
		}
		h.must(h.model.SetConfig(ctx, reset))
		h.wantStatus(unit0, "active", "Ready at")
	}
	if h.exists(unit0, "/etc/docker/registry/htpasswd") {
		t.Error("a secret that could not be used turned basic authentication on")
	}
	if h.exists(unit0, "/etc/docker/registry/environment") {
		t.Error("a proxy URL with a line break reached the service's environment")
	}
}
