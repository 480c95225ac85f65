package relation

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

func TestClientConfigBag(t *testing.T) {
	const netloc = `"10.0.0.5:5000"`
	tests := []struct {
		name string
		in   DockerRegistryClientConfig
		want map[string]string
	}{
		{
			name: "plain http, no auth: every absent value is null",
			in:   DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "http://10.0.0.5:5000"},
			want: map[string]string{
				"registry_netloc": netloc, "registry_url": `"http://10.0.0.5:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null",
			},
		},
		{
			name: "TLS and basic auth, escaped as json.dumps does",
			in: DockerRegistryClientConfig{
				Netloc: "10.0.0.5:5000", URL: "https://10.0.0.5:5000",
				BasicUser: ptr("admin"), BasicPassword: ptr("p\u00e4ss\"<&>\\"),
				TLSCA: ptr("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"),
			},
			want: map[string]string{
				"registry_netloc": netloc, "registry_url": `"https://10.0.0.5:5000"`,
				"basic_user": `"admin"`, "basic_password": `"p\u00e4ss\"<&>\\"`,
				"tls_ca": `"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"`,
			},
		},
		{
			name: "user without password: both null",
			in:   DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "http://10.0.0.5:5000", BasicUser: ptr("admin")},
			want: map[string]string{
				"registry_netloc": netloc, "registry_url": `"http://10.0.0.5:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null",
			},
		},
		{
			name: "empty password: both null, never an empty string",
			in:   DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "http://10.0.0.5:5000", BasicUser: ptr("admin"), BasicPassword: ptr("")},
			want: map[string]string{
				"registry_netloc": netloc, "registry_url": `"http://10.0.0.5:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null",
			},
		},
		{
			name: "empty CA is null",
			in:   DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "https://10.0.0.5:5000", TLSCA: ptr("")},
			want: map[string]string{
				"registry_netloc": netloc, "registry_url": `"https://10.0.0.5:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null",
			},
		},
		{
			name: "IPv6 netloc",
			in:   DockerRegistryClientConfig{Netloc: "[fd00::5]:5000", URL: "http://[fd00::5]:5000"},
			want: map[string]string{
				"registry_netloc": `"[fd00::5]:5000"`, "registry_url": `"http://[fd00::5]:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Bag()
			if err != nil {
				t.Fatalf("Bag: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Bag =\n%v\nwant\n%v", got, tt.want)
			}
			for k, v := range got {
				if v == "" {
					t.Errorf("%s published as an empty string", k)
				}
			}
		})
	}
}

func TestClientConfigBagErrors(t *testing.T) {
	const secret = "s3cret\xff"
	tests := []struct {
		name string
		in   DockerRegistryClientConfig
	}{
		{"no netloc", DockerRegistryClientConfig{URL: "http://x"}},
		{"invalid UTF-8 password", DockerRegistryClientConfig{Netloc: "h:1", URL: "http://h:1", BasicUser: ptr("u"), BasicPassword: ptr(secret)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.Bag()
			if err == nil {
				t.Fatal("Bag succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "cannot ") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("bad error message: %v", err)
			}
		})
	}
}

// The requirer side, as interface-docker-registry's requires.py sees it.
func TestParseClientConfig(t *testing.T) {
	tests := []struct {
		name      string
		bag       map[string]string
		want      DockerRegistryClientConfig
		err       error
		auth, tls bool
	}{
		{"nothing published", map[string]string{"private-address": "10.0.0.5"}, DockerRegistryClientConfig{}, ErrDockerRegistryNotReady, false, false},
		{"netloc null", map[string]string{"registry_netloc": "null"}, DockerRegistryClientConfig{}, ErrDockerRegistryNotReady, false, false},
		{
			"ready, plain",
			map[string]string{"registry_netloc": `"10.0.0.5:5000"`, "registry_url": `"http://10.0.0.5:5000"`,
				"basic_user": "null", "basic_password": "null", "tls_ca": "null"},
			DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "http://10.0.0.5:5000"}, nil, false, false,
		},
		{
			"raw netloc still reads (json.loads falls back)",
			map[string]string{"registry_netloc": "10.0.0.5:5000"},
			DockerRegistryClientConfig{Netloc: "10.0.0.5:5000"}, nil, false, false,
		},
		{
			"auth and TLS",
			map[string]string{"registry_netloc": `"10.0.0.5:5000"`, "registry_url": `"https://10.0.0.5:5000"`,
				"basic_user": `"admin"`, "basic_password": `"p\u00e4ss"`, "tls_ca": `"-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n"`},
			DockerRegistryClientConfig{Netloc: "10.0.0.5:5000", URL: "https://10.0.0.5:5000", BasicUser: ptr("admin"), BasicPassword: ptr("päss"),
				TLSCA: ptr("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n")}, nil, true, true,
		},
		{
			"user without password is no auth",
			map[string]string{"registry_netloc": `"h:1"`, "basic_user": `"admin"`},
			DockerRegistryClientConfig{Netloc: "h:1", BasicUser: ptr("admin")}, nil, false, false,
		},
		{
			"JSON empty strings are set (has_auth_basic is true in Python too)",
			map[string]string{"registry_netloc": `"h:1"`, "basic_user": `""`, "basic_password": `""`},
			DockerRegistryClientConfig{Netloc: "h:1", BasicUser: ptr(""), BasicPassword: ptr("")}, nil, true, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDockerRegistryClientConfig(tt.bag)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseClientConfig = %+v, want %+v", got, tt.want)
			}
			if got.HasAuthBasic() != tt.auth || got.HasTLS() != tt.tls {
				t.Errorf("HasAuthBasic, HasTLS = %v, %v; want %v, %v", got.HasAuthBasic(), got.HasTLS(), tt.auth, tt.tls)
			}
		})
	}
}

func TestParseClientConfigRefusesNonStrings(t *testing.T) {
	_, err := ParseDockerRegistryClientConfig(map[string]string{"registry_netloc": `"h:1"`, "basic_password": "12345"})
	if err == nil || strings.Contains(err.Error(), "12345") {
		t.Errorf("err = %v, want an error that does not quote the value", err)
	}
}

func TestClientConfigRoundTrip(t *testing.T) {
	in := DockerRegistryClientConfig{Netloc: "[fd00::5]:5000", URL: "https://[fd00::5]:5000", BasicUser: ptr("ädmin"),
		BasicPassword: ptr("a\"b\\c\n😀"), TLSCA: ptr("-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n")}
	bag, err := in.Bag()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDockerRegistryClientConfig(bag)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("round trip changed the config")
	}
}

func TestNetloc(t *testing.T) {
	tests := []struct {
		name                     string
		httpHost, proxy, ingress string
		port                     int
		want                     string
	}{
		{"http-host without port: host only", "https://registry.example.com/", "10.0.0.9", "10.0.0.5", 5000, "registry.example.com"},
		{"http-host explicit port kept", "https://registry.example.com:8443/", "", "10.0.0.5", 5000, "registry.example.com:8443"},
		{"http-host IPv6 stays bracketed", "http://[fd00::5]:5000/", "", "10.0.0.5", 5000, "[fd00::5]:5000"},
		{"http-host credentials dropped", "https://u:p@registry.example.com/", "", "10.0.0.5", 5000, "registry.example.com"},
		{"proxy address with our port", "", "10.0.0.9", "10.0.0.5", 5000, "10.0.0.9:5000"},
		{"proxy IPv6", "", "fd00::9", "10.0.0.5", 5000, "[fd00::9]:5000"},
		{"proxy IPv6 already bracketed", "", "[fd00::9]", "10.0.0.5", 5000, "[fd00::9]:5000"},
		{"own address", "", "", "10.0.0.5", 5000, "10.0.0.5:5000"},
		{"own address, other port", "", "", "10.0.0.5", 5443, "10.0.0.5:5443"},
		{"own IPv6 address", "", "", "fd00::5", 5000, "[fd00::5]:5000"},
		{"host name", "", "", "juju-abc-0.lxd", 5000, "juju-abc-0.lxd:5000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DockerRegistryNetloc(tt.httpHost, tt.proxy, tt.ingress, tt.port)
			if err != nil {
				t.Fatalf("Netloc: %v", err)
			}
			if got != tt.want {
				t.Errorf("Netloc = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNetlocErrors(t *testing.T) {
	tests := []struct {
		name                     string
		httpHost, proxy, ingress string
		port                     int
	}{
		{"http-host without scheme", "registry.example.com", "", "10.0.0.5", 5000},
		{"http-host with credentials but no scheme", "u:s3cret@host", "", "10.0.0.5", 5000},
		{"no address", "", "", "", 5000},
		{"port zero", "", "", "10.0.0.5", 0},
		{"port too big", "", "10.0.0.9", "", 70000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DockerRegistryNetloc(tt.httpHost, tt.proxy, tt.ingress, tt.port)
			if err == nil {
				t.Fatalf("Netloc = %q, want an error", got)
			}
			if !strings.HasPrefix(err.Error(), "cannot ") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("bad error message: %v", err)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ httpHost, scheme, netloc, want string }{
		{"", "http", "10.0.0.5:5000", "http://10.0.0.5:5000"},
		{"", "https", "[fd00::5]:5000", "https://[fd00::5]:5000"},
		{"https://registry.example.com/", "http", "registry.example.com", "https://registry.example.com/"},
	}
	for _, tt := range tests {
		if got := DockerRegistryURL(tt.httpHost, tt.scheme, tt.netloc); got != tt.want {
			t.Errorf("URL(%q, %q, %q) = %q, want %q", tt.httpHost, tt.scheme, tt.netloc, got, tt.want)
		}
	}
}
