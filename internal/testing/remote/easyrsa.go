// Package remote simulates the charms the registry relates to, each
// speaking its side of the protocol the way the real charm does: easyrsa
// (tls-certificates provider), a containerd worker (docker-registry
// requirer), haproxy (http requirer). They are test code and deliberately
// do not use internal/relation: a bug shared by our encoder and a decoder
// built from the same code would otherwise go unnoticed.
package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// EasyRSA is a certificate authority that answers tls-certificates
// requests as the easyrsa charm does: the leader publishes the CA and a
// global client certificate; the server certificate for a request goes
// under "<unit_name>.server.cert"/".key" with OpenSSL's text dump before
// the PEM block and the key as PKCS#8.
type EasyRSA struct {
	mu     sync.Mutex
	caCert *x509.Certificate
	caKey  *rsa.PrivateKey
	CAPEM  string
	// ClientCert and ClientKey are the global client pair (client.cert,
	// client.key), also what a worker presents to the registry.
	ClientCert, ClientKey string
	// Issued counts server certificates issued per common name; easyrsa
	// revokes and reissues when the SANs change.
	Issued map[string]int
	// Requests keeps the last raw request per requirer unit, so tests can
	// check it against easyrsa's expectations.
	Requests map[string]map[string]string
	serial   int64
	// issued holds each requester's answer: easyrsa's unit bag carries
	// every requester's pair side by side.
	issued map[string]string
}

// NewEasyRSA makes a fresh CA.
func NewEasyRSA() (*EasyRSA, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "easyrsa test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(der)
	e := &EasyRSA{caCert: ca, caKey: key, serial: 1, Issued: map[string]int{},
		Requests: map[string]map[string]string{}, issued: map[string]string{}}
	e.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	e.ClientCert, e.ClientKey, err = e.issue("client", nil, x509.ExtKeyUsageClientAuth)
	return e, err
}

// Request is a server-certificate request as easyrsa reads it.
type Request struct {
	UnitName   string
	CommonName string
	SANs       []string
}

// ParseRequest reads a requirer's unit bag as easyrsa does, and says what
// is wrong with it when easyrsa would mis-handle it: a JSON-quoted
// common_name ends up with quotes in the CN; sans that is not a JSON list
// would be iterated character by character.
func ParseRequest(remoteUnit string, bag map[string]string) (Request, bool, error) {
	cn := bag["common_name"]
	if cn == "" {
		return Request{}, false, nil
	}
	if strings.HasPrefix(cn, `"`) {
		return Request{}, false, fmt.Errorf("common_name %q is JSON-quoted; easyrsa wants it raw", cn)
	}
	var sans []string
	if raw := bag["sans"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &sans); err != nil {
			return Request{}, false, fmt.Errorf("sans %q is not a JSON list of strings", raw)
		}
	}
	unit := bag["unit_name"]
	if unit == "" {
		unit = remoteUnit
	}
	return Request{UnitName: strings.ReplaceAll(unit, "/", "_"), CommonName: cn, SANs: sans}, true, nil
}

// Answer is easyrsa's unit bag after handling requests: ca, the global
// client pair (leader), and a server pair per requester it has answered so
// far, these included.
func (e *EasyRSA) Answer(requests map[string]map[string]string) (map[string]string, error) {
	for unit, bag := range requests {
		req, ok, err := ParseRequest(unit, bag)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		e.mu.Lock()
		e.Requests[unit] = bag
		e.mu.Unlock()
		cert, key, err := e.issue(req.CommonName, req.SANs, x509.ExtKeyUsageServerAuth)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		e.issued[req.UnitName+".server.cert"] = cert
		e.issued[req.UnitName+".server.key"] = key
		e.mu.Unlock()
	}
	out := map[string]string{"ca": e.CAPEM, "client.cert": e.ClientCert, "client.key": e.ClientKey}
	e.mu.Lock()
	for k, v := range e.issued {
		out[k] = v
	}
	e.mu.Unlock()
	return out, nil
}

// Attach makes this CA answer, as providerUnit (e.g. "easyrsa/0"), every
// request our units commit on the cert-provider relation. A request
// easyrsa would mishandle fails the hook sequence with the reason.
func (e *EasyRSA) Attach(m *sim.Model, providerUnit string) {
	m.OnRelationChanged(func(ctx context.Context, ch sim.RelationChange) error {
		if ch.Endpoint != "cert-provider" || ch.App {
			return nil
		}
		answer, err := e.Answer(map[string]map[string]string{ch.Unit: ch.Data})
		if err != nil {
			return fmt.Errorf("easyrsa cannot use the request of %s: %w", ch.Unit, err)
		}
		return m.SetRemoteData(ctx, ch.RelationID, providerUnit, answer)
	})
}

// issue signs a server certificate for a request and counts it.
func (e *EasyRSA) issue(cn string, sans []string, usage x509.ExtKeyUsage) (string, string, error) {
	e.mu.Lock()
	e.Issued[cn]++
	e.mu.Unlock()
	return e.sign(cn, sans, usage)
}

// sign makes a certificate as easyrsa writes one: OpenSSL's text dump
// before the PEM block, and a PKCS#8 key.
func (e *EasyRSA) sign(cn string, sans []string, usages ...x509.ExtKeyUsage) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	e.mu.Lock()
	e.serial++
	serial := e.serial
	e.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usages,
	}
	for _, s := range append([]string{cn}, sans...) {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if s != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, e.caCert, &key.PublicKey, e.caKey)
	if err != nil {
		return "", "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	text := fmt.Sprintf("Certificate:\n    Data:\n        Version: 3 (0x2)\n        Serial Number: %d (0x%x)\n"+
		"        Signature Algorithm: sha256WithRSAEncryption\n        Issuer: CN=easyrsa test CA\n"+
		"        Subject: CN=%s\n", serial, serial, cn)
	cert := text + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return cert, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), nil
}
