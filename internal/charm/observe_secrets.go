package charm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/juju"
)

// secretOption is a `type: secret` option standing in for a credential
// option: it holds the URI of a Juju user secret whose key holds the value.
type secretOption struct {
	name  string // the secret option, "auth-basic-password-secret"
	plain string // the option it replaces, "auth-basic-password"
	key   string // the key inside the secret, "password"
	uri   func(*config.Config) *string
	value func(*config.Config) *string
	// encode turns the secret's value into the plain option's form; nil
	// keeps it as it is.
	encode func(string) (string, error)
}

// secretOptions lists every credential option's secret twin. A secret
// holds the value as an operator has it (a PEM key, not base64 of it).
var secretOptions = []secretOption{
	{"auth-basic-password-secret", "auth-basic-password", "password",
		func(c *config.Config) *string { return &c.AuthBasicPasswordSecret },
		func(c *config.Config) *string { return &c.AuthBasicPassword }, nil},
	{"cache-password-secret", "cache-password", "password",
		func(c *config.Config) *string { return &c.CachePasswordSecret },
		func(c *config.Config) *string { return &c.CachePassword }, nil},
	{"registry-http-proxy-secret", "registry-http-proxy", "url",
		func(c *config.Config) *string { return &c.RegistryHTTPProxySecret },
		func(c *config.Config) *string { return &c.RegistryHTTPProxy }, nil},
	{"registry-https-proxy-secret", "registry-https-proxy", "url",
		func(c *config.Config) *string { return &c.RegistryHTTPSProxySecret },
		func(c *config.Config) *string { return &c.RegistryHTTPSProxy }, nil},
	{"storage-swift-password-secret", "storage-swift-password", "password",
		func(c *config.Config) *string { return &c.StorageSwiftPasswordSecret },
		func(c *config.Config) *string { return &c.StorageSwiftPassword }, nil},
	{"storage-s3-secretkey-secret", "storage-s3-secretkey", "secret-key",
		func(c *config.Config) *string { return &c.StorageS3SecretKeySecret },
		func(c *config.Config) *string { return &c.StorageS3SecretKey }, nil},
	{"tls-key-blob-secret", "tls-key-blob", "key",
		func(c *config.Config) *string { return &c.TLSKeyBlobSecret },
		func(c *config.Config) *string { return &c.TLSKeyBlob }, pemAsBlob},
}

// Secrets is what observe learned from the secret options.
type Secrets struct {
	// From names, for each credential option filled from a secret, the
	// secret option it came from.
	From map[string]string
	// Problems are the secret options that could not be read: missing,
	// not granted, without the key. They block, like invalid options.
	Problems []config.Problem
}

// observeSecrets reads every secret an option names and writes its value
// over the option it replaces, so that validation, plan and apply see one
// config whatever the value's source. A secret option wins over its plain
// option when both are set.
//
// Every read uses --refresh: an option names "the secret", so the unit
// follows its latest revision and tells Juju so. A plain read would stay
// on the revision first read (a unit that missed or skipped a
// secret-changed would serve a stale password for good); --peek would
// read the latest but leave Juju believing the unit still uses the old
// revision, which then never becomes obsolete.
func (c *Charm) observeSecrets(ctx context.Context, o *Observed) error {
	o.Secrets = Secrets{From: map[string]string{}}
	values := make([]string, len(secretOptions))
	problems := make([]*config.Problem, len(secretOptions))
	var g group
	for i, opt := range secretOptions {
		uri := *opt.uri(&o.Config)
		if uri == "" {
			continue
		}
		g.Go(func() (err error) {
			values[i], problems[i], err = c.readSecretOption(ctx, o.App, opt, uri)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var overridden []string
	for i, opt := range secretOptions {
		if *opt.uri(&o.Config) == "" {
			continue
		}
		if problems[i] != nil {
			o.Secrets.Problems = append(o.Secrets.Problems, *problems[i])
			continue
		}
		if *opt.value(&o.Config) != "" {
			overridden = append(overridden, opt.plain)
		}
		*opt.value(&o.Config) = values[i]
		o.Secrets.From[opt.plain] = opt.name
	}
	if len(overridden) > 0 {
		_ = c.Juju.Log(ctx, juju.LevelWarning, fmt.Sprintf(
			"ignoring %s: the secret option of the same name is set and wins (unset it: juju config %s --reset %s)",
			strings.Join(overridden, ", "), o.App, strings.Join(overridden, " ")))
	}
	return nil
}

// readSecretOption reads one option's secret. What an operator can fix is
// a Problem naming the option; only a failure of Juju itself is an error.
func (c *Charm) readSecretOption(ctx context.Context, app string, opt secretOption, uri string) (string, *config.Problem, error) {
	problem := func(format string, args ...any) (string, *config.Problem, error) {
		return "", &config.Problem{Option: opt.name, Message: fmt.Sprintf(format, args...)}, nil
	}
	content, err := c.Juju.SecretGet(ctx, juju.SecretGetOptions{ID: uri, Refresh: true})
	var te *juju.ToolError
	switch {
	case errors.Is(err, juju.ErrSecretPermission):
		return problem("secret not granted to %s (juju grant-secret %s %s)", app, uri, app)
	case errors.Is(err, juju.ErrSecretNotFound):
		return problem("secret %s not found (juju add-secret, then set this option to its URI)", uri)
	case errors.As(err, &te) && te.Code == 2:
		return problem("not a secret URI (secret:<id>, as juju add-secret prints it)")
	case err != nil:
		return "", nil, fmt.Errorf("cannot read %s: %w", opt.name, err)
	}
	value, ok := content[opt.key]
	if !ok {
		return problem("secret %s has no key %q (juju update-secret %s %s=...)", uri, opt.key, uri, opt.key)
	}
	if value == "" {
		// An empty password would turn authentication off: fail closed.
		return problem("key %q of secret %s is empty", opt.key, uri)
	}
	if opt.encode != nil {
		if value, err = opt.encode(value); err != nil {
			return problem("key %q of secret %s: %v", opt.key, uri, err)
		}
	}
	return value, nil, nil
}

// pemAsBlob turns a PEM private key into tls-key-blob's form (base64).
func pemAsBlob(pem string) (string, error) {
	if !strings.Contains(pem, "-----BEGIN ") {
		return "", errors.New("must hold the PEM private key itself (juju add-secret NAME key#file=registry.key)")
	}
	return base64.StdEncoding.EncodeToString([]byte(pem)), nil
}

// validate checks the options as the secrets filled them in: the secrets'
// own problems first, then the options', naming the secret option where
// an invalid value came from one.
func (o *Observed) validate() []config.Problem {
	problems := append([]config.Problem(nil), o.Secrets.Problems...)
	for _, p := range o.Config.Validate() {
		p.Option = o.optionName(p.Option)
		problems = append(problems, p)
	}
	return problems
}

// optionName is the option an operator sets for plain: its secret twin
// when the value came from a secret.
func (o *Observed) optionName(plain string) string {
	if name := o.Secrets.From[plain]; name != "" {
		return name
	}
	return plain
}

// problemStatus is the blocked status for problems. A secret problem is
// shown whole: the fix is a juju secret command, not another option value.
func (o *Observed) problemStatus(problems []config.Problem) string {
	if len(o.Secrets.Problems) == 0 {
		return config.FormatProblems(problems)
	}
	msg := o.Secrets.Problems[0].String()
	if n := len(problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more, see juju debug-log)", n)
	}
	return msg
}
