package deploy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client reaches a registry on a simulated machine from the test process,
// through the cloud's client namespace.
type Client struct {
	Env      *Env
	CAPEM    []byte // trust this CA; nil means plain http
	User     string
	Password string
	// ClientCert is presented when the registry asks for one.
	ClientCert *tls.Certificate
}

// Transport is an http.Transport that dials inside the cloud.
func (c Client) Transport() *http.Transport {
	tr := &http.Transport{DialContext: c.Env.Cloud.DialContext, ForceAttemptHTTP2: true}
	if c.CAPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(c.CAPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		if c.ClientCert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*c.ClientCert}
		}
	}
	return tr
}

// Options are go-containerregistry options for this client. With a CA the
// client speaks https only: go-containerregistry otherwise falls back to
// plain http for private addresses, which would let a test "over TLS" pass
// with TLS broken.
func (c Client) Options() []remote.Option {
	var rt http.RoundTripper = c.Transport()
	if c.CAPEM != nil {
		rt = httpsOnly{rt}
	}
	opts := []remote.Option{remote.WithTransport(rt)}
	if c.User != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: c.User, Password: c.Password}))
	}
	return opts
}

// Ref parses a reference on netloc; plain http unless the client has a CA.
func (c Client) Ref(netloc, repo string) (name.Reference, error) {
	var opts []name.Option
	if c.CAPEM == nil {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(netloc+"/"+repo, opts...)
}

type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing plain http to %s: this client expects TLS", r.URL.Host)
	}
	return h.rt.RoundTrip(r)
}
