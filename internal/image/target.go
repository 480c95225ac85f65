package image

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Target is the registry this charm serves: where pushes land and what
// list, delete and the registry half of the actions talk to.
type Target struct {
	Netloc string // host:port this client reaches it on, e.g. "10.0.0.5:5000"
	// Aliases are other host:ports clients know the registry by (http-host,
	// a proxy in front): references naming them are taken to be ours.
	Aliases  []string
	Insecure bool // plain http; otherwise https only, never a fallback
	Username string
	Password string
	// CAPEM is the CA bundle (or the self-signed certificate) the registry
	// serves with; when set it is trusted alone, without the system store.
	CAPEM []byte
	// ClientCert and ClientKey (PEM) are needed when the registry requires
	// client certificates (tls-ca-path set on the unit).
	ClientCert []byte
	ClientKey  []byte
}

// jobs is how many blobs move at once. ggcr's default is 4; more keeps both
// cores busy while one stream waits on the network or the disk.
const jobs = 8

// dialTimeout bounds a TCP connect and, separately, a TLS handshake. A
// registry whose machine is gone never completes either.
var dialTimeout = 10 * time.Second

// Options returns the go-containerregistry options that reach the target:
// its credentials, its CA and client certificate, and no proxy (the target
// is our own unit, reached on its private address).
func (t Target) Options(ctx context.Context) ([]remote.Option, error) {
	tr, err := t.transport(nil)
	if err != nil {
		return nil, err
	}
	return t.options(ctx, tr), nil
}

func (t Target) options(ctx context.Context, tr http.RoundTripper) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuth(t.auth()),
		remote.WithJobs(jobs),
	}
}

func (t Target) auth() authn.Authenticator {
	if t.Username == "" && t.Password == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: t.Username, Password: t.Password}
}

// transport builds the base round tripper for the target; count, when not
// nil, adds up the blob bytes uploaded through it.
func (t Target) transport(count *int64) (http.RoundTripper, error) {
	// Only the registry's own CA: it is all we need to trust for our own
	// unit, and skips loading the system store (tens of ms per action).
	tlsConf, err := tlsConfig(t.CAPEM, false, t.ClientCert, t.ClientKey)
	if err != nil {
		return nil, err
	}
	base := newTransport(tlsConf, nil)
	return stallGuard{next: &guard{next: base, ownHost: t.Netloc, plainOK: t.Insecure, count: count}}, nil
}

// Registry is the target as a go-containerregistry registry name.
func (t Target) Registry() (name.Registry, error) {
	reg, err := name.NewRegistry(t.Netloc, t.nameOpts()...)
	if err != nil {
		return name.Registry{}, fmt.Errorf("cannot parse registry address %q: %w", t.Netloc, err)
	}
	return reg, nil
}

// nameOpts makes ggcr pick the scheme we mean: "http" only for an insecure
// target. (ggcr would otherwise assume http for private and loopback
// addresses and fall back to it after a TLS failure.)
func (t Target) nameOpts() []name.Option {
	if t.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// ref parses a reference on the target; a reference without a registry
// part ("repo:tag") or naming an alias is taken to be on the target.
func (t Target) ref(s string) (name.Reference, error) {
	s = t.own(s)
	r, err := name.ParseReference(s, t.nameOpts()...)
	if err != nil {
		return nil, fmt.Errorf("cannot parse image reference %q: %w", s, err)
	}
	if r.Context().RegistryStr() != t.Netloc {
		return nil, fmt.Errorf("cannot use %q: it is not on this registry (%s)", s, t.Netloc)
	}
	return r, nil
}

// tlsConfig trusts caPEM (plus the system store when withSystem), or the
// system store alone when caPEM is empty.
// own rewrites a reference without a registry part, or on an alias, onto
// Netloc; other references are returned unchanged.
func (t Target) own(ref string) string {
	reg := registryPart(ref)
	if reg == "" {
		return t.Netloc + "/" + ref
	}
	if slices.Contains(t.Aliases, reg) {
		return t.Netloc + strings.TrimPrefix(ref, reg)
	}
	return ref
}

func tlsConfig(caPEM []byte, withSystem bool, certPEM, keyPEM []byte) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if withSystem {
			if sys, err := x509.SystemCertPool(); err == nil {
				pool = sys
			}
		}
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("cannot use the CA bundle: no PEM certificate in it")
		}
		conf.RootCAs = pool
	}
	if len(certPEM) > 0 || len(keyPEM) > 0 {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("cannot load the client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}

// newTransport is tuned for bulk blobs: HTTP/1.1 with one connection per
// stream (Go's HTTP/2 client multiplexes every blob on one connection
// behind a small flow-control window) and large socket buffers. Dial and
// handshake are bounded here; the rest of each request by stallGuard.
func newTransport(tlsConf *tls.Config, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy: proxy,
		DialContext: (&net.Dialer{
			Timeout:   dialTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2 * jobs,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   dialTimeout,
		ExpectContinueTimeout: time.Second,
		WriteBufferSize:       256 << 10,
		ReadBufferSize:        256 << 10,
	}
}
