package config

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/canonical/docker-registry-charm/internal/service"
)

// FuzzConfig decodes any `config-get --all --format=json` output and
// validates it. Properties: no panic; validation is deterministic and
// sorted; the status line is one line; no problem quotes a secret; and
// whatever validation accepts renders into the line-oriented files it
// reaches (the systemd units: registry-name in Description=; the
// environment file: the proxies) without adding, joining or re-quoting a
// line. Seeds: config.yaml's defaults as Juju hands them over, and the
// settings the README and the reference charm's config.yaml document.
func FuzzConfig(f *testing.F) {
	base, err := json.Marshal(defaults())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(base)
	for _, patch := range []map[string]any{
		{"registry-name": "registry", "http-host": "https://registry.example.com:5000/",
			"registry-http-proxy": "proxy.example.com:3128", "registry-https-proxy": "http://user:pw@proxy.example.com:3128"},
		{"auth-basic-user": "admin", "auth-basic-password": "s3cret-password", "cache-remoteurl": "https://registry-1.docker.io",
			"cache-username": "u", "cache-password": "cache-s3cret"},
		{"storage-s3-region": "us-east-1", "storage-s3-bucket": "registry", "storage-s3-accesskey": "AKIDEXAMPLE",
			"storage-s3-secretkey": "wJalrXUtnFEMI/K7MDENG", "storage-s3-regionendpoint": "http://127.0.0.1:8333"},
		// Regressions FuzzConfig found: a newline in registry-name added
		// lines to the systemd units; a trailing backslash, space or quote
		// in a proxy URL was written into EnvironmentFile= as systemd
		// syntax (url.Parse accepts all three in a path or user info).
		{"registry-name": "evil\nExecStartPre=+/bin/sh -c id"},
		{"registry-http-proxy": "http://p:3128/\\"},
		{"registry-https-proxy": "http://p:3128/a b"},
		{"registry-https-proxy": "http://u:p'@proxy:3128"},
		{"registry-port": 0, "debug-port": 70000, "prometheus-metrics": true, "log-level": "LOUD", "tls-client-auth": "maybe"},
	} {
		f.Add(withPatch(f, base, patch))
	}
	f.Add([]byte(`{"registry-port": "5000"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		problems := c.Validate()
		if again := c.Validate(); !reflect.DeepEqual(problems, again) {
			t.Fatalf("validation is not deterministic: %v then %v", problems, again)
		}
		if !sort.SliceIsSorted(problems, func(i, j int) bool {
			return problems[i].Option < problems[j].Option ||
				problems[i].Option == problems[j].Option && problems[i].Message < problems[j].Message
		}) {
			t.Fatalf("problems not sorted: %v", problems)
		}
		status := FormatProblems(problems)
		if strings.ContainsAny(status, "\r\n\x00") {
			t.Fatalf("status is not one line: %q", status)
		}
		for _, p := range problems {
			for _, secret := range []string{c.AuthBasicPassword, c.CachePassword, c.StorageS3SecretKey, c.StorageS3AccessKey,
				c.StorageSwiftPassword, c.TLSKeyBlob, c.RegistryHTTPProxy, c.RegistryHTTPSProxy} {
				if quotes(p, secret) {
					t.Fatalf("problem %q quotes a secret", p)
				}
			}
		}
		if len(problems) > 0 {
			return
		}
		checkUnitFiles(t, c.RegistryName)
		checkEnvironmentFile(t, c.RegistryHTTPProxy, c.RegistryHTTPSProxy)
	})
}

// quotes reports whether p's message shows secret. A message is fixed text
// for the options that may hold secrets, so a secret that is part of that
// text (FuzzConfigValues found the proxy "http:/", which is in the example
// URL of the proxy message) is not shown by the message; the fixed text is
// taken from the messages for the same option with a neutral bad value.
func quotes(p Problem, secret string) bool {
	if len(secret) < 6 || !strings.Contains(p.Message, secret) {
		return false
	}
	return !strings.Contains(fixedMessages(), secret)
}

// fixedMessages are the messages for the secret-holding options with
// neutral bad values, computed once.
var fixedMessages = sync.OnceValue(func() string {
	var fixed strings.Builder
	for _, neutral := range []string{"::", "a b"} {
		c := defaults()
		c.RegistryHTTPProxy, c.RegistryHTTPSProxy = neutral, neutral
		c.AuthBasicUser, c.AuthBasicPassword, c.CacheUsername, c.CachePassword = neutral, neutral, neutral, ""
		for _, q := range c.Validate() {
			fixed.WriteString(q.Message + "\x00")
		}
	}
	return fixed.String()
})

func withPatch(f *testing.F, base []byte, patch map[string]any) []byte {
	var m map[string]any
	if err := json.Unmarshal(base, &m); err != nil {
		f.Fatal(err)
	}
	for k, v := range patch {
		m[k] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// checkUnitFiles: a registry-name validation accepted keeps the units
// exactly as many lines as any plain name does, Description= on one.
func checkUnitFiles(t *testing.T, name string) {
	t.Helper()
	opts := func(n string) service.UnitOptions {
		return service.UnitOptions{Description: "Docker registry " + n + " (Juju application docker-registry)",
			Binary: "/usr/bin/x", ConfigPath: "/etc/c.yml", User: "u", DataDir: "/srv", ConfigDir: "/etc", Port: 5000,
			EnvironmentFile: "/etc/env"}
	}
	for _, render := range []func(service.UnitOptions) []byte{service.ServiceFile, service.SocketFile} {
		got, want := string(render(opts(name))), string(render(opts("registry")))
		if strings.Count(got, "\n") != strings.Count(want, "\n") || strings.ContainsAny(name, "\r\n\x00") {
			t.Fatalf("registry-name %q changes the unit's lines:\n%s", name, got)
		}
	}
}

// checkEnvironmentFile: accepted proxies are written as KEY=value lines
// that systemd reads back verbatim: no space, quote, backslash or control
// character it would interpret.
func checkEnvironmentFile(t *testing.T, httpProxy, httpsProxy string) {
	t.Helper()
	env := string(service.EnvironmentFile(service.Proxy{HTTP: httpProxy, HTTPS: httpsProxy}))
	want := 0
	for _, p := range []string{httpProxy, httpsProxy} {
		if p != "" {
			want += 2
		}
		for _, r := range p {
			if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"'\`, r) {
				t.Fatalf("proxy %q accepted with %q, which systemd's EnvironmentFile= would interpret", p, r)
			}
		}
	}
	if strings.Count(env, "\n") != want {
		t.Fatalf("environment file has %d lines, want %d:\n%s", strings.Count(env, "\n"), want, env)
	}
}

// FuzzConfigValues puts any strings into the options that reach
// line-oriented files and validates the whole config, so the fuzzer
// spends its time on the values rather than on JSON syntax. Properties as
// FuzzConfig's, plus: no problem message quotes a proxy (proxy URLs carry
// credentials).
func FuzzConfigValues(f *testing.F) {
	f.Add("registry", "proxy.example.com:3128", "http://user:pw@proxy.example.com:3128", "https://registry.example.com/", "info")
	f.Add("my registry ✓", "", "socks5://127.0.0.1:1080", "", "DEBUG")
	f.Add("a\rb", "http://p:3128/\\", "http://p/\"", "http://h/\n", "warn\n")
	base := defaults() // reads config.yaml: once, not per input
	f.Fuzz(func(t *testing.T, name, httpProxy, httpsProxy, httpHost, logLevel string) {
		c := base
		c.RegistryName, c.RegistryHTTPProxy, c.RegistryHTTPSProxy, c.HTTPHost, c.LogLevel = name, httpProxy, httpsProxy, httpHost, logLevel
		problems := c.Validate()
		for _, p := range problems {
			for _, secret := range []string{httpProxy, httpsProxy} {
				if quotes(p, secret) {
					t.Fatalf("problem %q quotes a proxy", p)
				}
			}
		}
		if len(problems) > 0 {
			return
		}
		checkUnitFiles(t, c.RegistryName)
		checkEnvironmentFile(t, c.RegistryHTTPProxy, c.RegistryHTTPSProxy)
	})
}
