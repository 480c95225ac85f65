package charm

import (
	"bytes"
	"fmt"
	"maps"

	"github.com/canonical/docker-registry-charm/internal/relation"
)

// planRelations computes what this unit publishes on every relation, and
// the address clients use.
func planRelations(o *Observed, d *Desired) {
	proxy, ignored := firstProxy(o)
	d.Ignored = append(d.Ignored, ignored...)
	d.Netloc = netloc(o, proxy, o.PrivateAddress)
	planCertRequests(o, d, proxy)
	planClients(o, d, proxy)
	planWebsite(o, d)
	planNRPE(o, d)
	planCOSAgent(o, d)
	d.Ready, d.Warning = readyMessage(o, d), containerdWarnings(o, d)
}

func readyMessage(o *Observed, d *Desired) string {
	suffix := ""
	if len(o.Websites) > 0 {
		suffix = ", proxied"
	}
	return fmt.Sprintf("Ready at %s (%s%s).", hostPort(o.PrivateAddress, o.Config.RegistryPort), d.Scheme, suffix)
}

// firstProxy is the address of the first load-balancer unit: with one in
// front, clients should use it.
func firstProxy(o *Observed) (string, []relation.Ignored) {
	var all []relation.Ignored
	for _, r := range o.Websites {
		addr, ignored := relation.WebsiteProxyAddress(r.Remote)
		all = append(all, ignored...)
		if addr != "" {
			return addr, all
		}
	}
	return "", all
}

func netloc(o *Observed, proxy, ingress string) string {
	n, err := relation.DockerRegistryNetloc(o.Config.HTTPHost, proxy, ingress, o.Config.RegistryPort)
	if err != nil {
		// http-host was validated; fall back to the unit's own address.
		return hostPort(ingress, o.Config.RegistryPort)
	}
	return n
}

func planCertRequests(o *Observed, d *Desired, proxy string) {
	req := certRequest(o, proxy)
	for _, r := range o.Certs {
		if ch := req.Changes(r.Local); len(ch) > 0 {
			d.UnitBags[r.ID] = ch
		}
	}
	planCSRBags(o, d)
}

func planClients(o *Observed, d *Desired, proxy string) {
	for _, r := range o.Clients {
		ingress := r.Local["ingress-address"]
		if ingress == "" {
			ingress = o.PrivateAddress
		}
		cc := clientConfig(o, d, netloc(o, proxy, ingress))
		bag, err := cc.Bag()
		if err != nil {
			continue
		}
		setDiff(d.UnitBags, r.ID, r.Local, bag)
	}
}

func clientConfig(o *Observed, d *Desired, nl string) relation.DockerRegistryClientConfig {
	cc := relation.DockerRegistryClientConfig{Netloc: nl, URL: relation.DockerRegistryURL(o.Config.HTTPHost, d.Scheme, nl)}
	if o.Config.BasicAuth() {
		user, pw := o.Config.AuthBasicUser, o.Config.AuthBasicPassword
		cc.BasicUser, cc.BasicPassword = &user, &pw
	}
	if d.TLS != nil {
		ca := string(d.TLS.Material.CA)
		if ca == "" {
			// Without a CA, the certificate itself is what clients trust.
			ca = string(d.TLS.Material.Cert)
		}
		cc.TLSCA = &ca
	}
	return cc
}

func planWebsite(o *Observed, d *Desired) {
	if len(o.Websites) == 0 {
		return
	}
	var want Bag
	if o.Leader {
		backends, ignored := relation.PeerAddresses(o.Unit, o.PrivateAddress, peerBags(o), o.Config.RegistryPort)
		d.Ignored = append(d.Ignored, ignored...)
		services, err := relation.WebsiteServices(o.App, backends, d.TLS != nil, o.Config.TLSCAPath, o.Config.SharedStorage())
		if err != nil {
			return
		}
		want = relation.WebsiteLeaderBag(o.PrivateAddress, o.Config.RegistryPort, services)
	} else {
		want = relation.WebsiteFollowerBag()
	}
	for _, r := range o.Websites {
		setDiff(d.UnitBags, r.ID, r.Local, want)
	}
}

func peerBags(o *Observed) map[string]Bag {
	if o.Peer == nil {
		return nil
	}
	return o.Peer.Remote
}

// NRPEPlan is the nagios check and export files while the
// nrpe-external-master relation exists.
type NRPEPlan struct {
	CheckPath, ExportPath string
	Check, Export         []byte
}

func planNRPE(o *Observed, d *Desired) {
	if len(o.NRPE) == 0 {
		return
	}
	r := o.NRPE[0]
	var remote Bag
	var remoteUnit string
	if units := relation.SortUnits(r.Units); len(units) > 0 {
		remoteUnit = units[0]
		remote = r.Remote[remoteUnit]
	}
	check := relation.NRPEHTTPCheck(d.Scheme, o.Config.RegistryPort)
	if d.TLS != nil && d.TLS.ClientCAs {
		// The nagios user has no client certificate to present: probe
		// that the port accepts connections instead.
		check = relation.NRPEMutualTLSCheck(o.Config.RegistryPort, "", "")
	}
	host, ctxName, ignored := relation.NRPERemoteContext(remoteUnit, remote)
	d.Ignored = append(d.Ignored, ignored...)
	exportPath, export := relation.NRPEExportFile(o.Unit, host, ctxName, "", check)
	d.NRPE = &NRPEPlan{
		CheckPath:  relation.NRPECheckPath(check),
		Check:      relation.NRPECheckFile(check),
		ExportPath: exportPath,
		Export:     export,
	}
	want := relation.NRPEBag(check)
	if !bytes.Equal(o.Host.NRPECheck, d.NRPE.Check) {
		// The nrpe charm re-reads check files when our relation data
		// changes: a new timestamp tells it to.
		maps.Copy(want, relation.NRPETouch(o.Now))
	}
	setDiff(d.UnitBags, r.ID, r.Local, want)
}

// setDiff records in out[id] the keys of want whose value differs from
// have; an empty wanted value deletes a key that is present.
func setDiff(out map[string]Bag, id string, have, want Bag) {
	for k, v := range want {
		if have[k] == v {
			continue
		}
		if out[id] == nil {
			out[id] = Bag{}
		}
		out[id][k] = v
	}
}
