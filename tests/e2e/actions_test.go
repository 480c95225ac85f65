package e2e

// The actions of the packed charm on a simulated machine, against a real
// source registry (the upstream registry binary on a machine of its own,
// filled with crane): push (multi-arch, idempotent, private source, local
// archives, partial failure, the Charmed Kubernetes list), images, rmi,
// garbage-collect, stop/start, and every action before the registry is
// ready. TLS with client certificates is in TestActionsPushTLSClientCert.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/images"
	remotecharm "github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// deployOne deploys one unit with config set first (as `juju deploy
// --config`) and returns its netloc.
func deployOne(t *testing.T, e *deploy.Env, config map[string]any) string {
	t.Helper()
	ctx := context.Background()
	if config != nil {
		if err := e.Model.SetConfig(ctx, config); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, e.Machine(unit0).ServiceLog("docker-registry.service"))
	}
	t.Logf("deployed in %s", time.Since(start).Round(time.Millisecond))
	return e.Machine(unit0).Addr().String() + ":5000"
}

func wantStatus(t *testing.T, e *deploy.Env, name, message string) {
	t.Helper()
	if st := e.Model.Unit(unit0).Status(); st.Name != name || !strings.HasPrefix(st.Message, message) {
		t.Fatalf("status = %s %q, want %s %q", st.Name, st.Message, name, message)
	}
}

