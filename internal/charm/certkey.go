package charm

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/pki"
)

// CertKey is the unit's own private key for the CSR flavour of
// cert-provider (tls_certificates_interface v4). Unlike the reactive
// flavour, where easyrsa generates the key and sends it over the
// relation, this key is made on the unit and never leaves it: only CSRs
// signed by it are published.
//
// When it is made again: only when the file is missing, unreadable as a
// key, or not RSA of at least 2048 bits (the library's PrivateKey.is_valid).
// New SANs and renewals keep it and only publish a new CSR, as the
// library does (its key lives in a Juju secret until the charm asks
// regenerate_private_key). Removing the relation keeps it too, like the
// library's secret: a provider related again gets a CSR for the same key.
type CertKey struct {
	PEM    []byte
	Signer crypto.Signer
}

// TLSv4Key is where the key lives: root-only, beside the charm's state.
func (p Paths) TLSv4Key() string { return p.join("/var/lib/docker-registry-charm/tls-v4.key") }

// newCertKey makes a key as the library does (RSA 2048, e 65537); tests
// that make many units replace it with a cached key.
var newCertKey = func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// observeCertKey reads the unit's key, making it first when there is no
// usable one. This is the one write observe does: a CSR must never be
// published for a key that is not on disk yet, and a CSR is planned from
// what observe returns.
func (c *Charm) observeCertKey() (*CertKey, error) {
	path := c.Paths.TLSv4Key()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot read the unit's TLS key: %w", err)
	}
	signer := usableCertKey(data)
	if signer == nil {
		key, err := newCertKey()
		if err != nil {
			return nil, fmt.Errorf("cannot generate the unit's TLS key: %w", err)
		}
		signer = key
		data = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	}
	if err := files.EnsureDir(c.Paths.StateDir(), 0o700, 0, 0); err != nil {
		return nil, err
	}
	// Also puts back the mode and owner if someone loosened them.
	if _, err := files.Write(files.File{Path: path, Content: data, Mode: 0o600}); err != nil {
		return nil, err
	}
	return &CertKey{PEM: data, Signer: signer}, nil
}

func usableCertKey(data []byte) crypto.Signer {
	if len(data) == 0 {
		return nil
	}
	key, err := pki.ParsePrivateKey(data)
	if err != nil {
		return nil
	}
	if rk, ok := key.(*rsa.PrivateKey); !ok || rk.N.BitLen() < 2048 || rk.Validate() != nil {
		return nil
	}
	return key
}

// readRemoteApp reads the remote application's bag of a relation, where
// a v4 provider's leader publishes certificates. The application is named
// by its units, or asked for when none has joined yet.
func (c *Charm) readRemoteApp(ctx context.Context, r *Relation) error {
	app := ""
	if len(r.Units) > 0 {
		app = appOfUnit(r.Units[0])
	} else {
		var err error
		if app, err = c.Juju.RelationListApp(ctx, r.ID); err != nil || app == "" {
			return err
		}
	}
	bag, err := c.Juju.RelationGet(ctx, r.ID, app, true)
	r.RemoteApp = bag
	return err
}

func appOfUnit(unit string) string {
	for i := len(unit) - 1; i >= 0; i-- {
		if unit[i] == '/' {
			return unit[:i]
		}
	}
	return unit
}
