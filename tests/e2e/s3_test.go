package e2e

// The packed charm with S3 storage against a real S3 service (SeaweedFS on
// a machine of the test's cloud, see s3_helpers_test.go), configured the
// way an operator does it: storage-s3-* options. Images pushed land in the
// bucket and only there; garbage-collect frees the bucket; two units on one
// bucket are active/active behind haproxy, an upload may cross units; a
// wrong key or a dead endpoint is named in status, never quoted.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	remotecharm "github.com/canonical/docker-registry-charm/internal/testing/remote"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// TestS3Storage is one unit on S3: push and pull back, the blobs in the
// bucket and not on the unit's disk, then rmi + garbage-collect (dry run,
// then for real) on the bucket.
func TestS3Storage(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	s := newS3(t, e)
	config := s.Config()
	config["storage-delete"] = true
	netloc := deployOne(t, e, config)
	wantStatus(t, e, "active", "Ready at "+netloc+" (http).")
	c := deploy.Client{Env: e}
	ref := func(repoTag string) name.Reference {
		r, err := c.Ref(netloc, repoTag)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	keep, keepDigest := s3Image(t)
	victim, victimDigest := s3Image(t)

	t.Run("push lands in the bucket and pulls back intact", func(t *testing.T) {
		for repo, img := range map[string]v1.Image{"s3/keep:1": keep, "s3/victim:1": victim} {
			if err := remote.Write(ref(repo), img, c.Options()...); err != nil {
				t.Fatalf("push %s: %v\n%s", repo, err, s3ServiceLog(e, unit0, s))
			}
		}
		if got, err := relPullDigest(c, netloc, "s3/keep:1"); err != nil || got != keepDigest {
			t.Fatalf("pulled s3/keep:1 as %s (%v), pushed %s", got, err, keepDigest)
		}
		pullIntact(t, ref("s3/keep:1"), c.Options()...)
		pullIntact(t, ref("s3/victim:1"), c.Options()...)

		blobs := s.Blobs()
		for _, img := range []v1.Image{keep, victim} {
			for d, size := range s3ImageBlobs(t, img) {
				if got, ok := blobs[d]; !ok || got != size {
					t.Errorf("blob %s: in the bucket %t with %d bytes, pushed %d bytes", d, ok, got, size)
				}
			}
		}
		if n := diskUsage(t, e.Machine(unit0).Path("/srv/registry")); n != 0 {
			t.Errorf("the unit wrote %d bytes under /srv/registry with S3 storage", n)
		}
	})

	t.Run("garbage-collect frees the bucket, dry run first", func(t *testing.T) {
		res := runAction(t, e, unit0, "rmi", map[string]any{"image": "s3/victim:1"}, s.SecretKey)
		mustComplete(t, res)
		if result(res, "deleted.0.digest") != victimDigest {
			t.Fatalf("rmi reported %v, want %s deleted", flatResults(res), victimDigest)
		}
		victimBlobs := s3ImageBlobs(t, victim)
		var victimBytes int64
		for _, size := range victimBlobs {
			victimBytes += size
		}

		before := s.Objects("")
		dry := runAction(t, e, unit0, "garbage-collect", map[string]any{"dry-run": true}, s.SecretKey, s.AccessKey)
		mustComplete(t, dry)
		if got := result(dry, "bytes-freed"); got != strconv.FormatInt(victimBytes, 10) {
			t.Errorf("dry run reports %s bytes to free, the victim's blobs are %d bytes", got, victimBytes)
		}
		if got := result(dry, "blobs-deleted"); got != strconv.Itoa(len(victimBlobs)) {
			t.Errorf("dry run reports %s blobs, the victim has %d", got, len(victimBlobs))
		}
		if after := s.Objects(""); !sameKeys(before, after) {
			t.Errorf("a dry run changed the bucket: %d objects → %d", len(before), len(after))
		}

		start := time.Now()
		res = runAction(t, e, unit0, "garbage-collect", nil, s.SecretKey, s.AccessKey)
		mustComplete(t, res)
		t.Logf("garbage-collect on S3 in %s: %v", time.Since(start).Round(time.Millisecond), flatResults(res))
		if got := result(res, "bytes-freed"); got != strconv.FormatInt(victimBytes, 10) {
			t.Errorf("bytes-freed = %s, the victim's blobs are %d bytes", got, victimBytes)
		}
		blobs := s.Blobs()
		for d := range victimBlobs {
			if _, ok := blobs[d]; ok {
				t.Errorf("the victim's blob %s is still in the bucket", d)
			}
		}
		for d := range s3ImageBlobs(t, keep) {
			if _, ok := blobs[d]; !ok {
				t.Errorf("the kept image's blob %s went from the bucket", d)
			}
		}
		wantCollected(t, ref, c, "s3", victim)
	})
	assertNoSecretLeaked(t, e, unit0, s)
}

// TestS3ActiveActive puts two units on one bucket behind haproxy: the
// leader's stanza makes both primary, an upload begun on one unit
// finishes on the other (the units share the http secret and the
// storage), pushes through the proxy reach both units and what one unit
// took in the other serves.
func TestS3ActiveActive(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	const unit1 = "docker-registry/1"
	s := newS3(t, e)
	config := s.Config()
	config["storage-delete"] = true
	if err := e.Model.SetConfig(ctx, config); err != nil {
		t.Fatal(err)
	}
	if err := e.Model.Deploy(ctx, 2); err != nil {
		t.Fatalf("deploy: %v\n%s", err, s3ServiceLog(e, unit0, s))
	}
	addr0 := net.JoinHostPort(e.Machine(unit0).Addr().String(), "5000")
	addr1 := net.JoinHostPort(e.Machine(unit1).Addr().String(), "5000")
	c := deploy.Client{Env: e}

	t.Run("an upload crosses units", func(t *testing.T) {
		blob := randomBytes(t, crossBlobSize)
		digest := s3CrossUnitUpload(t, e, addr0, addr1, "s3/cross", blob)
		for _, addr := range []string{addr0, addr1} {
			resp, err := s3HTTP(e).Head("http://" + addr + "/v2/s3/cross/blobs/" + digest)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("HEAD the blob on %s: %v %v", addr, err, resp)
			}
		}
		if got, ok := s.Blobs()[digest]; !ok || got != int64(len(blob)) {
			t.Errorf("the cross-unit blob is in the bucket: %t, %d bytes", ok, got)
		}
	})

	t.Run("push through one unit, pull through the other", func(t *testing.T) {
		img, digest := s3Image(t)
		if err := relPush(c, addr0, "s3/app:v1", img); err != nil {
			t.Fatalf("push through %s: %v", unit0, err)
		}
		if got, err := relPullDigest(c, addr1, "s3/app:v1"); err != nil || got != digest {
			t.Fatalf("pull through %s: %s %v, pushed %s", unit1, got, err, digest)
		}
		ref, _ := c.Ref(addr1, "s3/app:v1")
		pullIntact(t, ref, c.Options()...)
	})

	t.Run("haproxy balances over both units", func(t *testing.T) {
		px := relHaproxy(t, e, "haproxy-0")
		pxAddr := px.m.Addr().String()
		proxied := net.JoinHostPort(pxAddr, "5000")
		web, err := e.Model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0", Address: pxAddr})
		if err != nil {
			t.Fatal(err)
		}
		servers := relStanzaServers(t, e.Model.RelationData(web, unit0)["services"])
		if len(servers) != 2 {
			t.Fatalf("stanza servers = %v, want both units", servers)
		}
		for _, srv := range servers {
			if strings.Contains(srv[3], "backup") {
				t.Errorf("server %s is a backup on shared S3 storage: %q", srv[0], srv[3])
			}
		}
		relWantProxied(t, e, unit0, unit1)
		cfg, err := remotecharm.HaproxyConfig(relWebsiteBags(e, web, unit0, unit1))
		if err != nil {
			t.Fatal(err)
		}
		if err := px.start(ctx, cfg, nil); err != nil {
			t.Fatal(err)
		}
		if err := px.waitChecks(ctx, "docker-registry", "docker-registry-0", "docker-registry-1"); err != nil {
			t.Fatalf("%v\nhaproxy.cfg:\n%s\nhaproxy:\n%s", err, cfg, px.log())
		}
		before, err := px.stat("docker-registry", "stot")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			img, digest := s3Image(t)
			repo := fmt.Sprintf("s3/proxied:%d", i)
			if err := relPush(c, proxied, repo, img); err != nil {
				t.Fatalf("push through haproxy: %v\n%s", err, px.log())
			}
			for _, addr := range []string{addr0, addr1} {
				if got, err := relPullDigest(c, addr, repo); err != nil || got != digest {
					t.Errorf("%s from %s: %s %v, pushed %s", repo, addr, got, err, digest)
				}
			}
		}
		after, err := px.stat("docker-registry", "stot")
		if err != nil {
			t.Fatal(err)
		}
		for _, srv := range []string{"docker-registry-0", "docker-registry-1"} {
			b, _ := strconv.Atoi(before[srv])
			a, _ := strconv.Atoi(after[srv])
			if a <= b {
				t.Errorf("haproxy sent no push connection to %s (sessions %d → %d): not active/active", srv, b, a)
			}
		}
	})

	// garbage-collect holds writes on its own unit only: with several
	// units on one bucket the operator makes every unit read-only for
	// the sweep (README), so no upload through another unit can lose a
	// blob the sweep did not see referenced.
	t.Run("garbage-collect with every unit read-only", func(t *testing.T) {
		img, digest := s3Image(t)
		if err := relPush(c, addr1, "s3/old:1", img); err != nil {
			t.Fatal(err)
		}
		mustComplete(t, runAction(t, e, unit1, "rmi", map[string]any{"image": "s3/old:1"}, s.SecretKey))
		// While the other unit takes pushes, the sweep is refused with
		// what to do; nothing is deleted.
		refused := runAction(t, e, unit0, "garbage-collect", nil, s.SecretKey)
		if !refused.Failed() || !strings.Contains(refused.Message, unit1) ||
			!strings.Contains(refused.Message, "storage-read-only=true") {
			t.Fatalf("garbage-collect with %s accepting pushes: %s %q", unit1, refused.Status, refused.Message)
		}
		if _, ok := s.Blobs()[digest]; !ok {
			t.Fatal("a refused garbage-collect deleted a blob")
		}
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-read-only": true}); err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{addr0, addr1} {
			other, _ := s3Image(t)
			if err := relPush(c, addr, "s3/refused:1", other); err == nil {
				t.Errorf("%s took a push while storage-read-only=true", addr)
			}
		}
		res := runAction(t, e, unit0, "garbage-collect", nil, s.SecretKey)
		mustComplete(t, res)
		// The blob uploaded across units is in no manifest: it goes too.
		want := int64(crossBlobSize)
		for _, size := range s3ImageBlobs(t, img) {
			want += size
		}
		if got := result(res, "bytes-freed"); got != strconv.FormatInt(want, 10) {
			t.Errorf("bytes-freed = %s, the removed image's blobs and the unreferenced one are %d bytes", got, want)
		}
		if _, ok := s.Blobs()[digest]; ok {
			t.Error("the removed image's manifest blob is still in the bucket")
		}
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-read-only": false}); err != nil {
			t.Fatal(err)
		}
		if got, err := relPullDigest(c, addr0, "s3/app:v1"); err != nil || got == "" {
			t.Errorf("s3/app:v1 after garbage-collect: %v", err)
		}
		if err := relPush(c, addr1, "s3/old:2", img); err != nil {
			t.Errorf("push after read-only is lifted: %v", err)
		}
	})
	assertNoSecretLeaked(t, e, unit0, s)
	assertNoSecretLeaked(t, e, unit1, s)
}

