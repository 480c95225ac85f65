package charm

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/pki"
	"github.com/canonical/docker-registry-charm/internal/relation"
)

// cert-provider in the CSR flavour (tls_certificates_interface v4). The
// unit publishes, beside the reactive request, a CSR for the same names
// signed by its own key (certkey.go); a v4 provider answers in its
// application bag. Whichever flavour answers is served; a v4 answer is
// looked at first because its key never travelled.

// certRequest is what the unit asks any provider for: its address as CN,
// and as SANs every name clients may use (addresses, hostname, http-host's
// host, a proxy in front).
func certRequest(o *Observed, proxy string) relation.TLSCertsRequest {
	sans := []string{o.PrivateAddress, o.PublicAddress, o.Hostname, httpHostName(o.Config.HTTPHost), proxy}
	return relation.NewTLSCertsRequest(o.Unit, o.PrivateAddress, sans)
}

// planCSR is this hook's CSR, decided once per hook: the one already
// published while it still asks for these names with this key and its
// certificate is not due for renewal, else a new one (a new unique
// identifier, the same key). "" when no cert-provider relation exists or
// the key is missing.
func planCSR(o *Observed, d *Desired) string {
	if d.CSR != "" || len(o.Certs) == 0 || o.CertKey == nil {
		return d.CSR
	}
	proxy, _ := firstProxy(o) // what it ignores, planRelations logs
	req := certRequest(o, proxy)
	pub := o.CertKey.Signer.Public()
	for _, r := range o.Certs {
		for _, csr := range relation.TLSCertsV4PublishedCSRs(r.Local) {
			if relation.TLSCertsV4CSRAsks(csr, req, pub) && !dueForRenewal(v4Answer(o, csr), o.Now) {
				d.CSR = csr
				return csr
			}
		}
	}
	csr, err := relation.NewTLSCertsV4CSR(req, o.CertKey.Signer, nil)
	if err != nil {
		// Only a broken random source gets here; the reactive
		// request still goes out.
		return ""
	}
	d.CSR = csr
	return csr
}

// planCSRBags publishes the CSR on every cert-provider relation as our
// only v4 request: a CSR for old names disappears from the bag, and the
// provider then drops its certificate, as the library's cleanup makes it.
func planCSRBags(o *Observed, d *Desired) {
	csr := planCSR(o, d)
	if csr == "" {
		return
	}
	want := relation.TLSCertsV4Bag(csr)
	for _, r := range o.Certs {
		setDiff(d.UnitBags, r.ID, r.Local, want)
	}
}

// planTLSFromCSR serves a v4 provider's answer to our CSR. answered is
// false when no provider answered in this flavour (the reactive one may
// have). A revoked certificate is never installed: before TLS served, the
// registry stays on http and waits; after, the last good configuration
// keeps serving and status says so until the provider issues a new one.
// Anything else unusable fails closed the same way main's reactive path
// does, through blocked.
func planTLSFromCSR(o *Observed, d *Desired, now time.Time, served bool,
	blocked func(string) (*juju.Status, bool)) (hold *juju.Status, keep, answered bool) {
	csr := planCSR(o, d)
	if csr == "" {
		return nil, false, false
	}
	a := v4Answer(o, csr)
	switch a.State {
	case relation.TLSCertsV4None:
		return nil, false, false
	case relation.TLSCertsV4Revoked:
		msg := fmt.Sprintf("Certificate from %s was revoked; waiting for the provider to issue a new one", epCerts)
		if !served {
			return &juju.Status{Name: juju.StatusWaiting, Message: msg + "; serving http"}, false, true
		}
		hold, keep = blocked(msg)
		return hold, keep, true
	case relation.TLSCertsV4Invalid:
		hold, keep = blocked(fmt.Sprintf("Certificate from %s is unusable (%s): renew it on the provider", epCerts, a.Reason))
		return hold, keep, true
	}
	m := pki.Material{Cert: []byte(a.Cert), Key: o.CertKey.PEM, CA: []byte(a.CA)}
	if err := useTLS(d, o.Config, tlsFromRelation, m, now, []string{o.PrivateAddress}); err != nil {
		hold, keep = blocked(fmt.Sprintf("Certificate from %s is unusable (%v): renew it on the provider", epCerts, err))
		return hold, keep, true
	}
	if clientCapable(m.Cert) {
		// The unit's own certificate is its client identity for the
		// push action when the registry requires client certificates.
		d.ClientPair = &pki.Material{Cert: d.TLS.Material.Cert, Key: d.TLS.Material.Key}
	}
	return nil, false, true
}

// renewalPoint is how far into its validity a certificate is renewed: the
// library's default renewal_relative_time. Its requirer then removes the
// CSR and sends a new one for the same key; the provider drops the old
// certificate and answers the new CSR, and the old one serves until then.
const renewalPoint = 0.9

func dueForRenewal(a relation.TLSCertsV4Answer, now time.Time) bool {
	if a.State != relation.TLSCertsV4Issued {
		return false
	}
	certs, err := pki.ParseCertificates([]byte(a.Cert))
	if err != nil {
		return false
	}
	leaf := certs[0]
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return now.After(leaf.NotBefore.Add(time.Duration(float64(life) * renewalPoint)))
}

// v4Answer is the first answer to csr among the cert-provider relations.
func v4Answer(o *Observed, csr string) relation.TLSCertsV4Answer {
	best := relation.TLSCertsV4Answer{}
	for _, r := range o.Certs {
		a := relation.FindTLSCertsV4Answer(r.RemoteApp, csr, o.CertKey.Signer.Public())
		if a.State == relation.TLSCertsV4Issued {
			return a
		}
		if a.State != relation.TLSCertsV4None && best.State == relation.TLSCertsV4None {
			best = a
		}
	}
	return best
}

// clientCapable says whether a TLS server verifying client certificates
// accepts this leaf: no extended key usage, any, or clientAuth.
func clientCapable(certPEM []byte) bool {
	certs, err := pki.ParseCertificates(certPEM)
	if err != nil {
		return false
	}
	eku := certs[0].ExtKeyUsage
	return len(eku) == 0 && len(certs[0].UnknownExtKeyUsage) == 0 ||
		slices.Contains(eku, x509.ExtKeyUsageAny) || slices.Contains(eku, x509.ExtKeyUsageClientAuth)
}
