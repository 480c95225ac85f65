package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// One deployment walks a registry through the relations a Charmed
// Kubernetes cluster gives it: easyrsa turns it to https, a docker worker
// configured only from the docker-registry relation pulls over verified
// TLS, haproxy configured from the website stanza serves pulls, and
// removing cert-provider brings everyone back to http. The containerd
// worker has its own walk (relations_containerd_test.go).
func TestRelationsTLSWorkersProxy(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	serviceLog := func() string { return e.Machine(unit0).ServiceLog("docker-registry.service") }
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, serviceLog())
	}
	password := relSecret(t)
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": password}); err != nil {
		t.Fatal(err)
	}
	addr := e.Machine(unit0).Addr().String()
	direct := net.JoinHostPort(addr, "5000")

	// The workers exist before the relations, as in a cluster.
	dockerd := relDockerd(ctx, t, e, "docker-0")
	clients, err := e.Model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	if err != nil {
		t.Fatal(err)
	}
	dockerRel, err := e.Model.Relate(ctx, "docker-registry", "docker",
		sim.RemoteUnit{Name: "docker/0", Address: dockerd.m.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}

	// 1. easyrsa → https with easyrsa's certificate.
	ca, certRel := relEasyRSA(ctx, t, e)
	req := ca.Requests[unit0]
	if req["common_name"] != addr || req["unit_name"] != "docker-registry_0" {
		t.Errorf("certificate request: common_name %q unit_name %q, want raw %q and docker-registry_0",
			req["common_name"], req["unit_name"], addr)
	}
	var sans []string
	if err := json.Unmarshal([]byte(req["sans"]), &sans); err != nil || !slices.Contains(sans, addr) {
		t.Errorf("sans %q is not a JSON list naming %s", req["sans"], addr)
	}
	issued, err := relParseCert(e.Model.RelationData(certRel, "easyrsa/0")["docker-registry_0.server.cert"])
	if err != nil {
		t.Fatal(err)
	}
	globalClient := relKeyPair(t, ca.ClientCert, ca.ClientKey)
	if err := relWaitServed(ctx, e, direct, ca.CAPEM, globalClient, issued); err != nil {
		t.Fatalf("registry does not serve easyrsa's certificate: %v\n%s", err, serviceLog())
	}
	served, _ := relServedCert(ctx, e, direct, ca.CAPEM, globalClient)
	if !slices.ContainsFunc(served.IPAddresses, func(ip net.IP) bool { return ip.String() == addr }) || served.Subject.CommonName != addr {
		t.Errorf("served certificate: CN %q, IP SANs %v; want %s in both", served.Subject.CommonName, served.IPAddresses, addr)
	}
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, "Ready at "+direct+" (https).") {
		t.Errorf("status = %s %q", st.Name, st.Message)
	}
	if out, err := relRun(ctx, e.Machine(unit0), nil, nil, "stat", "-c", "%a %U", "/etc/docker/registry/registry.key"); err != nil || strings.TrimSpace(out) != "640 root" {
		t.Errorf("registry.key mode %q (%v), want 640 root (group docker-registry)", strings.TrimSpace(out), err)
	}
	view := relRegistryView(t, e, clients, unit0)
	if !view.HasTLS || view.CA != ca.CAPEM && strings.TrimSpace(view.CA) != strings.TrimSpace(ca.CAPEM) ||
		view.Netloc != direct || view.URL != "https://"+direct || !view.HasAuth || view.User != "admin" || view.Password != password {
		t.Fatalf("workers are told netloc %q url %q tls %v (CA is easyrsa's: %v) auth %v user %q (password matches: %v)",
			view.Netloc, view.URL, view.HasTLS, strings.TrimSpace(view.CA) == strings.TrimSpace(ca.CAPEM),
			view.HasAuth, view.User, view.Password == password)
	}
	if dv := relRegistryView(t, e, dockerRel, unit0); dv != view {
		t.Errorf("the docker relation is told something else than the containerd relation")
	}

	img, digest := relTestImage(t)
	admin := deploy.Client{Env: e, CAPEM: []byte(ca.CAPEM), User: view.User, Password: view.Password, ClientCert: globalClient}
	if err := relPush(admin, view.Netloc, "cdk/pause:3.6", img); err != nil {
		t.Fatalf("push over https: %v\n%s", err, serviceLog())
	}

	// 3. docker: certs.d from the relation; a wrong CA must fail first.
	other, err := remote.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	wrong := view
	wrong.CA = other.CAPEM
	if err := dockerd.configure(ctx, wrong, ca.ClientCert, ca.ClientKey); err != nil {
		t.Fatal(err)
	}
	if out, err := dockerd.login(ctx, wrong); err == nil || !strings.Contains(out, "x509") {
		t.Errorf("docker login trusting another CA: err %v, output:\n%s", err, out)
	}
	if err := dockerd.configure(ctx, view, ca.ClientCert, ca.ClientKey); err != nil {
		t.Fatal(err)
	}
	if out, err := dockerd.login(ctx, view); err != nil || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login: %v\n%s\n%s", err, out, dockerd.proc.Output())
	}
	if out, err := dockerd.docker(ctx, nil, "pull", view.Netloc+"/cdk/pause:3.6"); err != nil || !strings.Contains(out, digest) {
		t.Fatalf("docker pull: %v\n%s\n%s", err, out, dockerd.proc.Output())
	}
	// A new password reaches the workers through the relation.
	if err := e.Model.SetConfig(ctx, map[string]any{"auth-basic-password": relSecret(t)}); err != nil {
		t.Fatal(err)
	}
	old := view
	view = relRegistryView(t, e, clients, unit0)
	if view.Password == old.Password || !view.HasAuth || view.CA != old.CA || view.Netloc != old.Netloc {
		t.Fatalf("after a password change workers are told: auth %v, new password %v, same CA %v, netloc %q",
			view.HasAuth, view.Password != old.Password, view.CA == old.CA, view.Netloc)
	}
	if out, err := dockerd.login(ctx, old); err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
		t.Errorf("docker login with the old password: err %v, output:\n%s", err, out)
	}
	if out, err := dockerd.login(ctx, view); err != nil || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login with the new password: %v\n%s", err, out)
	}
	admin.Password = view.Password

	// 4. haproxy in front, configured from the leader's stanza.
	px := relHaproxy(t, e, "haproxy-0")
	pxAddr := px.m.Addr().String()
	proxied := net.JoinHostPort(pxAddr, "5000")
	web, err := e.Model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: pxAddr})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, "Ready at "+direct+" (https, proxied).") {
		t.Errorf("status with a proxy = %s %q", st.Name, st.Message)
	}
	view = relRegistryView(t, e, clients, unit0)
	if view.Netloc != proxied || view.URL != "https://"+proxied {
		t.Fatalf("workers are sent to %q (%q), want the proxy %s", view.Netloc, view.URL, proxied)
	}
	if !strings.Contains(ca.Requests[unit0]["sans"], `"`+pxAddr+`"`) {
		t.Fatalf("the certificate request does not name the proxy: sans %s", ca.Requests[unit0]["sans"])
	}
	issued, err = relParseCert(e.Model.RelationData(certRel, "easyrsa/0")["docker-registry_0.server.cert"])
	if err != nil {
		t.Fatal(err)
	}
	if err := relWaitServed(ctx, e, direct, ca.CAPEM, globalClient, issued); err != nil {
		t.Fatalf("registry does not serve the certificate naming the proxy: %v\n%s", err, serviceLog())
	}
	stanza := e.Model.RelationData(web, unit0)
	cfg, err := remote.HaproxyConfig(map[string]map[string]string{unit0: stanza})
	if err != nil {
		t.Fatalf("haproxy cannot use our stanza: %v\n%s", err, stanza["services"])
	}
	if !strings.Contains(cfg, "mode tcp") {
		t.Errorf("with TLS the stanza is not mode tcp:\n%s", cfg)
	}
	checkCert, checkKey, err := ca.IssueWorker("haproxy-0", pxAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := px.start(ctx, cfg, relHaproxyFiles(cfg, ca.CAPEM, checkCert+checkKey)); err != nil {
		t.Fatal(err)
	}
	// The checks use the stanza's ssl options: our CA, haproxy's own
	// client certificate.
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, cfg, px.log())
	}
	if got, err := relPullDigest(admin, proxied, "cdk/pause:3.6"); err != nil || got != digest {
		t.Fatalf("pull through haproxy over TLS: %v (digest %s)\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, got, cfg, px.log())
	}

	// 5. cert-provider goes: http again, tls_ca null, workers follow.
	if err := e.Model.Unrelate(ctx, certRel); err != nil {
		t.Fatal(err)
	}
	if st := e.Model.Unit(unit0).Status(); !readyWarning(st, "Ready at "+direct+" (http, proxied).") {
		t.Errorf("status after cert-provider left = %s %q", st.Name, st.Message)
	}
	if err := relWaitHTTP(ctx, e, direct, 401); err != nil {
		t.Fatalf("registry does not serve http again: %v\n%s", err, serviceLog())
	}
	for _, p := range []string{"/etc/docker/registry/registry.crt", "/etc/docker/registry/registry.key", "/etc/docker/registry/ca.crt"} {
		if _, err := e.Machine(unit0).ReadFile(p); err == nil {
			t.Errorf("%s left behind after cert-provider left", p)
		}
	}
	for _, rel := range []int{clients, dockerRel} {
		if raw := e.Model.RelationData(rel, unit0)["tls_ca"]; raw != "null" {
			t.Errorf("relation %d: raw tls_ca = %q, want the literal null", rel, raw)
		}
	}
	view = relRegistryView(t, e, clients, unit0)
	if view.HasTLS || view.URL != "http://"+proxied || view.Netloc != proxied {
		t.Fatalf("after TLS: workers told netloc %q url %q tls %v", view.Netloc, view.URL, view.HasTLS)
	}
	cfg, err = remote.HaproxyConfig(map[string]map[string]string{unit0: e.Model.RelationData(web, unit0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := px.start(ctx, cfg, relHaproxyFiles(cfg, "", "")); err != nil {
		t.Fatal(err)
	}
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, cfg, px.log())
	}
	if got, err := relPullDigest(deploy.Client{Env: e, User: view.User, Password: view.Password}, proxied, "cdk/pause:3.6"); err != nil || got != digest {
		t.Fatalf("pull over http through haproxy: %v (digest %s)\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, got, cfg, px.log())
	}
}

// relHaproxyFiles provides what the stanza's ssl options name on the proxy
// machine: the CA that verifies the registry (ca-file) and haproxy's own
// client certificate with its key (crt, for the checks).
func relHaproxyFiles(cfg, caPEM, clientPEM string) map[string]string {
	files := map[string]string{}
	for p, opt := range remote.HaproxyReferencedFiles(cfg) {
		switch opt {
		case "ca-file":
			files[p] = caPEM
		case "crt":
			files[p] = clientPEM
		}
	}
	return files
}

// Two units behind haproxy: the leader's stanza names both (the oldest
// primary, the other backup), the follower publishes nothing haproxy
// would turn into a server; when the leader goes, the new leader
// publishes the stanza and keeps the http secret.
func TestRelationsWebsiteLeadership(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	const unit1 = "docker-registry/1"
	serviceLog := func(u string) string { return e.Machine(u).ServiceLog("docker-registry.service") }
	if err := e.Model.Deploy(ctx, 2); err != nil {
		t.Fatalf("deploy: %v\n%s", err, serviceLog(unit0))
	}
	if e.Model.Leader() != unit0 {
		t.Fatalf("leader is %s", e.Model.Leader())
	}
	addr0, addr1 := e.Machine(unit0).Addr().String(), e.Machine(unit1).Addr().String()
	px := relHaproxy(t, e, "haproxy-0")
	pxAddr := px.m.Addr().String()
	proxied := net.JoinHostPort(pxAddr, "5000")
	clients, err := e.Model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	if err != nil {
		t.Fatal(err)
	}
	web, err := e.Model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: pxAddr})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{unit0, unit1} {
		if v := relRegistryView(t, e, clients, u); v.Netloc != proxied || v.URL != "http://"+proxied {
			t.Errorf("%s sends workers to %q (%q), want the proxy %s", u, v.Netloc, v.URL, proxied)
		}
	}
	servers := relStanzaServers(t, e.Model.RelationData(web, unit0)["services"])
	if len(servers) != 2 || servers[0][0] != "docker-registry-0" || servers[0][1] != addr0 || strings.Contains(servers[0][3], "backup") ||
		servers[1][0] != "docker-registry-1" || servers[1][1] != addr1 || !strings.HasSuffix(servers[1][3], " backup") {
		t.Errorf("leader's stanza servers = %v; want docker-registry-0 at %s primary, docker-registry-1 at %s backup", servers, addr0, addr1)
	}
	follower := e.Model.RelationData(web, unit1)
	for _, k := range []string{"services", "port", "hostname"} {
		if _, ok := follower[k]; ok {
			t.Errorf("follower publishes %s: %q", k, follower[k])
		}
	}
	// containerd is related and the registry serves http on the cloud's
	// addresses: status says workers need TLS.
	for _, u := range []string{unit0, unit1} {
		want := "Ready at " + e.Machine(u).Addr().String() + ":5000 (http, proxied)."
		if st := e.Model.Unit(u).Status(); !readyWarning(st, want) {
			t.Errorf("%s status = %s %q, want %q…%q", u, st.Name, st.Message, want, containerdNeedsTLS)
		}
	}
	cfg, err := remote.HaproxyConfig(relWebsiteBags(e, web, unit0, unit1))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(cfg, "\n    server "); n != 2 {
		t.Errorf("haproxy has %d servers, want 2:\n%s", n, cfg)
	}
	if err := px.start(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0", "docker-registry-1"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, cfg, px.log())
	}
	c := deploy.Client{Env: e}
	img, digest := relTestImage(t)
	if err := relPush(c, proxied, "cdk/app:v1", img); err != nil {
		t.Fatalf("push through haproxy: %v\n%s", err, px.log())
	}
	// The primary got it: each unit's filesystem storage is its own.
	if got, err := relPullDigest(c, net.JoinHostPort(addr0, "5000"), "cdk/app:v1"); err != nil || got != digest {
		t.Errorf("the primary does not hold what was pushed through the proxy: %v", err)
	}
	secretBefore := relRenderedSecret(t, e, unit1)
	appSecret := e.Model.RelationAppData(e.Model.PeerRelation("peer"), "docker-registry")["http-secret"]
	if secretBefore == "" || secretBefore != appSecret || relRenderedSecret(t, e, unit0) != secretBefore {
		t.Fatal("the units do not render the leader's http secret")
	}

	// The leader goes.
	if err := e.Model.RemoveUnit(ctx, unit0); err != nil {
		t.Fatalf("remove %s: %v", unit0, err)
	}
	if e.Model.Leader() != unit1 {
		t.Fatalf("leader after removal: %q", e.Model.Leader())
	}
	bag := e.Model.RelationData(web, unit1)
	servers = relStanzaServers(t, bag["services"])
	if len(servers) != 1 || servers[0][0] != "docker-registry-1" || servers[0][1] != addr1 || strings.Contains(servers[0][3], "backup") ||
		bag["port"] != "5000" || bag["hostname"] != addr1 {
		t.Fatalf("new leader publishes hostname %q port %q servers %v", bag["hostname"], bag["port"], servers)
	}
	if got := e.Model.RelationAppData(e.Model.PeerRelation("peer"), "docker-registry")["http-secret"]; got != appSecret {
		t.Error("the http secret in the peer application data changed with the leader")
	}
	if relRenderedSecret(t, e, unit1) != secretBefore {
		t.Error("the remaining unit renders another http secret after the leader change")
	}
	cfg, err = remote.HaproxyConfig(relWebsiteBags(e, web, unit1))
	if err != nil {
		t.Fatal(err)
	}
	if err := px.start(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if err := px.waitChecks(ctx, "docker-registry", "docker-registry-1"); err != nil {
		t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, cfg, px.log())
	}
	if err := relPush(c, proxied, "cdk/app:v1", img); err != nil {
		t.Fatalf("push through haproxy to the new leader: %v\n%s", err, serviceLog(unit1))
	}
	if got, err := relPullDigest(c, proxied, "cdk/app:v1"); err != nil || got != digest {
		t.Fatalf("pull through haproxy from the new leader: %v", err)
	}

	// The proxy goes: workers are sent to the unit again.
	if err := e.Model.Unrelate(ctx, web); err != nil {
		t.Fatal(err)
	}
	direct1 := net.JoinHostPort(addr1, "5000")
	if st := e.Model.Unit(unit1).Status(); !readyWarning(st, "Ready at "+direct1+" (http).") {
		t.Errorf("status without the proxy = %s %q", st.Name, st.Message)
	}
	if v := relRegistryView(t, e, clients, unit1); v.Netloc != direct1 || v.URL != "http://"+direct1 {
		t.Errorf("without the proxy workers are sent to %q (%q), want %s", v.Netloc, v.URL, direct1)
	}
	if got, err := relPullDigest(c, direct1, "cdk/app:v1"); err != nil || got != digest {
		t.Errorf("pull from the unit after the proxy went: %v", err)
	}
}

