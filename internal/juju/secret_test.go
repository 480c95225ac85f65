package juju_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

var ctx = context.Background()

func TestSecretGetArgv(t *testing.T) {
	tests := []struct {
		opts juju.SecretGetOptions
		argv string
	}{
		{juju.SecretGetOptions{ID: "secret:cn4m2rjpbv7s71a2fsj0"}, "secret-get secret:cn4m2rjpbv7s71a2fsj0 --format=json"},
		{juju.SecretGetOptions{ID: "secret:cn4m2rjpbv7s71a2fsj0", Refresh: true},
			"secret-get secret:cn4m2rjpbv7s71a2fsj0 --refresh --format=json"},
		{juju.SecretGetOptions{ID: "secret:cn4m2rjpbv7s71a2fsj0", Peek: true},
			"secret-get secret:cn4m2rjpbv7s71a2fsj0 --peek --format=json"},
		{juju.SecretGetOptions{Label: "db"}, "secret-get --label db --format=json"},
	}
	for _, tt := range tests {
		c, r := newClient(map[string]string{"secret-get": `{"password":"pw"}` + "\n"})
		got, err := c.SecretGet(ctx, tt.opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.argv, err)
		}
		if got["password"] != "pw" || len(got) != 1 {
			t.Errorf("%s: content has keys %d, want the one key password", tt.argv, len(got))
		}
		call := r.only(t)
		if strings.Join(call.argv, " ") != tt.argv || call.stdin != "" {
			t.Errorf("argv = %q, want %q", strings.Join(call.argv, " "), tt.argv)
		}
	}
}

// Juju's messages (apiserver/facades/agent/secretsmanager getSecretContent):
// an unknown secret is a NotFound error, a secret not granted is ErrPerm.
func TestSecretGetClassifiesErrors(t *testing.T) {
	tests := []struct {
		stderr string
		code   int
		want   error
	}{
		{`ERROR secret "secret:cn4m2rjpbv7s71a2fsj0" not found` + "\n", 1, juju.ErrSecretNotFound},
		{`ERROR consumer label "db" not found` + "\n", 1, juju.ErrSecretNotFound},
		{"ERROR permission denied\n", 1, juju.ErrSecretPermission},
		{`ERROR secret URI "bogus" not valid` + "\n", 2, nil},
	}
	for _, tt := range tests {
		c, _ := newClient(nil)
		c.Runner.(*recorder).err = juju.NewToolError("secret-get", []string{"x"}, tt.code, tt.stderr)
		_, err := c.SecretGet(ctx, juju.SecretGetOptions{ID: "secret:cn4m2rjpbv7s71a2fsj0"})
		if err == nil {
			t.Fatalf("%q: no error", tt.stderr)
		}
		for _, sentinel := range []error{juju.ErrSecretNotFound, juju.ErrSecretPermission} {
			if errors.Is(err, sentinel) != (sentinel == tt.want) {
				t.Errorf("%q: errors.Is(%v) = %v", tt.stderr, sentinel, !(sentinel == tt.want))
			}
		}
	}
}

// Output that is not an object of strings is refused without quoting it:
// a decoding error could echo part of a secret value.
func TestSecretGetDecodeErrorQuotesNothing(t *testing.T) {
	for _, out := range []string{`"hunter2-value"`, `{"password":hunter2-value}`, `null`, `["hunter2-value"]`} {
		c, _ := newClient(map[string]string{"secret-get": out})
		_, err := c.SecretGet(ctx, juju.SecretGetOptions{ID: "secret:cn4m2rjpbv7s71a2fsj0"})
		if err == nil {
			t.Fatalf("output %d bytes long accepted", len(out))
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "h'") {
			t.Errorf("the error quotes the tool's output")
		}
	}
}