// TestActionsPushImagesRmiGC is one registry's life: filled by push in
// every way an operator does it, listed, pruned, collected, stopped and
// started again.
func TestActionsPushImagesRmiGC(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	// No basic auth here: every authenticated request costs the registry a
	// bcrypt check, and this test makes hundreds. The charm's client with
	// credentials, CA and client certificate is TestActionsPushTLSClientCert.
	netloc := deployOne(t, e, nil)
	wantStatus(t, e, "active", "Ready at "+netloc+" (http).")
	src := newSourceRegistry(t, e, true)
	hello := src.buildMultiArch("hello:multi", nil)
	ours := deploy.Client{Env: e}
	ref := func(repoTag string) name.Reference {
		r, err := ours.Ref(netloc, repoTag)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Without tag, an image lands at <netloc>/<image as given>, the
	// source's host kept in the path without its port, as the reactive
	// charm tagged it: under(path) is where a push of src.Public/path goes.
	srcHost, _, _ := strings.Cut(src.Public, ":")
	under := func(path string) string { return srcHost + "/" + path }
	push := func(t *testing.T, params map[string]any, secrets ...string) sim.ActionResult {
		return runAction(t, e, unit0, "push", params, secrets...)
	}

	t.Run("multi-arch push keeps the index digest and both platforms", func(t *testing.T) {
		res := push(t, map[string]any{"image": src.Public + "/hello:multi"})
		mustComplete(t, res)
		if got := result(res, "outcome"); got != "success" {
			t.Errorf("outcome = %q", got)
		}
		if got, want := result(res, "raw"), "pushed "+netloc+"/"+under("hello:multi"); got != want {
			t.Errorf("raw = %q, want %q", got, want)
		}
		if got := result(res, "images.0.digest"); got != hello.String() {
			t.Errorf("reported digest %s, source index is %s", got, hello)
		}
		if got := result(res, "images.0.platforms"); got != "linux/amd64,linux/arm64" {
			t.Errorf("reported platforms %q", got)
		}
		if n, _ := strconv.ParseInt(result(res, "images.0.bytes-copied"), 10, 64); n < 500_000 {
			t.Errorf("bytes-copied = %q for two ~1 MB layers", result(res, "images.0.bytes-copied"))
		}
		if len(res.Logs) == 0 {
			t.Error("no progress in action-log")
		}
		idx, err := remote.Index(ref(under("hello:multi")), ours.Options()...)
		if err != nil {
			t.Fatalf("cannot read the index back: %v", err)
		}
		if d, _ := idx.Digest(); d != hello {
			t.Errorf("our registry serves %s, the source %s", d, hello)
		}
		if got := strings.Join(platformsOf(t, idx), ","); got != "linux/amd64,linux/arm64" {
			t.Errorf("index read back has platforms %s", got)
		}
		pullIntact(t, ref(under("hello:multi")), ours.Options()...)
	})

	t.Run("pushing it again copies no blob", func(t *testing.T) {
		res := push(t, map[string]any{"image": src.Public + "/hello:multi"})
		mustComplete(t, res)
		if got := result(res, "images.0.bytes-copied"); got != "0" {
			t.Errorf("bytes-copied = %s on a re-push", got)
		}
		if got := result(res, "images.0.digest"); got != hello.String() {
			t.Errorf("digest = %s", got)
		}
	})

	t.Run("the source through the model's proxy, our registry direct", func(t *testing.T) {
		proxy := newForwardProxy(t, e)
		e.Model.SetProxy(sim.Proxy{HTTP: proxy.URL, HTTPS: proxy.URL})
		defer e.Model.SetProxy(sim.Proxy{})
		res := push(t, map[string]any{"image": src.Public + "/hello:multi", "tag": "proxied/hello:multi"})
		mustComplete(t, res)
		if proxy.Seen(src.Public) == 0 {
			t.Errorf("the source was not reached through juju-http-proxy (proxy saw %d requests)", proxy.Total())
		}
		if n := proxy.Seen(netloc); n > 0 {
			t.Errorf("%d requests to our own registry went through the proxy", n)
		}
		if d, err := remote.Head(ref("proxied/hello:multi"), ours.Options()...); err != nil || d.Digest != hello {
			t.Errorf("proxied/hello:multi: %v %v", d, err)
		}

		// juju-no-proxy exempts the source.
		before := proxy.Total()
		e.Model.SetProxy(sim.Proxy{HTTP: proxy.URL, HTTPS: proxy.URL, NoProxy: src.m.Addr().String()})
		mustComplete(t, push(t, map[string]any{"image": src.Public + "/hello:multi", "tag": "proxied/hello:direct"}))
		if n := proxy.Total() - before; n > 0 {
			t.Errorf("%d requests went through the proxy for a source in juju-no-proxy", n)
		}
	})

	t.Run("private source with credentials", func(t *testing.T) {
		want := src.buildSingle("private/app:1")
		r, anon := src.privateRef("private/app:1", false)
		var terr *transport.Error
		if _, err := remote.Head(r, anon...); !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the private side let an anonymous client in: %v", err)
		}
		// The operator trusts the mirror's CA on the unit's machine.
		trustCA(t, e.Machine(unit0), src.CAPEM)
		image := src.Private + "/private/app:1"

		wrong := randomSecret(t)
		res := push(t, map[string]any{"image": image, "source-username": sourceUser, "source-password": wrong}, wrong, src.Password)
		if !res.Failed() || !strings.Contains(res.Message, image) {
			t.Errorf("a wrong source password: %s %q", res.Status, res.Message)
		}

		res = push(t, map[string]any{"image": image, "source-username": sourceUser, "source-password": src.Password}, src.Password)
		mustComplete(t, res)
		if got := result(res, "images.0.digest"); got != want.String() {
			t.Errorf("digest = %s, want %s", got, want)
		}
		if d, err := remote.Head(ref(under("private/app:1")), ours.Options()...); err != nil || d.Digest != want {
			t.Errorf("private/app:1 in our registry: %v %v", d, err)
		}
	})

	t.Run("air-gapped OCI and docker archives with pull=false", func(t *testing.T) {
		m := e.Machine(unit0)
		srcIdx, err := src.Get("hello:multi").ImageIndex()
		if err != nil {
			t.Fatal(err)
		}
		// An oci-archive, as `skopeo copy ... oci-archive:` or `crane pull
		// --format=oci` + tar writes it, copied with juju scp.
		ociTar := ociArchive(t, srcIdx, "airgap/hello:oci")
		if err := m.WriteFile("/root/hello-oci.tar", ociTar, 0o600); err != nil {
			t.Fatal(err)
		}
		res := push(t, map[string]any{"image": "/root/hello-oci.tar", "pull": false})
		mustComplete(t, res)
		if got := result(res, "images.0.tag"); got != netloc+"/airgap/hello:oci" {
			t.Errorf("OCI archive went to %q", got)
		}
		idx, err := remote.Index(ref("airgap/hello:oci"), ours.Options()...)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := idx.Digest(); d != hello || result(res, "images.0.digest") != hello.String() {
			t.Errorf("OCI import changed the digest: %s (reported %s), want %s", d, result(res, "images.0.digest"), hello)
		}
		if got := strings.Join(platformsOf(t, idx), ","); got != "linux/amd64,linux/arm64" {
			t.Errorf("OCI import platforms: %s", got)
		}

		// A docker-archive (`docker save`) of the amd64 image.
		amd64, err := remote.Image(mustParse(t, src.Public+"/hello:multi"), append(deploy.Client{Env: e}.Options(), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))...)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		tag, _ := name.NewTag("airgap/hello:docker")
		if err := tarball.Write(tag, amd64, &buf); err != nil {
			t.Fatal(err)
		}
		if err := m.WriteFile("/root/hello-docker.tar", buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		res = push(t, map[string]any{"image": "/root/hello-docker.tar", "pull": false})
		mustComplete(t, res)
		if got := result(res, "images.0.platforms"); got != "linux/amd64" {
			t.Errorf("docker archive platforms = %q", got)
		}
		img, err := remote.Image(ref("airgap/hello:docker"), ours.Options()...)
		if err != nil {
			t.Fatalf("the docker archive's image is not in the registry: %v", err)
		}
		want, _ := amd64.ConfigName()
		if got, _ := img.ConfigName(); got != want {
			t.Errorf("docker import changed the image config: %s, want %s", got, want)
		}
		pullIntact(t, ref("airgap/hello:docker"), ours.Options()...)
	})

	t.Run("a list with one bad reference copies the rest and names it", func(t *testing.T) {
		single := src.buildSingle("tools/single:1")
		bad := src.Public + "/no/such-image:0"
		res := push(t, map[string]any{"image": src.Public + "/hello:multi " + bad + " " + src.Public + "/tools/single:1"})
		if !res.Failed() {
			t.Fatalf("push of a list with a missing image completed: %v", flatResults(res))
		}
		if !strings.Contains(res.Message, bad) {
			t.Errorf("failure message does not name %s: %q", bad, res.Message)
		}
		if strings.Contains(res.Message, "hello:multi") || strings.Contains(res.Message, "tools/single") {
			t.Errorf("failure message blames the good images: %q", res.Message)
		}
		if result(res, "images.1.error") == "" || result(res, "images.0.digest") != hello.String() || result(res, "images.2.digest") != single.String() {
			t.Errorf("per-image results: %v", flatResults(res))
		}
		if d, err := remote.Head(ref(under("tools/single:1")), ours.Options()...); err != nil || d.Digest != single {
			t.Errorf("the image after the bad one was not copied: %v %v", d, err)
		}
	})

	t.Run("the Charmed Kubernetes image list in one call, then the sandbox image", func(t *testing.T) {
		// The real list names images under rocks.canonical.com:443/cdk/;
		// the source registry stands in for it under the same paths.
		src.copy("hello:multi", "cdk/pause:3.6")
		list := []string{"cdk/pause:3.6"}
		for _, img := range []string{"cdk/coredns/coredns:1.10.1", "cdk/metrics-server/metrics-server:v0.6.4",
			"cdk/kubernetesui/dashboard:v2.7.0", "cdk/kubernetesui/metrics-scraper:v1.0.8", "cdk/ingress-nginx/controller:v1.8.1"} {
			src.buildSingle(img)
			list = append(list, img)
		}
		var images []string
		for _, img := range list {
			images = append(images, src.Public+"/"+img)
		}
		res := push(t, map[string]any{"image": strings.Join(images, " ")})
		mustComplete(t, res)
		for i, img := range list {
			want := src.Digest(img)
			if got := result(res, "images."+strconv.Itoa(i)+".digest"); got != want.String() {
				t.Errorf("%s: reported digest %q, want %s", img, got, want)
			}
			// Each lands under its source's host and path, as
			// image-registry=<netloc>/<source host>/cdk on
			// kubernetes-control-plane expects.
			if d, err := remote.Head(ref(under(img)), ours.Options()...); err != nil || d.Digest != want {
				t.Errorf("%s/%s after the one-call push: %v %v", netloc, img, d, err)
			}
		}
		// A related containerd's sandbox image is <netloc>/pause:3.6: the
		// README's one command puts it there (blobs already present).
		res = push(t, map[string]any{"image": src.Public + "/cdk/pause:3.6", "tag": "pause:3.6"})
		mustComplete(t, res)
		if got, want := result(res, "raw"), "pushed "+netloc+"/pause:3.6"; got != want {
			t.Errorf("raw = %q, want %q", got, want)
		}
		if d, err := remote.Head(ref("pause:3.6"), ours.Options()...); err != nil || d.Digest != hello {
			t.Errorf("%s/pause:3.6: %v %v", netloc, d, err)
		}
		pullIntact(t, ref("pause:3.6"), ours.Options()...)
	})

	victim := src.buildMultiArch("victim:multi", func(string) []byte { return randomBytes(t, 1<<20) })

	t.Run("images lists repositories, tags and details", func(t *testing.T) {
		mustComplete(t, push(t, map[string]any{"image": src.Public + "/victim:multi"}))
		res := runAction(t, e, unit0, "images", nil)
		mustComplete(t, res)
		out := result(res, "output")
		for _, want := range []string{"hello", "multi", "victim", "airgap/hello", "private/app"} {
			if !strings.Contains(out, want) {
				t.Errorf("images output lacks %q:\n%s", want, out)
			}
		}
		repos := map[string]string{}
		for k, v := range flatResults(res) {
			if strings.HasPrefix(k, "repositories.") && strings.HasSuffix(k, ".name") {
				repos[v] = result(res, strings.TrimSuffix(k, "name")+"tags")
			}
		}
		if repos[under("hello")] != "multi" || repos[under("victim")] != "multi" || !strings.Contains(repos["airgap/hello"], "oci") {
			t.Errorf("structured results: %v", repos)
		}

		res = runAction(t, e, unit0, "images", map[string]any{"repository": under("victim"), "details": true})
		mustComplete(t, res)
		flat := flatResults(res)
		if flat["repositories.0.name"] != under("victim") || flat["repositories.1.name"] != "" {
			t.Errorf("filter by repository: %v", flat)
		}
		if flat["repositories.0.tags.0.digest"] != victim.String() || flat["repositories.0.tags.0.platforms"] != "linux/amd64,linux/arm64" {
			t.Errorf("details: %v", flat)
		}
		if n, _ := strconv.ParseInt(flat["repositories.0.tags.0.size"], 10, 64); n < 2<<20 {
			t.Errorf("size %q for two platforms with 1 MiB of their own each", flat["repositories.0.tags.0.size"])
		}
		if !strings.Contains(result(res, "output"), victim.String()) {
			t.Errorf("details table lacks the digest:\n%s", result(res, "output"))
		}
		// The reference's docker-images flags keep working.
		res = runAction(t, e, unit0, "images", map[string]any{"repository": under("victim:multi"), "options": "--digests"})
		mustComplete(t, res)
		if !strings.Contains(result(res, "output"), victim.String()) {
			t.Errorf("options=--digests does not show the digest:\n%s", result(res, "output"))
		}
	})

	t.Run("rmi needs storage-delete", func(t *testing.T) {
		res := runAction(t, e, unit0, "rmi", map[string]any{"image": netloc + "/" + under("victim:multi")})
		if !res.Failed() || !strings.Contains(res.Message, "storage-delete=true") {
			t.Fatalf("rmi with storage-delete=false: %s %q", res.Status, res.Message)
		}
		if _, err := remote.Head(ref(under("victim:multi")), ours.Options()...); err != nil {
			t.Errorf("refused rmi deleted anyway: %v", err)
		}
	})

	dataDir := e.Machine(unit0).Path("/srv/registry")
	t.Run("rmi, garbage-collect frees disk, re-push pulls back intact", func(t *testing.T) {
		if err := e.Model.SetConfig(context.Background(), map[string]any{"storage-delete": true}); err != nil {
			t.Fatal(err)
		}
		// A tag (with our netloc, as an operator copies it) and a digest.
		single := src.Digest("tools/single:1")
		res := runAction(t, e, unit0, "rmi", map[string]any{"image": netloc + "/" + under("victim:multi") + " " + netloc + "/" + under("tools/single") + "@" + single.String()})
		mustComplete(t, res)
		if result(res, "deleted.0.digest") != victim.String() || result(res, "deleted.1.digest") != single.String() {
			t.Errorf("rmi reported %v", flatResults(res))
		}
		if _, err := remote.Head(ref(under("tools/single:1")), ours.Options()...); err == nil {
			t.Error("tools/single:1 still served after rmi by digest")
		}
		if _, err := remote.Head(ref(under("victim:multi")), ours.Options()...); err == nil {
			t.Error("victim:multi still served after rmi")
		}
		res = runAction(t, e, unit0, "images", nil)
		if strings.Contains(result(res, "output"), "victim") {
			t.Errorf("images still lists the deleted image:\n%s", result(res, "output"))
		}

		before := diskUsage(t, dataDir)
		dry := runAction(t, e, unit0, "garbage-collect", map[string]any{"dry-run": true, "delete-untagged": true})
		mustComplete(t, dry)
		if after := diskUsage(t, dataDir); after != before {
			t.Errorf("a dry run changed the disk: %d → %d bytes", before, after)
		}
		res = runAction(t, e, unit0, "garbage-collect", map[string]any{"delete-untagged": true})
		mustComplete(t, res)
		after := diskUsage(t, dataDir)
		freed, _ := strconv.ParseInt(result(res, "bytes-freed"), 10, 64)
		t.Logf("garbage-collect: %v; disk %d → %d bytes", flatResults(res), before, after)
		if freed < 2<<20 {
			t.Errorf("bytes-freed = %d; the victim had 2 MiB of its own", freed)
		}
		if result(dry, "bytes-freed") != result(res, "bytes-freed") {
			t.Errorf("dry run said %s bytes, the sweep freed %s", result(dry, "bytes-freed"), result(res, "bytes-freed"))
		}
		if before-after < freed {
			t.Errorf("disk went from %d to %d bytes, but bytes-freed says %d", before, after, freed)
		}
		// What was not deleted is untouched.
		pullIntact(t, ref(under("hello:multi")), ours.Options()...)

		// Push again: the registry must upload the collected blobs again,
		// not trust a cached descriptor of a blob that is gone.
		res = push(t, map[string]any{"image": src.Public + "/victim:multi"})
		mustComplete(t, res)
		if n, _ := strconv.ParseInt(result(res, "images.0.bytes-copied"), 10, 64); n < 2<<20 {
			t.Errorf("re-push after GC copied %d bytes; the collected blobs were not uploaded again", n)
		}
		if got := pullIntact(t, ref(under("victim:multi")), ours.Options()...); got < 2<<20 {
			t.Errorf("pulled back %d blob bytes", got)
		}
	})

	t.Run("pushes while garbage-collect runs are refused cleanly or kept whole", func(t *testing.T) {
		type outcome struct {
			ref name.Reference
			err error
		}
		var outcomes []outcome
		stop, done := make(chan struct{}), make(chan struct{})
		first := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				img, err := random.Image(64<<10, 2)
				if err != nil {
					outcomes = append(outcomes, outcome{nil, err})
					return
				}
				r, _ := ours.Ref(netloc, "during-gc/img:"+strconv.Itoa(i))
				outcomes = append(outcomes, outcome{r, remote.Write(r, img, ours.Options()...)})
				if i == 0 {
					close(first)
				}
			}
		}()
		<-first
		res := runAction(t, e, unit0, "garbage-collect", map[string]any{"delete-untagged": true})
		close(stop)
		<-done
		mustComplete(t, res)
		kept, refused := 0, 0
		for _, o := range outcomes {
			if o.err == nil {
				pullIntact(t, o.ref, ours.Options()...)
				kept++
				continue
			}
			var terr *transport.Error
			if !errors.As(o.err, &terr) || terr.StatusCode >= 500 && terr.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("a push during garbage collection failed without a registry answer: %v", o.err)
			}
			refused++
		}
		t.Logf("during garbage-collect: %d pushes kept whole, %d refused", kept, refused)
		// Writes are back once the action ends.
		img, _ := random.Image(1024, 1)
		if err := remote.Write(ref("during-gc/after:1"), img, ours.Options()...); err != nil {
			t.Errorf("push after garbage-collect: %v", err)
		}
	})

	t.Run("stop stays stopped across hooks; start serves again", func(t *testing.T) {
		start := time.Now()
		res := runAction(t, e, unit0, "stop", nil)
		mustComplete(t, res)
		// A clean stop drains and exits; only a hung one waits for the
		// unit's TimeoutStopSec (30 s) and SIGKILL.
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("stop took %s: the registry did not exit on SIGTERM", d.Round(time.Millisecond))
		}
		if err := e.Model.UpdateStatus(context.Background()); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "blocked", "registry service is stopped.")
		if err := e.Model.SetConfig(context.Background(), map[string]any{"log-level": "debug"}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "blocked", "registry service is stopped.")
		// Nothing answers registry requests (a connection must not wake a
		// socket-activated service either).
		hc := &http.Client{Transport: ours.Transport(), Timeout: 2 * time.Second}
		if resp, err := hc.Get("http://" + netloc + "/v2/"); err == nil {
			resp.Body.Close()
			t.Errorf("a stopped registry answered %d", resp.StatusCode)
		}
		r, err := e.Machine(unit0).Systemctl(context.Background(), "is-active", "docker-registry.service")
		if err != nil || r.ExitCode == 0 {
			t.Errorf("docker-registry.service is active after stop: %s", r.Stdout)
		}
		res = push(t, map[string]any{"image": src.Public + "/hello:multi"})
		if !res.Failed() || !strings.Contains(res.Message, "stopped") {
			t.Errorf("push to a stopped registry: %s %q", res.Status, res.Message)
		}

		res = runAction(t, e, unit0, "start", nil)
		mustComplete(t, res)
		wantStatus(t, e, "active", "Ready at "+netloc+" (http).")
		pullIntact(t, ref(under("hello:multi")), ours.Options()...)
	})
}

