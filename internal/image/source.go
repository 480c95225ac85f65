package image

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/net/http/httpproxy"
)

// Proxy is the model's proxy settings (JUJU_CHARM_HTTP_PROXY, ...). They
// apply to the source only: the target is our own unit.
type Proxy struct {
	HTTP, HTTPS, NoProxy string
}

// Auth is a username and password for a private source registry.
type Auth struct {
	Username, Password string
}

func (p Proxy) proxyFunc() func(*http.Request) (*url.URL, error) {
	if p == (Proxy{}) {
		return nil
	}
	conf := httpproxy.Config{HTTPProxy: p.HTTP, HTTPSProxy: p.HTTPS, NoProxy: p.NoProxy}
	fn := conf.ProxyFunc()
	return func(req *http.Request) (*url.URL, error) { return fn(req.URL) }
}

// sourceOptions reaches the source registry: its credentials (sent over
// https only), the proxy, and extra CAs for a private mirror.
func sourceOptions(ctx context.Context, req PushRequest) ([]remote.Option, error) {
	tlsConf, err := tlsConfig(req.SourceCAPEM, true, nil, nil)
	if err != nil {
		return nil, err
	}
	base := newTransport(tlsConf, req.Proxy.proxyFunc())
	// Plain http is allowed for an anonymous mirror on the local network;
	// the guard refuses it as soon as credentials would go with it.
	tr := stallGuard{next: &guard{next: base, plainOK: true}}
	var auth authn.Authenticator = authn.Anonymous
	if req.SourceAuth != (Auth{}) {
		auth = &authn.Basic{Username: req.SourceAuth.Username, Password: req.SourceAuth.Password}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuth(auth),
		remote.WithJobs(jobs),
	}, nil
}

// ProxyFromJuju reads the model's proxy settings as Juju hands them to a
// charm (JUJU_CHARM_HTTP_PROXY, JUJU_CHARM_HTTPS_PROXY, JUJU_CHARM_NO_PROXY).
func ProxyFromJuju(getenv func(string) string) Proxy {
	return Proxy{
		HTTP:    getenv("JUJU_CHARM_HTTP_PROXY"),
		HTTPS:   getenv("JUJU_CHARM_HTTPS_PROXY"),
		NoProxy: getenv("JUJU_CHARM_NO_PROXY"),
	}
}
