package relation

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// docker-registry interface, provider side (containerd, docker and old
// kubernetes-worker require it). Every value is JSON-encoded unit data, as
// reactive's to_publish writes it; the requirer decodes with json.loads.

// Keys of the provider's unit bag.
const (
	keyNetloc        = "registry_netloc"
	keyURL           = "registry_url"
	keyBasicUser     = "basic_user"
	keyBasicPassword = "basic_password"
	keyTLSCA         = "tls_ca"
)

// DockerRegistryClientConfig is what registry clients are told. A nil pointer is
// Python's None: published as the JSON literal null, never as "" (the
// requirer tests "is not None", so "" would mean "set, and empty").
type DockerRegistryClientConfig struct {
	Netloc        string // host[:port] clients pull from, e.g. "10.0.0.5:5000"
	URL           string // registry_url
	BasicUser     *string
	BasicPassword *string
	TLSCA         *string // PEM of the CA that signed our certificate
}

// ErrDockerRegistryNotReady is returned by ParseDockerRegistryClientConfig
// while the provider has not published a netloc (reactive's is_ready is
// false).
var ErrDockerRegistryNotReady = errors.New("registry has published no registry_netloc")

// Bag is the provider bag. All five keys are always present so a client
// sees a removed setting turn into null. Basic auth is all or nothing, as
// in the reference: unless both user and password are non-empty, both are
// null. An empty CA is null too.
func (c DockerRegistryClientConfig) Bag() (map[string]string, error) {
	if c.Netloc == "" {
		return nil, errors.New("cannot publish client config: empty registry_netloc")
	}
	user, password := c.BasicUser, c.BasicPassword
	if user == nil || password == nil || *user == "" || *password == "" {
		user, password = nil, nil
	}
	ca := c.TLSCA
	if ca != nil && *ca == "" {
		ca = nil
	}
	values := map[string]any{
		keyNetloc: c.Netloc, keyURL: c.URL,
		keyBasicUser: user, keyBasicPassword: password, keyTLSCA: ca,
	}
	bag := make(map[string]string, len(values))
	for k, v := range values {
		enc, err := reactiveJSON(v)
		if err != nil {
			// The error names the key only: the value may be a password.
			return nil, fmt.Errorf("cannot publish client config %s: %w", k, err)
		}
		bag[k] = enc
	}
	return bag, nil
}

// HasAuthBasic is requires.py's has_auth_basic: both user and password set.
func (c DockerRegistryClientConfig) HasAuthBasic() bool {
	return c.BasicUser != nil && c.BasicPassword != nil
}

// HasTLS is requires.py's has_tls: a CA was published.
func (c DockerRegistryClientConfig) HasTLS() bool { return c.TLSCA != nil }

// ParseDockerRegistryClientConfig reads a provider bag as the reactive requirer does
// (json.loads with fallback to the raw string, missing or null = None).
// ErrDockerRegistryNotReady means is_ready is false. A value that decodes to something
// other than a string is an error; the message never quotes the value.
// A URL of None comes back as "" (has_custom_url is URL != "").
func ParseDockerRegistryClientConfig(bag map[string]string) (DockerRegistryClientConfig, error) {
	var c DockerRegistryClientConfig
	fields := []struct {
		key string
		dst **string
	}{
		{keyBasicUser, &c.BasicUser}, {keyBasicPassword, &c.BasicPassword}, {keyTLSCA, &c.TLSCA},
	}
	netloc, err := receivedString(bag, keyNetloc)
	if err != nil {
		return DockerRegistryClientConfig{}, err
	}
	if netloc == nil {
		return DockerRegistryClientConfig{}, ErrDockerRegistryNotReady
	}
	c.Netloc = *netloc
	u, err := receivedString(bag, keyURL)
	if err != nil {
		return DockerRegistryClientConfig{}, err
	}
	if u != nil {
		c.URL = *u
	}
	for _, f := range fields {
		if *f.dst, err = receivedString(bag, f.key); err != nil {
			return DockerRegistryClientConfig{}, err
		}
	}
	return c, nil
}

func receivedString(bag map[string]string, key string) (*string, error) {
	switch v := reactiveDecode(bag[key]).(type) {
	case nil:
		return nil, nil
	case string:
		return &v, nil
	default:
		return nil, fmt.Errorf("cannot read %s: got a JSON %T, want a string", key, v)
	}
}

// DockerRegistryNetloc is the registry_netloc clients are told, in the reference's
// order of preference:
//
//  1. http-host's host[:port], as urlparse(http-host).netloc: an explicit
//     port is kept, none means the scheme's default port, and any
//     user:password@ is dropped (never published);
//  2. the first related proxy's address, with our port: haproxy listens on
//     the service_port we ask for, which is our port. The reference sent
//     the bare proxy address, which sent clients to port 80/443 where
//     nothing listened (a weakness we fix);
//  3. our own ingress address and port.
//
// IPv6 addresses are bracketed. A proxy or ingress address that is not an
// IP address or host name counts as not given.
func DockerRegistryNetloc(httpHost, proxyAddr, ingress string, port int) (string, error) {
	if httpHost != "" {
		u, err := url.Parse(httpHost)
		if err != nil || u.Host == "" {
			// Not quoted: a URL may carry credentials.
			return "", errors.New("cannot derive registry_netloc from http-host: not an absolute URL")
		}
		return u.Host, nil
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("cannot derive registry_netloc: port %d out of range", port)
	}
	addr := bareHost(proxyAddr)
	if addr == "" {
		addr = bareHost(ingress)
	}
	if addr == "" {
		return "", errors.New("cannot derive registry_netloc: no address")
	}
	return net.JoinHostPort(addr, strconv.Itoa(port)), nil
}

// bareHost is s without spaces or IPv6 brackets when it is an IP address or
// host name, else "": registry_netloc goes into every worker's containerd
// configuration, so an address that is neither counts as none.
func bareHost(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	if !isHost(s) {
		return ""
	}
	return s
}

// DockerRegistryURL is registry_url: http-host verbatim when set, since the operator
// knows best how clients reach us, else scheme://netloc. (The reference
// read a misspelt option, "http_config", so it always sent
// scheme://netloc; http-host is what its code meant.)
func DockerRegistryURL(httpHost, scheme, netloc string) string {
	if httpHost != "" {
		return httpHost
	}
	return scheme + "://" + netloc
}
