package e2e

// S3 storage for the S3 suite: SeaweedFS (`weed mini`, built by `make
// tools-weed`) on a machine of the test's cloud named "s3", as an
// operator's S3-compatible service on the units' network. The units reach
// it at that machine's address, exactly as the actions suite's units reach
// their source registry; the test process reaches it through the cloud's
// client namespace. Nothing leaves the namespaces the test creates.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/s3"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

const (
	s3Port   = 8333
	s3Region = "us-east-1" // any name: SeaweedFS ignores it, the signature carries it
	// s3Root is storage-s3-rootdirectory in the suite: the registry's
	// keys all live under it.
	s3Root = "registry"
)

// s3Service is one SeaweedFS on its own machine, with one identity and one
// bucket.
type s3Service struct {
	t        testing.TB
	m        *machine.Machine
	p        *machine.Process
	Endpoint string // http://addr:8333, what storage-s3-regionendpoint gets
	Bucket   string
	// AccessKey and SecretKey are the only identity SeaweedFS accepts;
	// never print them.
	AccessKey, SecretKey string
	client               *s3.S3
}

// newS3 starts weed mini on a new machine "s3" with a fresh data dir, an
// identity with generated keys and a bucket, waits until the bucket
// answers an authenticated listing, and stops it when the test ends.
func newS3(t testing.TB, e *deploy.Env) *s3Service {
	t.Helper()
	tools := os.Getenv("TOOLS_DIR")
	if tools == "" {
		tools = filepath.Join(deploy.RepoRoot(), ".cache", "tools")
	}
	if reason := os.Getenv("S3_SUITE_SKIP"); reason != "" && !fileExists(filepath.Join(tools, "weed")) {
		// .ci/run had no time left to build SeaweedFS (~10 min from cold).
		t.Skipf("S3 suite skipped: %s", reason)
	}
	toolPath(t, "weed") // fail early, with where to get it
	m, err := e.Cloud.NewMachine("s3")
	if err != nil {
		t.Fatalf("cannot create the s3 machine: %v", err)
	}
	s := &s3Service{
		t: t, m: m,
		Endpoint:  fmt.Sprintf("http://%s", net.JoinHostPort(m.Addr().String(), fmt.Sprint(s3Port))),
		Bucket:    "registry-" + fmt.Sprintf("%x", randomBytes(t, 4)),
		AccessKey: fmt.Sprintf("AK%X", randomBytes(t, 9)),
		SecretKey: randomSecret(t),
	}
	identities, err := json.Marshal(map[string]any{"identities": []any{map[string]any{
		"name":        "registry",
		"credentials": []any{map[string]string{"accessKey": s.AccessKey, "secretKey": s.SecretKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFile("/etc/seaweedfs/s3.json", identities, 0o600); err != nil {
		t.Fatal(err)
	}
	s.client = newS3Client(t, e, s)
	t.Cleanup(s.Stop)
	s.start(t)
	return s
}

// start runs weed mini on the machine (again, after Stop: same data) and
// waits until the bucket answers an authenticated listing.
func (s *s3Service) start(t testing.TB) {
	t.Helper()
	// weed puts its local gRPC sockets at fixed names in /tmp, which
	// machines share with the host and each other: it gets a /tmp of its
	// own (unshare execs, so the PID is weed's). The binary is opened
	// before that mount, which hides it when the checkout (and so the
	// tools cache) is under /tmp, and run from the open file. Bound to the
	// machine's own address; telemetry, WebDAV and the admin UI off.
	addr := s.m.Addr().String()
	script := `exec 3<"$0" && mount -t tmpfs -o mode=1777 tmpfs /tmp && mkdir -p /srv/s3 && exec /proc/self/fd/3 "$@"`
	args := []string{"-m", "sh", "-c", script, toolPath(t, "weed"), "mini",
		"-dir=/srv/s3", "-ip=" + addr, "-ip.bind=" + addr,
		"-s3.config=/etc/seaweedfs/s3.json", "-bucket=" + s.Bucket,
		"-master.telemetry=false", "-webdav=false", "-admin.ui=false",
	}
	p, err := s.m.Command(context.Background(), "unshare", args...).Start()
	if err != nil {
		t.Fatalf("cannot start weed: %v", err)
	}
	s.p = p
	start := time.Now()
	deadline := start.Add(60 * time.Second)
	for {
		_, err := s.client.ListObjectsV2(&s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), MaxKeys: aws.Int64(1)})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("weed never served bucket %s at %s: %v\n%s", s.Bucket, s.Endpoint, err, s.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("weed serves bucket %s at %s (ready in %s)", s.Bucket, s.Endpoint, time.Since(start).Round(time.Millisecond))
}

// Stop stops weed: an S3 outage.
func (s *s3Service) Stop() {
	if s.p != nil {
		s.p.Stop(10 * time.Second)
		s.p = nil
	}
}

// Restart ends an outage: weed again, on the same data.
func (s *s3Service) Restart(t testing.TB) { s.start(t) }

// newS3Client is the test's own S3 client, dialling through the cloud.
func newS3Client(t testing.TB, e *deploy.Env, s *s3Service) *s3.S3 {
	t.Helper()
	sess, err := session.NewSession(&aws.Config{
		Endpoint:         aws.String(s.Endpoint),
		Region:           aws.String(s3Region),
		S3ForcePathStyle: aws.Bool(true),
		DisableSSL:       aws.Bool(true),
		Credentials:      credentials.NewStaticCredentials(s.AccessKey, s.SecretKey, ""),
		HTTPClient: &http.Client{
			Transport: &http.Transport{DialContext: e.Cloud.DialContext, Proxy: nil},
			Timeout:   10 * time.Second,
		},
		MaxRetries: aws.Int(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s3.New(sess)
}

// log is weed's output with the keys masked, for failure messages.
func (s *s3Service) log() string {
	out := s.p.Output()
	for _, k := range []string{s.SecretKey, s.AccessKey} {
		out = strings.ReplaceAll(out, k, "<redacted>")
	}
	if len(out) > 8000 {
		out = "…" + out[len(out)-8000:]
	}
	return out
}

// Config is the charm configuration that stores the registry in this
// bucket, as an operator sets it (`juju config docker-registry ...`).
func (s *s3Service) Config() map[string]any {
	return map[string]any{
		"storage-s3-regionendpoint": s.Endpoint,
		"storage-s3-region":         s3Region,
		"storage-s3-bucket":         s.Bucket,
		"storage-s3-accesskey":      s.AccessKey,
		"storage-s3-secretkey":      s.SecretKey,
		"storage-s3-rootdirectory":  "/" + s3Root,
		"storage-s3-secure":         false,
		"storage-s3-forcepathstyle": true,
	}
}

// Objects lists the bucket's keys under prefix with their sizes.
func (s *s3Service) Objects(prefix string) map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	err := s.client.ListObjectsV2Pages(&s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)},
		func(page *s3.ListObjectsV2Output, _ bool) bool {
			for _, o := range page.Contents {
				out[aws.StringValue(o.Key)] = aws.Int64Value(o.Size)
			}
			return true
		})
	if err != nil {
		s.t.Fatalf("cannot list bucket %s: %v", s.Bucket, err)
	}
	return out
}

// BlobKey is where distribution's s3 driver keeps a blob's data in the
// bucket (registry/storage/paths.go under storage-s3-rootdirectory).
func BlobKey(digest string) string {
	algo, hex, _ := strings.Cut(digest, ":")
	return fmt.Sprintf("%s/docker/registry/v2/blobs/%s/%s/%s/data", s3Root, algo, hex[:2], hex)
}

// Blobs lists the blobs in the bucket: digest → size.
func (s *s3Service) Blobs() map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	for k, size := range s.Objects(s3Root + "/docker/registry/v2/blobs/") {
		parts := strings.Split(k, "/")
		// registry/docker/registry/v2/blobs/sha256/ab/<hex>/data
		if len(parts) == 9 && parts[8] == "data" {
			out[parts[5]+":"+parts[7]] = size
		}
	}
	return out
}

// wantCollected checks what clients see after garbage-collect took
// <prefix>/victim:1 and kept <prefix>/keep:1: the kept image pulls
// intact, the victim is no longer served, and the registry takes writes
// again, uploading what the collection deleted.
func wantCollected(t *testing.T, ref func(string) name.Reference, c deploy.Client, prefix string, victim v1.Image) {
	t.Helper()
	pullIntact(t, ref(prefix+"/keep:1"), c.Options()...)
	if _, err := remote.Head(ref(prefix+"/victim:1"), c.Options()...); err == nil {
		t.Errorf("%s/victim:1 still served after rmi and garbage-collect", prefix)
	}
	if err := remote.Write(ref(prefix+"/victim:2"), victim, c.Options()...); err != nil {
		t.Fatalf("push after garbage-collect: %v", err)
	}
	pullIntact(t, ref(prefix+"/victim:2"), c.Options()...)
}