// crossBlobSize is the size of the blob uploaded across units.
const crossBlobSize = 3 << 20

// s3Image is a linux/amd64 image of three random 300 KiB layers: no two
// share a blob.
func s3Image(t testing.TB) (v1.Image, string) {
	t.Helper()
	img, err := random.Image(300<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return img, d.String()
}

// s3ImageBlobs are every blob the registry stores for img: its manifest,
// config and layers, digest → size.
func s3ImageBlobs(t testing.TB, img v1.Image) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	out[d.String()] = int64(len(raw))
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		out[l.Digest.String()] = l.Size
	}
	return out
}

func sameKeys(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// s3HTTP is a plain-http client into the cloud that does not follow
// redirects (a registry answers uploads with Location).
func s3HTTP(e *deploy.Env) *http.Client {
	return &http.Client{
		Transport:     deploy.Client{Env: e}.Transport(),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// s3CrossUnitUpload uploads blob to repo in three requests: the upload
// starts on from (POST), its first half goes to to (PATCH), and from
// completes it (PUT). Only units that share the http secret (which signs
// the upload's state) and the storage can do that. It returns the digest.
func s3CrossUnitUpload(t testing.TB, e *deploy.Env, from, to, repo string, blob []byte) string {
	t.Helper()
	hc := s3HTTP(e)
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	do := func(method, host, loc string, body []byte, q url.Values, want int) string {
		t.Helper()
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		u.Scheme, u.Host = "http", host
		if q != nil {
			v := u.Query()
			for k, x := range q {
				v[k] = x
			}
			u.RawQuery = v.Encode()
		}
		req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s on %s: %v", method, host, err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		if resp.StatusCode != want {
			t.Fatalf("%s %s on %s: %s, want %d: %s", method, u.Path, host, resp.Status, want, msg)
		}
		return resp.Header.Get("Location")
	}
	half := len(blob) / 2
	loc := do(http.MethodPost, from, "/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	loc = do(http.MethodPatch, to, loc, blob[:half], nil, http.StatusAccepted)
	do(http.MethodPut, from, loc, blob[half:], url.Values{"digest": {digest}}, http.StatusCreated)
	return digest
}

// s3ServiceLog is the unit's registry log, for failure messages (the
// registry never logs its S3 keys; masked anyway).
func s3ServiceLog(e *deploy.Env, unit string, s *s3Service) string {
	out := e.Machine(unit).ServiceLog("docker-registry.service")
	for _, k := range []string{s.SecretKey, s.AccessKey} {
		out = strings.ReplaceAll(out, k, "<redacted>")
	}
	return out
}

// assertNoSecretLeaked checks that the S3 secret key shows nowhere an
// operator reads without root on the unit: status, juju-log, the
// registry's service log. (config.yml must hold it: root-only, 0600.)
func assertNoSecretLeaked(t testing.TB, e *deploy.Env, unit string, s *s3Service) {
	t.Helper()
	if st := e.Model.Unit(unit).Status(); strings.Contains(st.Message, s.SecretKey) {
		t.Errorf("%s: the S3 secret key appears in status", unit)
	}
	for n, l := range e.Model.Unit(unit).Logs() {
		if strings.Contains(l.Message, s.SecretKey) {
			t.Errorf("%s: the S3 secret key appears in juju-log line %d (%s)", unit, n, l.Hook)
		}
	}
	if strings.Contains(e.Machine(unit).ServiceLog("docker-registry.service"), s.SecretKey) {
		t.Errorf("%s: the S3 secret key appears in the registry's log", unit)
	}
}

// TestS3BadInput: a secret key the bucket refuses, then an endpoint
// nothing answers on. Each blocks with a status naming the options to
// fix, the registry keeps serving its last good configuration (the image
// pushed before still pulls), and no key shows in status, juju-log or the
// registry's log. Put right, the unit is Ready on the new settings.
// waitStatus runs update-status every two seconds until the unit shows
// status name with a message that starts with msg.
func waitStatus(t *testing.T, e *deploy.Env, within time.Duration, name, msg string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if err := e.Model.UpdateStatus(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := e.Model.Unit(unit0).Status()
		if st.Name == name && strings.HasPrefix(st.Message, msg) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the unit is %s %q, want %s %q", within, st.Name, st.Message, name, msg)
		}
		time.Sleep(2 * time.Second)
	}
}

func TestS3BadInput(t *testing.T) {
	t.Parallel()
	e := deploy.New(t)
	ctx := context.Background()
	s := newS3(t, e)
	netloc := deployOne(t, e, s.Config())
	ready := "Ready at " + netloc + " (http)."
	wantStatus(t, e, "active", ready)
	c := deploy.Client{Env: e}
	img, digest := s3Image(t)
	if err := relPush(c, netloc, "s3/app:1", img); err != nil {
		t.Fatal(err)
	}
	good, err := e.Machine(unit0).ReadFile("/etc/docker/registry/config.yml")
	if err != nil {
		t.Fatal(err)
	}
	stillServes := func(t *testing.T) {
		t.Helper()
		if cfg, _ := e.Machine(unit0).ReadFile("/etc/docker/registry/config.yml"); !bytes.Equal(cfg, good) {
			t.Error("config.yml changed: the registry no longer runs its last good configuration")
		}
		if got, err := relPullDigest(c, netloc, "s3/app:1"); err != nil || got != digest {
			t.Errorf("the image pushed before does not pull: %s %v", got, err)
		}
	}

	t.Run("a secret key the bucket refuses", func(t *testing.T) {
		wrong := randomSecret(t)
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-s3-secretkey": wrong}); err != nil {
			t.Fatal(err)
		}
		want := "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey (serving the previous configuration)"
		wantStatus(t, e, "blocked", want)
		stillServes(t)
		if err := e.Model.UpdateStatus(ctx); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "blocked", want)
		// The debug log says what S3 answered, never with a key.
		found := false
		for _, l := range e.Model.Unit(unit0).Logs() {
			if strings.Contains(l.Message, wrong) {
				t.Errorf("the wrong secret key appears in juju-log (%s)", l.Hook)
			}
			found = found || strings.Contains(l.Message, "SignatureDoesNotMatch")
		}
		if !found {
			t.Error("juju-log does not say what S3 answered")
		}
		if strings.Contains(e.Machine(unit0).ServiceLog("docker-registry.service"), wrong) {
			t.Error("the wrong secret key appears in the registry's log")
		}
	})

	t.Run("an endpoint nothing answers on", func(t *testing.T) {
		dead := fmt.Sprintf("http://%s:1", s.m.Addr()) // the S3 machine, a port nothing listens on
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-s3-secretkey": s.SecretKey, "storage-s3-regionendpoint": dead}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "blocked", "Cannot reach S3 storage: check storage-s3-regionendpoint (see juju debug-log) (serving the previous configuration)")
		stillServes(t)
	})

	// Storage that goes away under a good configuration: the registry's
	// health check fails (three checks 10 s apart) and its API answers
	// 503; update-status says so, and comes back when S3 does.
	t.Run("an outage after a good configuration", func(t *testing.T) {
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-s3-regionendpoint": s.Endpoint}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "active", ready)
		s.Stop()
		outage := "Registry storage fails its health check (storagedriver_s3)"
		waitStatus(t, e, 90*time.Second, "blocked", outage)
		s.Restart(t)
		waitStatus(t, e, 60*time.Second, "active", ready)
		stillServes(t)
	})

	// Storage whose network drops packets never refuses anything: the
	// upstream check waits on it forever. The registry's own deadline
	// check (10 s, three times) fails instead, and new requests get a
	// 503 at once rather than hanging.
	t.Run("storage that stops answering", func(t *testing.T) {
		if err := s.m.SetLink(false); err != nil {
			t.Fatal(err)
		}
		defer s.m.SetLink(true)
		waitStatus(t, e, 120*time.Second, "blocked", "Registry storage fails its health check (storagedriver_s3_timeout)")
		start := time.Now()
		if _, err := relPullDigest(c, netloc, "s3/app:1"); err == nil {
			t.Error("a pull succeeded while the storage was unreachable")
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("a pull took %s to fail while the storage was unreachable: it hung", took)
		}
		if err := s.m.SetLink(true); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, e, 90*time.Second, "active", ready)
		stillServes(t)
	})

	t.Run("put right, the new settings serve", func(t *testing.T) {
		// A new root directory: a storage change the registry must take.
		if err := e.Model.SetConfig(ctx, map[string]any{"storage-s3-regionendpoint": s.Endpoint, "storage-s3-rootdirectory": "/" + s3Root + "-2"}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, e, "active", ready)
		if _, err := relPullDigest(c, netloc, "s3/app:1"); err == nil {
			t.Error("s3/app:1 still pulls from an empty root directory: the new settings do not serve")
		}
		img2, digest2 := s3Image(t)
		if err := relPush(c, netloc, "s3/app:2", img2); err != nil {
			t.Fatal(err)
		}
		if got, err := relPullDigest(c, netloc, "s3/app:2"); err != nil || got != digest2 {
			t.Errorf("pull after the fix: %s %v", got, err)
		}
		if len(s.Objects(s3Root+"-2/")) == 0 {
			t.Error("nothing stored under the new root directory")
		}
	})
	assertNoSecretLeaked(t, e, unit0, s)
}
