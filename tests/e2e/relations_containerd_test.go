package e2e

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// containerdNeedsTLS ends the ready message while containerd workers are
// related to a registry that serves plain http.
const containerdNeedsTLS = " containerd workers need TLS: relate cert-provider or set tls-cert-blob and tls-key-blob."

// readyWarning says whether st is active, starts with ready and ends with
// the warning to containerd workers (the data filesystem's use comes
// between).
func readyWarning(st sim.Status, ready string) bool {
	return st.Name == "active" && strings.HasPrefix(st.Message, ready) && strings.HasSuffix(st.Message, containerdNeedsTLS)
}

// A Kubernetes worker's containerd, configured as the containerd charm
// does from nothing but the docker-registry relation (the CRI plugin's
// registry section of config.toml, tls_ca in the trust store, the
// worker's own easyrsa certificate as client certificate; see
// internal/testing/remote/containerd.go), pulls through CRI as the kubelet does:
// over verified TLS with its client certificate, after a password change,
// after easyrsa rotates every certificate, and through haproxy. When
// cert-provider goes, the registry serves http, other clients still pull,
// containerd cannot (it speaks https to a scheme-less endpoint), and
// status tells the operator.
func TestRelationsContainerdCRI(t *testing.T) {
	t.Parallel()
	crictl := relTool(t, "crictl")
	e := deploy.New(t)
	ctx := context.Background()
	serviceLog := func() string { return e.Machine(unit0).ServiceLog("docker-registry.service") }
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, serviceLog())
	}
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": relSecret(t)}); err != nil {
		t.Fatal(err)
	}
	direct := net.JoinHostPort(e.Machine(unit0).Addr().String(), "5000")
	worker := relContainerd(ctx, t, e, "containerd-0")
	workerLog := func() string { return worker.proc.Output() }
	rel, err := e.Model.Relate(ctx, "docker-registry", "containerd",
		sim.RemoteUnit{Name: "containerd/0", Address: worker.m.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	ca, certRel := relEasyRSA(ctx, t, e)
	if err := worker.ownCertificate(ca); err != nil {
		t.Fatal(err)
	}
	client := relKeyPair(t, ca.ClientCert, ca.ClientKey)
	issued, err := relParseCert(e.Model.RelationData(certRel, "easyrsa/0")["docker-registry_0.server.cert"])
	if err != nil {
		t.Fatal(err)
	}
	if err := relWaitServed(ctx, e, direct, ca.CAPEM, client, issued); err != nil {
		t.Fatalf("registry does not serve easyrsa's certificate: %v\n%s", err, serviceLog())
	}
	view := relRegistryView(t, e, rel, unit0)
	if !view.HasTLS || !view.HasAuth || view.Netloc != direct {
		t.Fatalf("workers are told netloc %q, tls %v, auth %v", view.Netloc, view.HasTLS, view.HasAuth)
	}
	img, digest := relTestImage(t)
	admin := deploy.Client{Env: e, CAPEM: []byte(ca.CAPEM), User: view.User, Password: view.Password, ClientCert: client}
	if err := relPush(admin, view.Netloc, "cdk/pause:3.9", img); err != nil {
		t.Fatalf("push over https: %v\n%s", err, serviceLog())
	}

	// 1. Verified TLS, client certificate, credentials from config.toml.
	// Without its certificate the worker is refused: the registry asks
	// for one, and containerd presents the worker's own.
	noCert := remote.ContainerdRegistryFor(view)
	noCert.Cert, noCert.Key = "", ""
	if err := worker.configureAs(ctx, view, &noCert); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err == nil || !strings.Contains(err.Error(), "tls: certificate required") {
		t.Errorf("a worker without a client certificate: %v", err)
	}
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	cfg, err := worker.m.ReadFile(worker.cfg)
	if err != nil || !strings.Contains(string(cfg), `endpoint = ["`+view.Netloc+`"]`) {
		t.Errorf("config.toml does not name the scheme-less netloc %s as endpoint:\n%s", view.Netloc, cfg)
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err != nil {
		t.Fatalf("containerd over TLS: %v\n%s\n%s", err, workerLog(), serviceLog())
	}

	// 2. A new password: the worker's config.toml is stale until the
	// relation tells it.
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": relSecret(t)}); err != nil {
		t.Fatal(err)
	}
	old := view
	view = relRegistryView(t, e, rel, unit0)
	if view.Password == old.Password || !view.HasAuth {
		t.Fatal("the relation does not carry the new password")
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("pull with the old password: %v", err)
	}
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err != nil {
		t.Fatalf("containerd after a password change: %v\n%s", err, workerLog())
	}

	// 3. easyrsa restores another PKI: new CA, every certificate issued
	// again. The registry serves its new certificate and sends the new CA;
	// the worker trusts only the old one until it follows.
	bag, err := ca.Restore()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Model.SetRemoteData(ctx, certRel, "easyrsa/0", bag); err != nil {
		t.Fatal(err)
	}
	if issued, err = relParseCert(bag["docker-registry_0.server.cert"]); err != nil {
		t.Fatal(err)
	}
	client = relKeyPair(t, ca.ClientCert, ca.ClientKey)
	if err := relWaitServed(ctx, e, direct, ca.CAPEM, client, issued); err != nil {
		t.Fatalf("registry does not serve the restored CA's certificate: %v\n%s", err, serviceLog())
	}
	view = relRegistryView(t, e, rel, unit0)
	if strings.TrimSpace(view.CA) != strings.TrimSpace(ca.CAPEM) {
		t.Fatal("the relation does not carry the new CA")
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("pull trusting only the old CA: %v", err)
	}
	if err := worker.ownCertificate(ca); err != nil {
		t.Fatal(err)
	}
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err != nil {
		t.Fatalf("containerd after the rotation: %v\n%s", err, workerLog())
	}

	// 4. haproxy in front (TLS passes through to the registry): the
	// worker is sent to the proxy and its pulls cross it.
	px := relHaproxy(t, e, "haproxy-0")
	pxAddr := px.m.Addr().String()
	proxied := net.JoinHostPort(pxAddr, "5000")
	web, err := e.Model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: pxAddr})
	if err != nil {
		t.Fatal(err)
	}
	view = relRegistryView(t, e, rel, unit0)
	if view.Netloc != proxied {
		t.Fatalf("workers are sent to %q, want the proxy %s", view.Netloc, proxied)
	}
	if issued, err = relParseCert(e.Model.RelationData(certRel, "easyrsa/0")["docker-registry_0.server.cert"]); err != nil {
		t.Fatal(err)
	}
	if err := relWaitServed(ctx, e, direct, ca.CAPEM, client, issued); err != nil {
		t.Fatalf("registry does not serve the certificate naming the proxy: %v\n%s", err, serviceLog())
	}
	stanza, err := remote.HaproxyConfig(map[string]map[string]string{unit0: e.Model.RelationData(web, unit0)})
	if err != nil {
		t.Fatal(err)
	}
	checkCert, checkKey, err := ca.IssueWorker("haproxy-0", pxAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := px.start(ctx, stanza, relHaproxyFiles(stanza, ca.CAPEM, checkCert+checkKey)); err != nil {
		t.Fatal(err)
	}
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, stanza, px.log())
	}
	before := relSessions(t, px)
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest); err != nil {
		t.Fatalf("containerd through haproxy: %v\n%s\nhaproxy:\n%s", err, workerLog(), px.log())
	}
	if after := relSessions(t, px); after <= before {
		t.Errorf("haproxy's server saw %d sessions before the pull and %d after: the pull did not cross it", before, after)
	}

	// 5. cert-provider goes: plain http. Other clients pull; containerd
	// speaks https to the scheme-less endpoint and fails; status says why.
	if err := e.Model.Unrelate(ctx, certRel); err != nil {
		t.Fatal(err)
	}
	if st := e.Model.Unit(unit0).Status(); !readyWarning(st, "Ready at "+direct+" (http, proxied).") {
		t.Errorf("status over http with containerd related = %s %q", st.Name, st.Message)
	}
	if err := relWaitHTTP(ctx, e, direct, 401); err != nil {
		t.Fatalf("registry does not serve http: %v\n%s", err, serviceLog())
	}
	view = relRegistryView(t, e, rel, unit0)
	if view.HasTLS || view.Netloc != proxied {
		t.Fatalf("over http workers are told netloc %q, tls %v", view.Netloc, view.HasTLS)
	}
	if stanza, err = remote.HaproxyConfig(map[string]map[string]string{unit0: e.Model.RelationData(web, unit0)}); err != nil {
		t.Fatal(err)
	}
	if err := px.start(ctx, stanza, relHaproxyFiles(stanza, "", "")); err != nil {
		t.Fatal(err)
	}
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, stanza, px.log())
	}
	plain := deploy.Client{Env: e, User: view.User, Password: view.Password}
	if got, err := relPullDigest(plain, proxied, "cdk/pause:3.9"); err != nil || got != digest {
		t.Fatalf("an http client through haproxy: %v (digest %s)", err, got)
	}
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := worker.m.ReadFile(worker.cfg); strings.Contains(string(cfg), ".tls]") {
		t.Errorf("config.toml keeps a tls section without tls_ca:\n%s", cfg)
	}
	err = worker.pull(ctx, crictl, view.Netloc, "cdk/pause:3.9", digest)
	if err == nil || !strings.Contains(err.Error(), "https://"+proxied+"/v2/") || !strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		t.Errorf("containerd pulling from a plain-http registry: %v, want https://%s refused", err, proxied)
	}
}

