package charm

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// relateEasyRSA relates cert-provider to a simulated easyrsa that answers
// every request our units publish.
func relateEasyRSA(h *harness) (*remote.EasyRSA, int) {
	h.t.Helper()
	ca, err := remote.NewEasyRSA()
	h.must(err)
	ca.Attach(h.model, "easyrsa/0")
	relID, err := h.model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	h.must(err)
	return ca, relID
}

func TestCertProviderServesHTTPSAndUpdatesClients(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "pw-one"}))
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	view := func() remote.RegistryView {
		v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
		h.must(err)
		return v
	}
	if v := view(); v.HasTLS || !v.HasAuth || v.Netloc != "127.0.10.1:5000" || v.URL != "http://127.0.10.1:5000" {
		t.Fatalf("before TLS: %v", v)
	}

	ca, certs := relateEasyRSA(h)

	req := ca.Requests[unit0]
	if req["common_name"] != "127.0.10.1" || req["unit_name"] != "docker-registry_0" {
		t.Errorf("certificate request = %v", req)
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	cfg, err := configuration.Parse(strings.NewReader(h.file(unit0, "/etc/docker/registry/config.yml")))
	h.must(err)
	if cfg.HTTP.TLS.Certificate != "/etc/docker/registry/registry.crt" || len(cfg.HTTP.TLS.ClientCAs) != 1 {
		t.Errorf("tls config = %+v", cfg.HTTP.TLS)
	}
	served := h.file(unit0, "/etc/docker/registry/registry.crt")
	if strings.HasPrefix(served, "Certificate:") {
		t.Error("easyrsa's text dump was written into the certificate file")
	}
	checkChains(t, served, ca.CAPEM)
	v := view()
	if !v.HasTLS || v.CA != strings.TrimSpace(ca.CAPEM)+"\n" && v.CA != ca.CAPEM || v.URL != "https://127.0.10.1:5000" {
		t.Errorf("clients not told about TLS: %v", v)
	}

	h.must(h.model.Unrelate(ctx, certs))

	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")
	if h.exists(unit0, "/etc/docker/registry/registry.crt") || h.exists(unit0, "/etc/docker/registry/registry.key") {
		t.Error("TLS files left behind after the relation went")
	}
	if v := view(); v.HasTLS || v.URL != "http://127.0.10.1:5000" {
		t.Errorf("clients still told about TLS: %v", v)
	}
}

func checkChains(t *testing.T, certPEM, caPEM string) {
	t.Helper()
	block, _ := pem.Decode([]byte(certPEM))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caPEM))
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("served certificate does not chain to the CA: %v", err)
	}
}

func TestCertRequestFollowsSANChanges(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	ca, _ := relateEasyRSA(h)
	first := ca.Issued["127.0.10.1"]
	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "https://registry.example.internal/"}))
	if ca.Issued["127.0.10.1"] == first {
		t.Fatal("no new certificate requested when http-host added a SAN")
	}
	if !strings.Contains(ca.Requests[unit0]["sans"], `"registry.example.internal"`) {
		t.Errorf("sans = %s", ca.Requests[unit0]["sans"])
	}
	// Unrelated config changes do not re-request.
	n := ca.Issued["127.0.10.1"]
	h.must(h.model.SetConfig(ctx, map[string]any{"log-level": "debug"}))
	if ca.Issued["127.0.10.1"] != n {
		t.Error("a config change that kept the SANs re-requested a certificate")
	}
}

func TestPartialProviderDataWaits(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rel, err := h.model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	h.must(err)
	ca, err := remote.NewEasyRSA()
	h.must(err)
	// Only the CA so far, no server certificate.
	h.must(h.model.SetRemoteData(ctx, rel, "easyrsa/0", map[string]string{"ca": ca.CAPEM}))
	h.wantStatus(unit0, "waiting", "Waiting for a server certificate from cert-provider; serving http")
	if h.exists(unit0, "/etc/docker/registry/registry.crt") {
		t.Error("TLS files written from partial provider data")
	}
}

