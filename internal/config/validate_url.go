package config

import (
	"net/url"
	"strings"
)

// isHTTPURL reports whether s is an absolute http(s) URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Scheme == "http" || u.Scheme == "https"
}

// isRegistryHost reports whether s suits http.host: distribution builds
// every URL it returns from it, so it must be absolute, carry no query or
// credentials, and its path must end in "/" (an empty path is "/").
func isRegistryHost(s string) bool {
	if !isHTTPURL(s) {
		return false
	}
	u, _ := url.Parse(s)
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	return u.Path == "" || strings.HasSuffix(u.Path, "/")
}

// proxyURL checks an HTTP(S)_PROXY value the way Go's http.ProxyFromEnvironment
// reads it: a URL, or a bare host:port meaning http. The value is never
// quoted back, since proxy URLs often carry credentials.
func (v *validator) proxyURL(option, s string) {
	if s == "" {
		return
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	ok := err == nil && u.Host != ""
	if ok {
		switch u.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			ok = false
		}
	}
	if !ok {
		v.add(option, "must be a proxy URL such as http://proxy.example.com:3128 (http, https or socks5)")
	}
}