// relSessions is the number of sessions haproxy's docker-registry-0
// server has handled.
func relSessions(t testing.TB, px *haproxyProxy) int {
	t.Helper()
	st, err := px.stat("docker-registry", "stot")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(st["docker-registry-0"])
	if err != nil {
		t.Fatalf("haproxy's session count %q: %v", st["docker-registry-0"], err)
	}
	return n
}

// A registry whose certificate is not from the workers' easyrsa (an
// operator's own CA in tls-*-blob): containerd verifies it only through
// the system trust store, where the containerd charm installs tls_ca
// (its ca_file is the worker's own easyrsa CA). And since the charm
// always presents the worker's easyrsa certificate, a registry that
// checks client certificates against its own CA refuses it even in
// verify-if-given: such a registry must use tls-client-auth=none.
func TestRelationsContainerdOperatorCA(t *testing.T) {
	t.Parallel()
	crictl := relTool(t, "crictl")
	e := deploy.New(t)
	ctx := context.Background()
	serviceLog := func() string { return e.Machine(unit0).ServiceLog("docker-registry.service") }
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, serviceLog())
	}
	addr := e.Machine(unit0).Addr().String()
	direct := net.JoinHostPort(addr, "5000")
	operator, err := remote.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := operator.IssueWorker(addr, addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Model.SetConfig(ctx, map[string]any{
		"auth-basic-password": relSecret(t), "tls-client-auth": "none",
		"tls-cert-blob": b64([]byte(cert)), "tls-key-blob": b64([]byte(key)), "tls-ca-blob": b64([]byte(operator.CAPEM)),
	}); err != nil {
		t.Fatal(err)
	}
	worker := relContainerd(ctx, t, e, "containerd-0")
	cluster, err := remote.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.ownCertificate(cluster); err != nil {
		t.Fatal(err)
	}
	rel, err := e.Model.Relate(ctx, "docker-registry", "containerd",
		sim.RemoteUnit{Name: "containerd/0", Address: worker.m.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	view := relRegistryView(t, e, rel, unit0)
	if !view.HasTLS || strings.TrimSpace(view.CA) != strings.TrimSpace(operator.CAPEM) {
		t.Fatalf("workers are not sent the operator's CA (tls %v)", view.HasTLS)
	}
	issued, err := relParseCert(cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := relWaitServed(ctx, e, direct, operator.CAPEM, nil, issued); err != nil {
		t.Fatalf("registry does not serve the operator's certificate: %v\n%s", err, serviceLog())
	}
	img, digest := relTestImage(t)
	admin := deploy.Client{Env: e, CAPEM: []byte(operator.CAPEM), User: view.User, Password: view.Password}
	if err := relPush(admin, direct, "app:1", img); err != nil {
		t.Fatalf("push: %v\n%s", err, serviceLog())
	}

	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, direct, "app:1", digest); err != nil {
		t.Fatalf("containerd trusting tls_ca through the system store: %v\n%s", err, worker.proc.Output())
	}
	// Without tls_ca in the trust store, the worker's own CA does not
	// verify the registry.
	if _, err := relRun(ctx, worker.m, nil, nil, "rm", remote.RegistryTrustPath); err != nil {
		t.Fatal(err)
	}
	if out, err := relRun(ctx, worker.m, nil, nil, "update-ca-certificates", "--fresh"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	entry := remote.ContainerdRegistryFor(view)
	if err := worker.render(ctx, &entry); err != nil {
		t.Fatal(err)
	}
	if err := worker.pull(ctx, crictl, direct, "app:1", digest); err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("pull without tls_ca in the trust store: %v", err)
	}
	// verify-if-given checks the certificate containerd always presents.
	if err := e.Model.SetConfig(ctx, map[string]any{"tls-client-auth": "verify-if-given"}); err != nil {
		t.Fatal(err)
	}
	if err := worker.configure(ctx, view); err != nil {
		t.Fatal(err)
	}
	err = worker.pull(ctx, crictl, direct, "app:1", digest)
	if err == nil || !strings.Contains(err.Error(), "remote error: tls: unknown certificate authority") {
		t.Errorf("a registry verifying given client certificates against its own CA: %v", err)
	}
}
