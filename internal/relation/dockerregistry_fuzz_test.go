package relation

import (
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzClientConfig reads any docker-registry provider bag as the requirer
// does (interface-docker-registry requires.py: json.loads with fallback to
// the raw string) and publishes what it read again. Seeds are the bags the
// reactive provider published (provides.py set_registry_config: every
// value JSON, null for unset) and a bag from a provider that wrote raw
// strings.
func FuzzClientConfig(f *testing.F) {
	f.Add(`"10.0.0.5:5000"`, `"http://10.0.0.5:5000"`, `null`, `null`, `null`)
	f.Add(`"registry.example.com"`, `"https://registry.example.com/"`, `"admin"`, `"s3cret"`,
		`"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"`)
	f.Add("10.0.0.5:5000", "", "admin", "", "")
	f.Add(`"[fd00::5]:5000"`, `1`, `["a"]`, `{"x": null}`, "\xff")
	f.Fuzz(func(t *testing.T, netloc, url, user, password, ca string) {
		in := map[string]string{
			"registry_netloc": netloc, "registry_url": url,
			"basic_user": user, "basic_password": password, "tls_ca": ca,
		}
		c, err := ParseDockerRegistryClientConfig(in)
		if err != nil {
			for _, v := range []string{user, password, ca} {
				if len(v) > 3 && strings.Contains(err.Error(), v) {
					t.Fatalf("error quotes a value: %s", strings.ReplaceAll(err.Error(), v, "<the value>"))
				}
			}
			return
		}
		bag, err := c.Bag()
		if err != nil {
			// Empty netloc, or a raw value that is not UTF-8 (Python
			// could not hold it either): refused, naming the key only.
			if len(password) > 3 && strings.Contains(err.Error(), password) {
				t.Fatalf("error quotes the password: %s", strings.ReplaceAll(err.Error(), password, "<the password>"))
			}
			return
		}
		for k, v := range bag {
			checkReactiveJSONLine(t, v)
			if k != "registry_netloc" && k != "registry_url" && k != "basic_user" && k != "basic_password" && k != "tls_ca" {
				t.Fatalf("unexpected key %q", k)
			}
		}
		back, err := ParseDockerRegistryClientConfig(bag)
		if err != nil {
			t.Fatalf("our own bag does not parse: %v", err)
		}
		if want := normalClientConfig(c); !reflect.DeepEqual(back, want) {
			t.Fatalf("round trip: got %#v, want %#v", back, want)
		}
	})
}

// normalClientConfig is what Bag keeps of c: auth all or nothing, an
// empty CA as none.
func normalClientConfig(c DockerRegistryClientConfig) DockerRegistryClientConfig {
	if c.BasicUser == nil || c.BasicPassword == nil || *c.BasicUser == "" || *c.BasicPassword == "" {
		c.BasicUser, c.BasicPassword = nil, nil
	}
	if c.TLSCA != nil && *c.TLSCA == "" {
		c.TLSCA = nil
	}
	return c
}

// FuzzNetloc derives registry_netloc from any proxy and ingress address
// (the proxy's comes from its relation bag): the result is always
// host:port with a real host and our port, which containerd can take as a
// mirror host and a URL.
func FuzzNetloc(f *testing.F) {
	f.Add("10.0.0.9", "10.0.0.5", 5000)
	f.Add("[fd00::9]", "fd00::5", 443)
	f.Add("", "juju-abc-0.lxd", 5000)
	f.Add("10.0.0.9\n[plugins]", "10.0.0.5", 5000)
	f.Add("a:b", "", 0)
	f.Fuzz(func(t *testing.T, proxy, ingress string, port int) {
		nl, err := DockerRegistryNetloc("", proxy, ingress, port)
		if err != nil {
			return
		}
		host, p, err := net.SplitHostPort(nl)
		if err != nil || !isHost(host) || p != strconv.Itoa(port) {
			t.Fatalf("Netloc = %q: host %q port %q (%v)", nl, host, p, err)
		}
		if want := bareHost(proxy); want != "" && host != want {
			t.Fatalf("Netloc = %q, the proxy %q was valid", nl, proxy)
		}
	})
}
