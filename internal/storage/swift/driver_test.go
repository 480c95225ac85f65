package swift

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/testsuites"
	"github.com/ncw/swift/v2"
	"github.com/ncw/swift/v2/swifttest"
)

// TestMain runs distribution's suite in short mode unless
// SWIFT_SUITE_FULL=1: its long mode streams a 5 GiB object, which
// swifttest would hold in memory. Short mode only shrinks that test
// and two concurrency tests (10 MiB instead of 128 MiB, 8 streams
// instead of 32).
func TestMain(m *testing.M) {
	flag.Parse()
	if os.Getenv("SWIFT_SUITE_FULL") == "" {
		_ = flag.Set("test.short", "true")
	}
	os.Exit(m.Run())
}

// swifttest's one account; its password is its name.
const testUser = "swifttest"

func newServer(t *testing.T) *swifttest.SwiftServer {
	t.Helper()
	srv, err := swifttest.NewSwiftServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func newTestDriver(t *testing.T, srv *swifttest.SwiftServer, chunk int) (*Driver, *driver) {
	t.Helper()
	d := New(Params{
		AuthURL: srv.AuthURL, AuthVersion: 1, Username: testUser, Password: testUser,
		Container: "registry", ChunkSize: chunk,
	})
	if err := d.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, d.StorageDriver.(*driver)
}

// TestDriverSuite is distribution's own storage driver suite against
// swifttest, with the default chunk (content up to 20 MiB stays one
// object) and with a chunk of 3 MiB + 1 byte, so that the suite's 10 MiB
// streams become large objects whose last segment is short and is taken
// back on every resume.
func TestDriverSuite(t *testing.T) {
	for _, chunk := range []int{defaultChunkSize, 3<<20 + 1} {
		t.Run(fmt.Sprintf("chunk=%d", chunk), func(t *testing.T) {
			srv := newServer(t)
			testsuites.Driver(t, func() (storagedriver.StorageDriver, error) {
				d, _ := newTestDriver(t, srv, chunk)
				return d, nil
			}, false)
		})
	}
}

// objectNames lists the whole container, bypassing the driver.
func objectNames(t *testing.T, d *driver, prefix string) []string {
	t.Helper()
	names, err := d.conn.ObjectNamesAll(context.Background(), d.container, &swift.ObjectsOpts{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// upload writes data to path in pieces, closing and resuming the writer
// after each, as distribution's PATCH requests do; it commits at the end.
func upload(t *testing.T, d storagedriver.StorageDriver, path string, data []byte, piece int) {
	t.Helper()
	ctx := context.Background()
	for off := 0; off < len(data); off += piece {
		w, err := d.Writer(ctx, path, off > 0)
		if err != nil {
			t.Fatalf("writer at %d: %v", off, err)
		}
		if w.Size() != int64(off) {
			t.Fatalf("resumed writer has size %d, want %d", w.Size(), off)
		}
		if _, err := w.Write(data[off:min(off+piece, len(data))]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w, err := d.Writer(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestResumedUploadKeepsSegmentsFull: 40 requests of 700 bytes with a
// 4 KiB chunk must end as 7 segments (6 full and one short), not 40, and
// leave no segment that the manifest does not name. Without taking back
// the short tail each request would add a segment and a client sending
// small chunks would hit Swift's 1000-segment limit.
func TestResumedUploadKeepsSegmentsFull(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 4096)
	data := randomBytes(t, 40*700)
	upload(t, d, "/up/data", data, 700)

	got, err := d.GetContent(context.Background(), "/up/data")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content differs (err %v)", err)
	}
	segs, err := inner.segments(context.Background(), objectName("/up/data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 7 {
		t.Errorf("%d segments, want 7", len(segs))
	}
	for _, s := range segs[:len(segs)-1] {
		if s.Size != 4096 {
			t.Errorf("segment %s has %d bytes, want a full chunk", s.Name, s.Size)
		}
	}
	if stored := objectNames(t, inner, segmentsRoot+"/"); len(stored) != len(segs) {
		t.Errorf("%d segment objects stored, the manifest names %d: orphans", len(stored), len(segs))
	}
}

// TestReaderOffsetsInLargeObject reads a segmented object from every
// kind of offset: inside the first segment, on a boundary, inside the
// last, one before the end and at the end.
func TestReaderOffsetsInLargeObject(t *testing.T) {
	srv := newServer(t)
	d, _ := newTestDriver(t, srv, 1024)
	data := randomBytes(t, 5*1024+100)
	upload(t, d, "/blob", data, len(data))
	for _, off := range []int{0, 1, 1023, 1024, 1025, 3000, 5 * 1024, 5*1024 + 99, len(data)} {
		r, err := d.Reader(context.Background(), "/blob", int64(off))
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data[off:]) {
			t.Errorf("offset %d: read %d bytes (err %v), want %d", off, len(got), err, len(data)-off)
		}
	}
	fi, err := d.Stat(context.Background(), "/blob")
	if err != nil || fi.Size() != int64(len(data)) {
		t.Errorf("stat: %v, %v; want size %d", fi, err, len(data))
	}
}

// TestMoveLargeObject moves a manifest, not content: the segments stay
// where they are, the source is gone, and a large object the move
// replaces loses its segments with it.
func TestMoveLargeObject(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	ctx := context.Background()
	a, b := randomBytes(t, 3000), randomBytes(t, 5000)
	upload(t, d, "/uploads/a/data", a, 3000)
	upload(t, d, "/blobs/x/data", b, 5000)
	before := len(objectNames(t, inner, segmentsRoot+"/"))

	if err := d.Move(ctx, "/uploads/a/data", "/blobs/x/data"); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(ctx, "/blobs/x/data")
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("moved content differs (err %v)", err)
	}
	if _, err := d.Stat(ctx, "/uploads/a/data"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("source still there: %v", err)
	}
	if after := len(objectNames(t, inner, segmentsRoot+"/")); after != before-5 || after != 3 {
		t.Errorf("%d segments after the move, want the 3 of the moved object (were %d)", after, before)
	}
}

// TestDeletePrefixTakesSegments: deleting a directory deletes the large
// objects under it with their segments, and nothing beside it.
func TestDeletePrefixTakesSegments(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	ctx := context.Background()
	upload(t, d, "/repo/_uploads/u1/data", randomBytes(t, 4000), 1000)
	upload(t, d, "/repo/_uploads/u2/data", randomBytes(t, 100), 100)
	upload(t, d, "/repo-other/data", randomBytes(t, 2000), 2000)
	if err := d.Delete(ctx, "/repo"); err != nil {
		t.Fatal(err)
	}
	if left := objectNames(t, inner, filesRoot+"/"); !slices.Equal(left, []string{"files/repo-other/data"}) {
		t.Errorf("objects left: %q", left)
	}
	if left := objectNames(t, inner, segmentsRoot+"/"); len(left) != 2 {
		t.Errorf("%d segments left, want the 2 of /repo-other/data", len(left))
	}
	if err := d.Delete(ctx, "/repo"); !errors.As(err, new(storagedriver.PathNotFoundError)) {
		t.Errorf("second delete: %v, want PathNotFoundError", err)
	}
}

// TestCancelLeavesNothing cancels a resumed large upload.
func TestCancelLeavesNothing(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	ctx := context.Background()
	w, _ := d.Writer(ctx, "/u/data", false)
	_, _ = w.Write(randomBytes(t, 2500))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err := d.Writer(ctx, "/u/data", true)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(randomBytes(t, 3000))
	if err := w.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if left := objectNames(t, inner, ""); len(left) != 0 {
		t.Errorf("left after cancel: %q", left)
	}
}

// TestSegmentLimit: an upload past the cluster's segments-per-manifest
// limit fails on Write with a message saying so, not later with a
// manifest Swift refuses.
func TestSegmentLimit(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	inner.maxSegments = 3
	w, _ := d.Writer(context.Background(), "/big", false)
	_, err := w.Write(randomBytes(t, 5000))
	if err == nil || !strings.Contains(err.Error(), "more than 3 segments") {
		t.Fatalf("write past the limit: %v", err)
	}
}

// TestWalk compares the listing-based walk with distribution's generic
// one over List and Stat, including a skipped directory and names where
// "-" sorts before "/".
func TestWalk(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	ctx := context.Background()
	for _, p := range []string{"/r/a/b/link", "/r/a-b/link", "/r/a/c", "/r/z/big", "/r/skip/x", "/top"} {
		upload(t, d, p, randomBytes(t, 1500), 1500)
	}
	walk := func(sd storagedriver.StorageDriver, from string) []string {
		var seen []string
		err := storagedriver.WalkFallback(ctx, sd, from, func(fi storagedriver.FileInfo) error {
			seen = append(seen, fmt.Sprintf("%s dir=%v size=%d", fi.Path(), fi.IsDir(), fi.Size()))
			if fi.Path() == "/r/skip" {
				return storagedriver.ErrSkipDir
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seen
	}
	var fast []string
	err := d.Walk(ctx, "/", func(fi storagedriver.FileInfo) error {
		fast = append(fast, fmt.Sprintf("%s dir=%v size=%d", fi.Path(), fi.IsDir(), fi.Size()))
		if fi.Path() == "/r/skip" {
			return storagedriver.ErrSkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if slow := walk(inner, "/"); !slices.Equal(fast, slow) {
		t.Errorf("walk:\n%q\nwant (List+Stat):\n%q", fast, slow)
	}
	if !slices.Contains(fast, "/r/z/big dir=false size=1500") {
		t.Errorf("large object not walked with its content size: %q", fast)
	}
}

// TestBulkDelete runs Delete through Swift's bulk middleware when /info
// offers it (swifttest serves bulk-delete but does not announce it; the
// override announces it).
func TestBulkDelete(t *testing.T) {
	srv := newServer(t)
	srv.SetOverride("/info", announceBulkDelete)
	d, inner := newTestDriver(t, srv, 1024)
	if !inner.bulkDelete {
		t.Fatal("driver did not see bulk_delete in /info")
	}
	upload(t, d, "/a/data", randomBytes(t, 5000), 5000)
	if err := d.Delete(context.Background(), "/a"); err != nil {
		t.Fatal(err)
	}
	if left := objectNames(t, inner, ""); len(left) != 0 {
		t.Errorf("left after bulk delete: %q", left)
	}
}

// TestNewAsksNothing: a driver is made while Swift is away (the registry
// must start); reads fail, a write sets the driver up once Swift is back.
func TestNewAsksNothing(t *testing.T) {
	srv := newServer(t)
	ln := srv.Listener.Addr().String()
	srv.Close()
	d := New(Params{AuthURL: "http://" + ln + "/v1.0", AuthVersion: 1, Username: testUser, Password: testUser, Container: "c", ChunkSize: 1024})
	ctx := context.Background()
	if _, err := d.Stat(ctx, "/"); err == nil {
		t.Fatal("Stat succeeded with Swift away")
	}
	if err := d.PutContent(ctx, "/x", []byte("x")); err == nil {
		t.Fatal("PutContent succeeded with Swift away")
	}
	srv2, err := swifttest.NewSwiftServer(ln)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", ln, err)
	}
	defer srv2.Close()
	if err := d.PutContent(ctx, "/x", []byte("x")); err != nil {
		t.Fatalf("PutContent once Swift is back: %v", err)
	}
	if got, err := d.GetContent(ctx, "/x"); err != nil || string(got) != "x" {
		t.Fatalf("GetContent: %q, %v", got, err)
	}
}

func TestAuthVersion(t *testing.T) {
	for url, want := range map[string]int{
		"https://keystone.example.com:5000/v3":         3,
		"https://keystone.example.com:5000/v3/":        3,
		"https://keystone.example.com/identity/v2.0":   2,
		"http://swift.example.com:8080/auth/v1.0":      1,
		"https://dev3.example.com:5000/v2.0":           2, // ncw/swift would guess 3 from the host
		"https://v3.example.com/auth/v1.0":             1,
		"https://keystone.example.com:5000/":           0,
		"https://keystone.example.com/v4":              0,
		"ftp://keystone.example.com/v3":                0,
		"keystone.example.com/v3":                      0,
		"https://keystone.example.com/v3\nX-Evil: yes": 0,
	} {
		got, err := AuthVersion(url)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("AuthVersion(%q) = %d, %v; want %d", url, got, err, want)
		}
	}
}

// TestPasswordNeverShown: a refused login and the parameters' string
// form do not carry the password.
func TestPasswordNeverShown(t *testing.T) {
	srv := newServer(t)
	const secret = "pa55-Very-Secret-9d1f"
	d := New(Params{AuthURL: srv.AuthURL, AuthVersion: 1, Username: testUser, Password: secret, Container: "c", ChunkSize: defaultChunkSize})
	err := d.Setup(context.Background())
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
	p, err := ParseParams(map[string]any{"authurl": srv.AuthURL, "username": "u", "password": secret})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(p) + fmt.Sprintf("%v %+v", p, p); strings.Contains(s, secret) {
		t.Errorf("params show the password: %s", s)
	}
}

func TestParseParams(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"authurl": "https://k/v3", "username": "u", "password": "p", "tenant": "t", "domain": "d"}
	}
	p, err := ParseParams(base())
	if err != nil || p.AuthVersion != 3 || p.Container != defaultContainer || p.ChunkSize != defaultChunkSize {
		t.Fatalf("defaults: %+v, %v", p, err)
	}
	for name, edit := range map[string]func(m map[string]any){
		"no password":      func(m map[string]any) { delete(m, "password") },
		"slash container":  func(m map[string]any) { m["container"] = "a/b" },
		"newline":          func(m map[string]any) { m["container"] = "a\nb" },
		"long container":   func(m map[string]any) { m["container"] = strings.Repeat("c", 257) },
		"tiny chunk":       func(m map[string]any) { m["chunksize"] = 10 },
		"bad authversion":  func(m map[string]any) { m["authversion"] = "4" },
		"versionless url":  func(m map[string]any) { m["authurl"] = "https://k/" },
		"garbage chunk":    func(m map[string]any) { m["chunksize"] = "lots" },
		"relative authurl": func(m map[string]any) { m["authurl"] = "/v3" },
	} {
		m := base()
		edit(m)
		if _, err := ParseParams(m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// announceBulkDelete adds bulk_delete to swifttest's /info answer.
func announceBulkDelete(w http.ResponseWriter, _ *http.Request, rec *httptest.ResponseRecorder) {
	var info map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	info["bulk_delete"] = map[string]any{"max_deletes_per_request": 10000}
	_ = json.NewEncoder(w).Encode(info)
}

// TestWriteAfterFailedSegment: a segment upload that failed (here Swift
// stored it but the answer was lost) is tried again by the next Write,
// under the same name, instead of being dropped, spinning, or leaving an
// object that no manifest names; the content comes out whole.
func TestWriteAfterFailedSegment(t *testing.T) {
	srv := newServer(t)
	d, inner := newTestDriver(t, srv, 1024)
	ctx := context.Background()
	data := randomBytes(t, 3000)
	w, _ := d.Writer(ctx, "/f", false)
	if _, err := w.Write(data[:1024]); err != nil {
		t.Fatal(err)
	}
	fail := true
	failing := func(rw http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder) {
		if fail && r.Method == http.MethodPut {
			http.Error(rw, "unavailable", http.StatusServiceUnavailable)
			return
		}
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		_, _ = rw.Write(rec.Body.Bytes())
	}
	srv.SetOverride("/v1/AUTH_swifttest/registry/"+segmentName(t, w, 1), failing)
	if _, err := w.Write(data[1024:2000]); err == nil {
		t.Fatal("Write succeeded while Swift refused the segment")
	}
	fail = false
	if _, err := w.Write(data[1024:2000]); err != nil {
		t.Fatalf("Write after Swift came back: %v", err)
	}
	if _, err := w.Write(data[2000:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(ctx, "/f")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("content after a failed segment: %d bytes (err %v), want %d", len(got), err, len(data))
	}
	segs, err := inner.segments(ctx, objectName("/f"))
	if err != nil {
		t.Fatal(err)
	}
	if stored := objectNames(t, inner, segmentsRoot+"/"); len(stored) != len(segs) {
		t.Errorf("%d segment objects stored, the manifest names %d: the failed attempt left an orphan", len(stored), len(segs))
	}
}

// segmentName is the name the writer gives its n-th segment.
func segmentName(t *testing.T, fw storagedriver.FileWriter, n int) string {
	t.Helper()
	w, ok := fw.(*writer)
	if !ok {
		t.Fatalf("writer is %T", fw)
	}
	return fmt.Sprintf("%s%08d", w.prefix, n)
}