func TestConfigBlobsWinOverRelation(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	ours, err := remote.NewEasyRSA()
	h.must(err)
	answer, err := ours.Answer(map[string]map[string]string{unit0: {"common_name": "127.0.10.1", "sans": `["127.0.10.1"]`}})
	h.must(err)
	h.must(h.model.SetConfig(ctx, map[string]any{
		"tls-cert-blob": b64(answer["docker-registry_0.server.cert"]),
		"tls-key-blob":  b64(answer["docker-registry_0.server.key"]),
		"tls-ca-blob":   b64(ours.CAPEM),
	}))
	relateEasyRSA(h)
	checkChains(t, h.file(unit0, "/etc/docker/registry/registry.crt"), ours.CAPEM)
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
}

func TestWebsiteLeaderPublishesStanzaFollowerClears(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	rel, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	h.must(err)
	leader := h.model.RelationData(rel, unit0)
	var services []map[string]any
	h.must(yaml.Unmarshal([]byte(leader["services"]), &services))
	if len(services) != 1 || leader["port"] != "5000" || leader["hostname"] != "127.0.10.1" {
		t.Fatalf("leader bag = %v", leader)
	}
	servers, _ := services[0]["servers"].([]any)
	if len(servers) != 2 {
		t.Fatalf("servers = %v", servers)
	}
	second := servers[1].([]any)
	if !strings.Contains(second[3].(string), "backup") {
		t.Errorf("second unit is not a backup: %v", second)
	}
	if f := h.model.RelationData(rel, "docker-registry/1"); f["services"] != "" {
		t.Errorf("follower publishes a stanza: %v", f)
	}
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http, proxied).")
	// Clients are sent to the proxy.
	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	v, err := remote.ReadRegistry(h.model.RelationData(clients, unit0))
	h.must(err)
	if !strings.HasPrefix(v.Netloc, "127.0.20.") {
		t.Errorf("netloc %q is not the proxy's address", v.Netloc)
	}
}

func TestNRPEFilesFollowTheRelation(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	rel, err := h.model.Relate(ctx, "nrpe-external-master", "nrpe", sim.RemoteUnit{Name: "nrpe/0"})
	h.must(err)
	check := h.file(unit0, "/etc/nagios/nrpe.d/check_check_http.cfg")
	if !strings.Contains(check, "-p 5000") || strings.Contains(check, " -S") {
		t.Errorf("check = %q", check)
	}
	if h.model.RelationData(rel, unit0)["monitors"] == "" {
		t.Error("no monitors published")
	}
	h.must(h.model.Unrelate(ctx, rel))
	if h.exists(unit0, "/etc/nagios/nrpe.d/check_check_http.cfg") {
		t.Error("check file left behind")
	}
}

func TestSharedObjectStorageMakesEveryUnitActive(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 2))
	h.must(h.model.SetConfig(ctx, map[string]any{
		"storage-s3-region": "us-east-1", "storage-s3-bucket": "registry",
		"storage-s3-accesskey": "AKIDEXAMPLE", "storage-s3-secretkey": "s3-secret-value",
	}))
	rel, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	h.must(err)
	var services []map[string]any
	h.must(yaml.Unmarshal([]byte(h.model.RelationData(rel, unit0)["services"]), &services))
	opts := fmt.Sprint(services[0]["service_options"])
	if !strings.Contains(opts, "balance leastconn") {
		t.Errorf("service options = %s", opts)
	}
	servers, _ := services[0]["servers"].([]any)
	if len(servers) != 2 {
		t.Fatalf("servers = %v", servers)
	}
	for _, s := range servers {
		if strings.Contains(fmt.Sprint(s), "backup") {
			t.Errorf("with shared S3 storage no unit is a backup: %v", s)
		}
	}
	cfg := h.file(unit0, "/etc/docker/registry/config.yml")
	if !strings.Contains(cfg, "s3:") || strings.Contains(cfg, "filesystem:") {
		t.Error("the registry does not store its data in S3")
	}
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "s3-secret-value") {
			t.Fatal("the S3 secret key reached the debug log")
		}
	}
}
