package config

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

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
		// A newline in registry-name added lines to the systemd units;
		// url.Parse lets a trailing backslash, a space or a quote into a
		// proxy URL, which EnvironmentFile= would read as syntax.
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

// quotes reports whether p's message shows secret: as a whole token
// (letters and digits do not continue it on either side), and not as
// part of the messages' fixed text. FuzzConfigValues found the proxy
// "http:/" in the proxy message's example URL, FuzzConfig the proxy
// "memory" in storage-cache's "inmemory": neither is shown by the message.
func quotes(p Problem, secret string) bool {
	if len(secret) < 6 {
		return false
	}
	for i := strings.Index(p.Message, secret); i >= 0; {
		end := i + len(secret)
		if !wordByteAt(p.Message, i-1) && !wordByteAt(p.Message, end) && !strings.Contains(fixedMessages(), secret) {
			return true
		}
		next := strings.Index(p.Message[i+1:], secret)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

func wordByteAt(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return false
	}
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// fixedMessages is the text of every message validation gives for
// neutral bad values (every string option "::" or "a b", every number 0),
// computed once.
var fixedMessages = sync.OnceValue(func() string {
	var fixed strings.Builder
	for _, neutral := range []string{"::", "a b"} {
		c := defaults()
		v := reflect.ValueOf(&c).Elem()
		for i := 0; i < v.NumField(); i++ {
			switch f := v.Field(i); f.Kind() {
			case reflect.String:
				f.SetString(neutral)
			case reflect.Int:
				f.SetInt(0)
			case reflect.Bool:
				f.SetBool(true)
			}
		}
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

// checkUnitFiles: a registry-name validation accepted renders, and keeps
// the units exactly as many lines as any plain name does.
func checkUnitFiles(t *testing.T, name string) {
	t.Helper()
	opts := func(n string) service.UnitOptions {
		return service.UnitOptions{Description: "Docker registry " + n + " (Juju application docker-registry)",
			Binary: "/usr/bin/x", ConfigPath: "/etc/c.yml", User: "u", DataDir: "/srv", ConfigDir: "/etc", Port: 5000,
			EnvironmentFile: "/etc/env", ControlSocket: "/run/docker-registry/control.sock"}
	}
	svc, err := service.ServiceFile(opts(name))
	plain, perr := service.ServiceFile(opts("registry"))
	if err != nil || perr != nil {
		t.Fatalf("registry-name %q accepted, the unit does not render: %v (plain: %v)", name, err, perr)
	}
	if strings.Count(string(svc), "\n") != strings.Count(string(plain), "\n") {
		t.Fatalf("registry-name %q changes the unit's lines:\n%s", name, svc)
	}
	sock, plainSock := service.SocketFile(opts(name)), service.SocketFile(opts("registry"))
	if strings.Count(string(sock), "\n") != strings.Count(string(plainSock), "\n") {
		t.Fatalf("registry-name %q changes the socket unit's lines:\n%s", name, sock)
	}
}

// checkEnvironmentFile: accepted proxies render into the environment file,
// one KEY=value line each, and read back as exactly the values given,
// under systemd's rules for EnvironmentFile= (a value in double quotes
// with \\ \" \$ \` escapes, else taken as is).
func checkEnvironmentFile(t *testing.T, httpProxy, httpsProxy string) {
	t.Helper()
	out, err := service.EnvironmentFile(service.Proxy{HTTP: httpProxy, HTTPS: httpsProxy})
	if err != nil {
		t.Fatalf("proxies accepted by validation do not render: %v", err)
	}
	want := map[string]string{}
	for k, v := range map[string]string{"HTTP_PROXY": httpProxy, "http_proxy": httpProxy, "HTTPS_PROXY": httpsProxy, "https_proxy": httpsProxy} {
		if v != "" {
			want[k] = v
		}
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("environment file line %q", line)
		}
		got[k] = readEnvValue(t, v)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("environment file reads back as %q, want %q:\n%s", got, want, out)
	}
}

// readEnvValue reads one value as systemd's environment-file parser does
// for the two forms the renderer writes.
func readEnvValue(t *testing.T, v string) string {
	t.Helper()
	if !strings.HasPrefix(v, `"`) {
		if strings.ContainsAny(v, " \t\"'\\$`;#") {
			t.Fatalf("bare value %q holds a character systemd interprets", v)
		}
		return v
	}
	if len(v) < 2 || !strings.HasSuffix(v, `"`) {
		t.Fatalf("unterminated quoted value %q", v)
	}
	var b strings.Builder
	body := v[1 : len(v)-1]
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c == '\\' && i+1 < len(body) && strings.IndexByte("\\\"$`", body[i+1]) >= 0:
			b.WriteByte(body[i+1])
			i++
		case c == '\\' || c == '"':
			t.Fatalf("unescaped %q in quoted value %q", c, v)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
