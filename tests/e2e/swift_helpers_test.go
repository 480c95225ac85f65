package e2e

// Swift storage for the Swift suite: ncw/swift's in-process test server
// (swifttest) in the test process, which the units reach at the cloud's
// client address. swifttest listens on loopback in the host's namespace;
// a relay listens in the cloud's client namespace (Cloud.Listen) and
// forwards each connection there. swifttest hands out storage URLs built
// from its URL field, which is set to the relay's address so that the
// units' requests after login come back through it. Nothing leaves the
// namespaces the test creates.

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ncw/swift/v2"
	"github.com/ncw/swift/v2/swifttest"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// swifttest's one account: its password is its name, so the suite's
// password checks use a wrong password of their own.
const swiftUser = "swifttest"

type swiftService struct {
	t         testing.TB
	AuthURL   string // what storage-swift-authurl gets
	Container string
	conn      *swift.Connection // the test's own client, through the cloud
}

func newSwift(t testing.TB, e *deploy.Env) *swiftService {
	t.Helper()
	srv, err := swifttest.NewSwiftServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := e.Cloud.Listen("tcp", net.JoinHostPort(e.Cloud.ClientAddr().String(), "0"))
	if err != nil {
		srv.Close()
		t.Fatalf("cannot listen in the cloud: %v", err)
	}
	relayed := "http://" + ln.Addr().String()
	srv.URL = relayed + "/v1" // before any request: the storage URL units are given
	r := &relay{ln: ln, backend: srv.Listener.Addr().String(), conns: map[net.Conn]bool{}}
	go r.serve()
	t.Cleanup(func() {
		r.close() // the registry keeps idle connections: cut them
		srv.Close()
	})
	s := &swiftService{
		t:         t,
		AuthURL:   relayed + "/v1.0", // swifttest's v1 auth endpoint
		Container: "registry-" + strings.ToLower(randomSecret(t)[:8]),
	}
	s.conn = &swift.Connection{
		AuthUrl: s.AuthURL, AuthVersion: 1, UserName: swiftUser, ApiKey: swiftUser,
		Transport: &http.Transport{DialContext: e.Cloud.DialContext, Proxy: nil},
	}
	return s
}

// relay forwards every connection ln accepts to backend until closed.
type relay struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

func (r *relay) serve() {
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", r.backend)
		if err != nil {
			in.Close()
			continue
		}
		r.mu.Lock()
		r.conns[in], r.conns[out] = true, true
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(in, out)
		go r.pipe(out, in)
	}
}

// pipe copies one direction; the end of either closes both.
func (r *relay) pipe(dst, src net.Conn) {
	defer r.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// close stops accepting, cuts every open connection and waits for the
// copies to end.
func (r *relay) close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// Config is the charm configuration that stores the registry in this
// container, as an operator sets it.
func (s *swiftService) Config() map[string]any {
	return map[string]any{
		"storage-swift-authurl":   s.AuthURL,
		"storage-swift-username":  swiftUser,
		"storage-swift-password":  swiftUser,
		"storage-swift-container": s.Container,
	}
}

// Objects lists the container under prefix: name → size as listed.
func (s *swiftService) Objects(prefix string) map[string]int64 {
	s.t.Helper()
	objs, err := s.conn.ObjectsAll(context.Background(), s.Container, &swift.ObjectsOpts{Prefix: prefix})
	if err != nil {
		s.t.Fatalf("cannot list container %s: %v", s.Container, err)
	}
	out := map[string]int64{}
	for _, o := range objs {
		out[o.Name] = o.Bytes
	}
	return out
}

// swiftBlobObject is where the swift driver keeps a blob's data.
func swiftBlobObject(digest string) string {
	algo, hex, _ := strings.Cut(digest, ":")
	return "files/docker/registry/v2/blobs/" + algo + "/" + hex[:2] + "/" + hex + "/data"
}

// Blob says whether the blob is stored, its size, and the segments it
// is made of (none for a plain object).
func (s *swiftService) Blob(digest string) (ok bool, size int64, segments []string) {
	s.t.Helper()
	ctx := context.Background()
	info, h, err := s.conn.Object(ctx, s.Container, swiftBlobObject(digest))
	if err == swift.ObjectNotFound {
		return false, 0, nil
	}
	if err != nil {
		s.t.Fatalf("HEAD blob %s: %v", digest, err)
	}
	if h.IsLargeObjectSLO() {
		_, segs, err := s.conn.LargeObjectGetSegments(ctx, s.Container, swiftBlobObject(digest))
		if err != nil {
			s.t.Fatalf("segments of blob %s: %v", digest, err)
		}
		for _, seg := range segs {
			segments = append(segments, seg.Name)
		}
	}
	return true, info.Bytes, segments
}
