package registry

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/sirupsen/logrus"
)

// tlsState is what the listener uses for connections it accepts now.
type tlsState struct {
	// config is nil when TLS is off.
	config *tls.Config
	// epoch counts changes of TLS settings; a connection accepted under an
	// older epoch is closed after its current request.
	epoch uint64
	// sum fingerprints the files and settings behind config.
	sum [sha256.Size]byte
}

// tlsCert is the certificate handed out by GetCertificate.
type tlsCert struct{ cert *tls.Certificate }

// loadedTLS is a configuration's TLS read from its files and parsed into
// what handshakes use, not yet in use. It is not PEM text (that is
// pki.Material, which the hooks vet before writing the files).
type loadedTLS struct {
	config *tls.Config // nil when TLS is off
	cert   *tls.Certificate
	sum    [sha256.Size]byte
}

var tlsVersions = map[string]uint16{
	"":       tls.VersionTLS12,
	"tls1.2": tls.VersionTLS12,
	"tls1.3": tls.VersionTLS13,
}

var tlsClientAuth = map[configuration.ClientAuth]tls.ClientAuthType{
	"": tls.RequireAndVerifyClientCert, // upstream's default once CAs are given
	configuration.ClientAuthRequestClientCert:          tls.RequestClientCert,
	configuration.ClientAuthRequireAnyClientCert:       tls.RequireAnyClientCert,
	configuration.ClientAuthVerifyClientCertIfGiven:    tls.VerifyClientCertIfGiven,
	configuration.ClientAuthRequireAndVerifyClientCert: tls.RequireAndVerifyClientCert,
}

// loadTLS reads http.tls: certificate, key, client CAs and policy. The
// fingerprint covers the bytes read and the settings, so an unchanged
// reload keeps existing connections.
func loadTLS(cfg *configuration.Configuration) (*loadedTLS, error) {
	t := cfg.HTTP.TLS
	if t.Certificate == "" {
		return &loadedTLS{}, nil
	}
	h := sha256.New()
	certPEM, err := readHashed(h, t.Certificate)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readHashed(h, t.Key)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cannot load TLS certificate %s and key %s: %w", t.Certificate, t.Key, err)
	}
	conf, err := tlsPolicy(cfg)
	if err != nil {
		return nil, err
	}
	if conf.ClientCAs, err = clientCAs(h, t.ClientCAs); err != nil {
		return nil, err
	}
	if conf.ClientCAs != nil {
		conf.ClientAuth = tlsClientAuth[t.ClientAuth]
	}
	fmt.Fprintf(h, "%q %q %q %v", t.MinimumTLS, t.ClientAuth, t.CipherSuites, cfg.HTTP.HTTP2.Disabled)
	m := &loadedTLS{config: conf, cert: &cert}
	h.Sum(m.sum[:0])
	return m, nil
}

// tlsPolicy is the part of tls.Config that comes from settings, not files.
func tlsPolicy(cfg *configuration.Configuration) (*tls.Config, error) {
	t := cfg.HTTP.TLS
	minVersion, ok := tlsVersions[t.MinimumTLS]
	if !ok {
		return nil, fmt.Errorf("cannot use http.tls.minimumtls %q: want tls1.2 or tls1.3", t.MinimumTLS)
	}
	if _, ok := tlsClientAuth[t.ClientAuth]; !ok {
		return nil, fmt.Errorf("cannot use http.tls.clientauth %q", t.ClientAuth)
	}
	conf := &tls.Config{MinVersion: minVersion, NextProtos: []string{"h2", "http/1.1"}}
	if cfg.HTTP.HTTP2.Disabled {
		conf.NextProtos = []string{"http/1.1"}
	}
	// Cipher suites cannot be chosen for TLS 1.3; Go's defaults for 1.2
	// are already the AEAD/ECDHE ones.
	if len(t.CipherSuites) != 0 && minVersion == tls.VersionTLS12 {
		suites, err := cipherSuites(t.CipherSuites)
		if err != nil {
			return nil, err
		}
		conf.CipherSuites = suites
	}
	return conf, nil
}

func cipherSuites(names []string) ([]uint16, error) {
	byName := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		byName[cs.Name] = cs.ID
	}
	ids := make([]uint16, 0, len(names))
	for _, n := range names {
		id, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("cannot use TLS cipher suite %q: unknown or insecure", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func clientCAs(h io.Writer, paths []string) (*x509.CertPool, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, p := range paths {
		pem, err := readHashed(h, p)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cannot use client CA file %s: no PEM certificate in it", p)
		}
	}
	return pool, nil
}

func readHashed(h io.Writer, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read TLS file: %w", err)
	}
	h.Write([]byte(path))
	h.Write(b)
	return b, nil
}

// commitTLS installs m: the certificate first (GetCertificate serves it on
// the next handshake, even on connections accepted earlier), then the
// listener's state. The epoch moves only when something really changed.
func (s *Server) commitTLS(m *loadedTLS) {
	cur := s.tls.Load()
	next := &tlsState{config: m.config, epoch: cur.epoch, sum: m.sum}
	if next.sum != cur.sum || (next.config == nil) != (cur.config == nil) {
		next.epoch++
	}
	if m.config != nil {
		m.config.GetCertificate = s.getCertificate
	}
	s.cert.Store(&tlsCert{cert: m.cert})
	s.tls.Store(next)
	if next.epoch != cur.epoch && s.gen.Load() != nil {
		logrus.Infof("TLS settings changed (TLS %s): connections made before are closed after their current request",
			onOff(next.config != nil))
	}
}

var errNoCertificate = errors.New("TLS is switched off")

func (s *Server) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := s.cert.Load(); c != nil && c.cert != nil {
		return c.cert, nil
	}
	return nil, errNoCertificate
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
