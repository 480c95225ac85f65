package registryconf

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/canonical/docker-registry-charm/internal/config"
	"github.com/canonical/docker-registry-charm/internal/pki"
)

// dateLayout is how certificate dates appear in operator messages.
const dateLayout = "2006-01-02 15:04 UTC"

// CheckServing reports why m cannot serve TLS at time now, in operator
// terms, or nil. The certificate and key must parse and match, the
// certificate must be valid now, chain to the CA when one is given, and
// cover one of addrs when addrs is not empty. Errors never quote key material.
func CheckServing(m pki.Material, now time.Time, addrs []string) error {
	chain, err := pki.ParseCertificates(m.Cert)
	if err != nil {
		return fmt.Errorf("cannot parse certificate: %w", err)
	}
	key, err := pki.ParsePrivateKey(m.Key)
	if err != nil {
		return fmt.Errorf("cannot parse private key: %w", err)
	}
	leaf := chain[0]
	if !publicKeyMatches(key, leaf) {
		return errors.New("certificate and key do not match")
	}
	if err := checkValidity(leaf, now); err != nil {
		return err
	}
	if len(m.CA) > 0 {
		if err := checkChain(chain, m.CA, now); err != nil {
			return err
		}
	}
	if len(addrs) > 0 {
		return checkCoversOne(leaf, addrs)
	}
	return nil
}

// checkCoversOne accepts a certificate that covers at least one of the
// names clients may use (empty names are skipped).
func checkCoversOne(cert *x509.Certificate, addrs []string) error {
	var first error
	for _, a := range addrs {
		if a == "" {
			continue
		}
		err := checkCovers(cert, a)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func publicKeyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// ClockSkew is how far a certificate's NotBefore may lie in the unit's
// future: a provider whose clock runs a little ahead issues certificates
// that would otherwise be refused for minutes after every renewal.
const ClockSkew = 5 * time.Minute

func checkValidity(cert *x509.Certificate, now time.Time) error {
	if now.Add(ClockSkew).Before(cert.NotBefore) {
		return fmt.Errorf("certificate is not valid before %s", cert.NotBefore.UTC().Format(dateLayout))
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("certificate expired on %s", cert.NotAfter.UTC().Format(dateLayout))
	}
	return nil
}

// checkChain verifies the certificate (with any intermediates that follow
// it in the file) against the CA for TLS server use. A certificate without
// extended key usages, or with "any", is accepted, as by TLS clients.
func checkChain(chain []*x509.Certificate, caPEM []byte, now time.Time) error {
	cas, err := pki.ParseCertificates(caPEM)
	if err != nil {
		return fmt.Errorf("cannot parse CA certificate: %w", err)
	}
	// The leaf's own dates were checked with ClockSkew; the chain is
	// checked at a time within the leaf's validity, so a CA issued with
	// the same skewed clock is not refused for the same few minutes.
	at := now
	if leaf := chain[0]; at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	}
	opts := x509.VerifyOptions{
		Roots:         x509.NewCertPool(),
		Intermediates: x509.NewCertPool(),
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ca := range cas {
		opts.Roots.AddCert(ca)
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err = chain[0].Verify(opts)
	var invalid x509.CertificateInvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return errors.New("certificate is not valid for TLS server authentication")
	case errors.As(err, new(x509.UnknownAuthorityError)):
		return errors.New("certificate is not signed by the CA")
	}
	return fmt.Errorf("certificate does not chain to the CA: %w", err)
}

// checkCovers reports whether the certificate names addr (an IP or DNS
// name, optionally with a port) in its subject alternative names.
func checkCovers(cert *x509.Certificate, addr string) error {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if err := cert.VerifyHostname(host); err != nil {
		return fmt.Errorf("certificate does not cover %s", host)
	}
	return nil
}

// NormalizePEM returns only the PEM blocks of b, re-encoded, without the
// text tools such as easyrsa put before them; nil when b holds none. The
// charm writes this to disk so the files are clean and compare stably.
func NormalizePEM(b []byte) []byte {
	var out bytes.Buffer
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		_ = pem.Encode(&out, block) // writing to a bytes.Buffer cannot fail
	}
	if out.Len() == 0 {
		return nil
	}
	return out.Bytes()
}

// DecodeBlob decodes a tls-*-blob (or auth-token-root-certs) value: base64
// of PEM, line-wrapped or not, padded or not, as the reference accepted.
func DecodeBlob(b64 string) ([]byte, error) {
	s := strings.Join(strings.Fields(b64), "")
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			return nil, fmt.Errorf("cannot decode base64: %w", err)
		}
	}
	return b, nil
}

// TokenRootCertBundle returns the PEM bundle to write at
// RenderInput.TokenRootCertBundlePath: auth-token-root-certs decoded,
// certificates only.
func TokenRootCertBundle(c config.Config) ([]byte, error) {
	raw, err := DecodeBlob(c.AuthTokenRootCerts)
	if err != nil {
		return nil, fmt.Errorf("cannot read auth-token-root-certs: %w", err)
	}
	certs, err := pki.ParseCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot read auth-token-root-certs: %w", err)
	}
	var out bytes.Buffer
	for _, cert := range certs {
		_ = pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	return out.Bytes(), nil
}