// ociArchive writes idx as an oci-archive whose index names it refName.
func ociArchive(t *testing.T, idx v1.ImageIndex, refName string) []byte {
	t.Helper()
	b, err := images.OCIArchive(idx, refName)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestActionsPushTLSClientCert pushes into a registry serving TLS from
// easyrsa with basic auth and client certificates required: the charm's
// own client must trust the CA, log in, and present the client
// certificate from the cert-provider relation.
func TestActionsPushTLSClientCert(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	adminPW := randomSecret(t)
	netloc := deployOne(t, e, map[string]any{"auth-basic-password": adminPW})
	ca, err := remotecharm.NewEasyRSA()
	if err != nil {
		t.Fatal(err)
	}
	ca.Attach(e.Model, "easyrsa/0")
	if _, err := e.Model.Relate(ctx, "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"}); err != nil {
		t.Fatal(err)
	}
	// The registry requires client certificates now: status must still
	// see it serve.
	if st := e.Model.Unit(unit0).Status(); st.Name != "active" || !strings.HasPrefix(st.Message, "Ready at "+netloc+" (https).") {
		t.Errorf("status with TLS and client certificates = %s %q", st.Name, st.Message)
	}
	pair, err := tls.X509KeyPair([]byte(ca.ClientCert), []byte(ca.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	worker := deploy.Client{Env: e, CAPEM: []byte(ca.CAPEM), User: "admin", Password: adminPW, ClientCert: &pair}
	ref, err := worker.Ref(netloc, "hello:multi")
	if err != nil {
		t.Fatal(err)
	}
	// The registry really requires the client certificate.
	noCert := worker
	noCert.ClientCert = nil
	if _, err := remote.Head(ref, noCert.Options()...); err == nil {
		t.Fatal("the registry accepted a client without a certificate")
	}

	src := newSourceRegistry(t, e, false)
	hello := src.buildMultiArch("hello:multi", nil)
	keyBody := pemBody(ca.ClientKey)
	res := runAction(t, e, unit0, "push", map[string]any{"image": src.Public + "/hello:multi", "tag": "hello:multi"}, adminPW, keyBody)
	mustComplete(t, res)
	if got := result(res, "raw"); got != "pushed "+netloc+"/hello:multi" {
		t.Errorf("raw = %q", got)
	}
	if got := result(res, "images.0.digest"); got != hello.String() {
		t.Errorf("digest = %s, want %s", got, hello)
	}
	idx, err := remote.Index(ref, worker.Options()...)
	if err != nil {
		t.Fatalf("a worker cannot read the pushed index: %v", err)
	}
	if d, _ := idx.Digest(); d != hello {
		t.Errorf("serving %s, want %s", d, hello)
	}
	if got := strings.Join(platformsOf(t, idx), ","); got != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %s", got)
	}
	pullIntact(t, ref, worker.Options()...)

	// Again: nothing to copy. (The time is logged, not asserted: with
	// basic auth every request costs the registry a bcrypt check.)
	res = runAction(t, e, unit0, "push", map[string]any{"image": src.Public + "/hello:multi", "tag": "hello:multi"}, adminPW, keyBody)
	mustComplete(t, res)
	if got := result(res, "images.0.bytes-copied"); got != "0" {
		t.Errorf("re-push over TLS copied %s bytes", got)
	}
	t.Logf("re-push into TLS + basic auth + client certificate: %ss in the charm's own measure", result(res, "images.0.seconds"))

	res = runAction(t, e, unit0, "images", map[string]any{"details": true}, adminPW, keyBody)
	mustComplete(t, res)
	if !strings.Contains(result(res, "output"), hello.String()) {
		t.Errorf("images over TLS:\n%s", result(res, "output"))
	}
}

// pemBody is the base64 body of a PEM block, joined: what would show if a
// key leaked into a result, whatever its line breaks.
func pemBody(p string) string {
	var body []string
	for _, l := range strings.Split(p, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") && !strings.Contains(l, ":") {
			body = append(body, l)
		}
	}
	if len(body) == 0 {
		return ""
	}
	return body[0] // the first line is enough to recognise and never common
}

