package config

import "github.com/canonical/docker-registry-charm/internal/htpasswd"

// bcryptMaxPassword is bcrypt's input limit: longer passwords cannot be
// hashed (golang.org/x/crypto/bcrypt refuses them).
const bcryptMaxPassword = 72

func (c Config) checkBasicAuth(v *validator) {
	if c.AuthBasicPassword != "" && c.AuthBasicUser == "" {
		v.add("auth-basic-user", "must be set when auth-basic-password is set")
	}
	if c.AuthBasicUser != "" && !htpasswd.ValidUser(c.AuthBasicUser) {
		v.add("auth-basic-user", `must not contain ":" or line breaks, start with "#" or begin or end with spaces`)
	}
	if len(c.AuthBasicPassword) > bcryptMaxPassword {
		v.add("auth-basic-password", "must be at most %d bytes long (bcrypt's limit)", bcryptMaxPassword)
	}
	if c.BasicAuth() && c.TokenAuth() {
		v.add("auth-basic-password", "cannot be combined with token authentication: the registry takes one auth method; unset auth-basic-password or all auth-token-* options")
	}
}

// TokenAuthComplete reports whether all four auth-token-* options are set,
// the only case in which the registry is configured for token auth.
func (c Config) TokenAuthComplete() bool {
	return c.AuthTokenIssuer != "" && c.AuthTokenRealm != "" &&
		c.AuthTokenRootCerts != "" && c.AuthTokenService != ""
}

// checkTokenAuth requires all four auth-token-* options together, as the
// registry's token access controller needs each of them.
func (c Config) checkTokenAuth(v *validator) {
	if !c.TokenAuth() {
		return
	}
	opts := []struct{ name, value string }{
		{"auth-token-issuer", c.AuthTokenIssuer},
		{"auth-token-realm", c.AuthTokenRealm},
		{"auth-token-root-certs", c.AuthTokenRootCerts},
		{"auth-token-service", c.AuthTokenService},
	}
	for _, o := range opts {
		if o.value == "" {
			v.add(o.name, "must be set: token authentication needs auth-token-issuer, auth-token-realm, auth-token-root-certs and auth-token-service")
		}
	}
	if c.AuthTokenRealm != "" && !isHTTPURL(c.AuthTokenRealm) {
		v.add("auth-token-realm", "must be the absolute http or https URL of the token service")
	}
	if c.AuthTokenRootCerts != "" {
		v.certificatesBlob("auth-token-root-certs", c.AuthTokenRootCerts)
	}
}