// relStanzaServers returns the servers of the single service of a stanza as
// [name, address, port, options].
func relStanzaServers(t testing.TB, services string) [][4]string {
	t.Helper()
	var doc []struct {
		Servers [][]any `yaml:"servers"`
	}
	if err := yaml.Unmarshal([]byte(services), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("services is not one service: %v\n%s", err, services)
	}
	var out [][4]string
	for _, s := range doc[0].Servers {
		if len(s) != 4 {
			t.Fatalf("server entry %v is not [name, address, port, options]", s)
		}
		out = append(out, [4]string{fmt.Sprint(s[0]), fmt.Sprint(s[1]), fmt.Sprint(s[2]), fmt.Sprint(s[3])})
	}
	return out
}

// relWebsiteBags are the bags of units on the website relation, as haproxy
// reads them.
func relWebsiteBags(e *deploy.Env, rel int, units ...string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, u := range units {
		out[u] = e.Model.RelationData(rel, u)
	}
	return out
}

// relRenderedSecret is http.secret of a unit's registry configuration
// (compared, never printed).
func relRenderedSecret(t testing.TB, e *deploy.Env, unit string) string {
	t.Helper()
	data, err := e.Machine(unit).ReadFile("/etc/docker/registry/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		HTTP struct {
			Secret string `yaml:"secret"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("cannot parse %s's registry config: %v", unit, err)
	}
	return cfg.HTTP.Secret
}