// TestActionsBeforeReady runs every action on a unit whose configuration
// was invalid from the start: each fails with the reference's message,
// puts no secret anywhere, and leaves the unit as it was.
func TestActionsBeforeReady(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	adminPW, sourcePW := randomSecret(t), randomSecret(t)
	deployOne(t, e, map[string]any{"auth-basic-password": adminPW, "storage-cache": "sometimes"})
	before := e.Model.Unit(unit0).Status()
	if before.Name != "blocked" || !strings.Contains(before.Message, "storage-cache") {
		t.Fatalf("status = %s %q", before.Name, before.Message)
	}
	for _, a := range []struct {
		name   string
		params map[string]any
	}{
		{"push", map[string]any{"image": "10.213.0.250:5000/hello:multi", "source-username": "u", "source-password": sourcePW}},
		{"push", map[string]any{"image": "/root/hello-oci.tar", "pull": false}},
		{"images", map[string]any{"details": true}},
		{"rmi", map[string]any{"image": "hello:multi"}},
		{"garbage-collect", map[string]any{"delete-untagged": true}},
	} {
		res := runAction(t, e, unit0, a.name, a.params, adminPW, sourcePW)
		if !res.Failed() || res.Message != "Docker Registry charm is not yet ready." {
			t.Errorf("%s before ready: %s %q", a.name, res.Status, res.Message)
		}
		if st := e.Model.Unit(unit0).Status(); st.Name != before.Name || st.Message != before.Message {
			t.Errorf("%s changed the status to %s %q", a.name, st.Name, st.Message)
		}
	}
	// start and stop have no registry to act on either: they must not
	// report a service started or stopped that was never set up.
	for _, a := range []string{"start", "stop"} {
		res := runAction(t, e, unit0, a, nil, adminPW, sourcePW)
		if !res.Failed() || res.Message != "Docker Registry charm is not yet ready." {
			t.Errorf("%s before ready: %s %q %v", a, res.Status, res.Message, flatResults(res))
		}
		if st := e.Model.Unit(unit0).Status(); st.Name != "blocked" || !strings.Contains(st.Message, "storage-cache") {
			t.Errorf("%s changed the status to %s %q", a, st.Name, st.Message)
		}
	}
	r, err := e.Machine(unit0).Systemctl(context.Background(), "is-active", "docker-registry.service")
	if err != nil || r.ExitCode == 0 {
		t.Errorf("a registry runs with an invalid configuration: %s", r.Stdout)
	}
}
