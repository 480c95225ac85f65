package sim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// EasyRSA simulates the easyrsa charm on the provider side of a
// tls-certificates relation (juju-contract §5): when one of our units
// publishes common_name and sans, it answers on its unit bag with the CA,
// that unit's server certificate and key, and the global client pair.
// Certificates are real, signed by a CA made for the test.
type EasyRSA struct {
	app    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	client [2][]byte // cert, key

	mu     sync.Mutex
	issued map[string]string // "<rel>/<unit_name>" → request fingerprint
}

// NewEasyRSA makes a CA for the simulated application app ("easyrsa").
func NewEasyRSA(app string) (*EasyRSA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cannot make easyrsa CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Juju test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("cannot make easyrsa CA: %w", err)
	}
	ca, _ := x509.ParseCertificate(der)
	e := &EasyRSA{app: app, ca: ca, caKey: key, issued: map[string]string{},
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	cert, ckey, err := e.issue("client", nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	e.client = [2][]byte{cert, ckey}
	return e, nil
}

// CA is the CA certificate (PEM) that every issued certificate chains to.
func (e *EasyRSA) CA() []byte { return slices.Clone(e.caPEM) }

// ClientCert is the global client certificate and key (PEM) easyrsa
// publishes as client.cert and client.key.
func (e *EasyRSA) ClientCert() (cert, key []byte) {
	return slices.Clone(e.client[0]), slices.Clone(e.client[1])
}

// Attach makes the simulation answer our units' requests in m.
func (e *EasyRSA) Attach(m *Model) {
	m.OnRelationChanged(func(ctx context.Context, ch RelationChange) error {
		if ch.Peer || ch.App || ch.RemoteApp != e.app {
			return nil
		}
		return e.answer(ctx, m, ch)
	})
}

func (e *EasyRSA) answer(ctx context.Context, m *Model, ch RelationChange) error {
	cn := ch.Data["common_name"]
	if cn == "" {
		return nil
	}
	var sans []string
	if s := ch.Data["sans"]; s != "" {
		if err := json.Unmarshal([]byte(s), &sans); err != nil {
			return fmt.Errorf("easyrsa: sans must be a JSON list: %w", err)
		}
	}
	name := ch.Data["unit_name"]
	if name == "" {
		name = ch.Unit
	}
	name = strings.ReplaceAll(name, "/", "_")
	if !e.changed(ch.Key+"/"+name, cn, sans) {
		return nil
	}
	cert, key, err := e.issue(cn, sans, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return err
	}
	info, _ := m.Relation(ch.RelationID)
	if len(info.RemoteUnits) == 0 {
		return fmt.Errorf("easyrsa: %s has no %s unit to answer from", ch.Key, e.app)
	}
	return m.SetRemoteData(ctx, ch.RelationID, info.RemoteUnits[0], map[string]string{
		"ca":                  string(e.caPEM),
		"client.cert":         string(e.client[0]),
		"client.key":          string(e.client[1]),
		name + ".server.cert": string(cert),
		name + ".server.key":  string(key),
	})
}

// changed records the request and says whether it differs from the last
// one answered, as easyrsa's data_changed does.
func (e *EasyRSA) changed(who, cn string, sans []string) bool {
	sorted := slices.Sorted(slices.Values(sans))
	fp := cn + "|" + strings.Join(sorted, ",")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.issued[who] == fp {
		return false
	}
	e.issued[who] = fp
	return true
}

// issue signs a certificate for cn and sans (IPs and DNS names); the key
// is PKCS#8 and the certificate has easyrsa's text preamble before the PEM.
func (e *EasyRSA) issue(cn string, sans []string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot make key for %q: %w", cn, err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	for _, s := range append([]string{cn}, sans...) {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, e.ca, &key.PublicKey, e.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot sign certificate for %q: %w", cn, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot encode key for %q: %w", cn, err)
	}
	preamble := fmt.Sprintf("Certificate:\n    Data:\n        Version: 3 (0x2)\n        Serial Number: %d\n"+
		"        Subject: CN=%s\n", serial, cn)
	certPEM = append([]byte(preamble), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}
