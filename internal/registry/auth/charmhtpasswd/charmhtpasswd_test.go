package charmhtpasswd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the apps' storage
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/htpasswd"
)

// htpasswdLines writes user:bcrypt(password) lines at the given cost,
// write-and-rename as the charm does.
func htpasswdLines(t testing.TB, path string, cost int, userPass ...string) {
	t.Helper()
	var b strings.Builder
	for i := 0; i+1 < len(userPass); i += 2 {
		h, err := bcrypt.GenerateFromPassword([]byte(userPass[i+1]), cost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", userPass[i], h)
	}
	writeTestFileRenamed(t, path, []byte(b.String()))
}

func writeTestFileRenamed(t testing.TB, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// compareCalls counts bcrypt verifications for the rest of the test and
// records the cost of each hash verified.
type compareCalls struct {
	n     atomic.Int64
	mu    sync.Mutex
	costs []int
}

func countCompares(t testing.TB) *compareCalls {
	c := &compareCalls{}
	orig := compareHashAndPassword
	compareHashAndPassword = func(hash, password []byte) error {
		c.n.Add(1)
		cost, _ := bcrypt.Cost(hash)
		c.mu.Lock()
		c.costs = append(c.costs, cost)
		c.mu.Unlock()
		return orig(hash, password)
	}
	t.Cleanup(func() { compareHashAndPassword = orig })
	return c
}

func (c *compareCalls) lastCost() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.costs) == 0 {
		return -1
	}
	return c.costs[len(c.costs)-1]
}

// logged collects what the registry logs, for tests that check a password
// never shows there.
type logged struct{ hook *logtest.Hook }

func captureLogs(t testing.TB) logged {
	t.Helper()
	hook := new(logtest.Hook)
	prev := logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{})
	logrus.AddHook(hook)
	t.Cleanup(func() { logrus.StandardLogger().ReplaceHooks(prev) })
	return logged{hook: hook}
}

// String is every entry logged so far, message and fields.
func (l logged) String() string {
	var b strings.Builder
	for _, e := range l.hook.AllEntries() {
		fmt.Fprintf(&b, "%s %v\n", e.Message, e.Data)
	}
	return b.String()
}

// authApp serves a real distribution App with inmemory storage and this
// access controller on 127.0.0.1.
func authApp(t testing.TB, realm, htpasswd string) *httptest.Server {
	t.Helper()
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = "test-secret"
	cfg.Catalog.MaxEntries = 1000
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}
	cfg.Auth = configuration.Auth{Name: configuration.Parameters{"realm": realm, "path": htpasswd}}
	ctx, cancel := context.WithCancel(context.Background())
	app := handlers.NewApp(ctx, cfg)
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		srv.Close()
		app.Shutdown()
		cancel()
	})
	return srv
}

// getV2 sends GET /v2/ (with basic credentials unless user is "") and
// returns the response with its body read.
func getV2(t testing.TB, srv *httptest.Server, user, pass string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/v2/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func wantStatus(t testing.TB, srv *httptest.Server, user, pass string, want int) *http.Response {
	t.Helper()
	resp, _ := getV2(t, srv, user, pass)
	if resp.StatusCode != want {
		t.Fatalf("GET /v2/ as %q = %d, want %d", user, resp.StatusCode, want)
	}
	return resp
}

func TestRegisteredByImport(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.MinCost, "u", "pw")
	ac, err := auth.GetAccessController(Name, map[string]any{"realm": "r", "path": htp})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ac.(*controller); !ok {
		t.Fatalf(`the %q access controller is %T, want ours`, Name, ac)
	}
}

// TestOneUserFile checks the file the hooks write (htpasswd.OneUser) with
// this controller, the code that reads it in production.
func TestOneUserFile(t *testing.T) {
	file, err := htpasswd.OneUser("admin", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	ac, err := auth.GetAccessController(Name, map[string]any{"realm": "docker-registry", "path": path})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"admin", "correct horse", true},
		{"admin", "wrong", false},
		{"root", "correct horse", false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/v2/", nil)
		req.SetBasicAuth(tt.user, tt.password)
		_, err := ac.Authorized(req)
		if ok := err == nil; ok != tt.ok {
			t.Errorf("%s with password ok=%v: got err %v", tt.user, tt.ok, err)
		}
		var ch auth.Challenge
		if err != nil && !errors.As(err, &ch) {
			t.Errorf("%s: want an auth challenge, got %v", tt.user, err)
		}
	}
}

func TestHtpasswdControllerThroughApp(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.DefaultCost, "admin", "s3cret-one", "other", "s3cret-two")
	calls := countCompares(t)
	srv := authApp(t, "my-realm", htp)

	// No credentials: a challenge, and no bcrypt at all.
	resp, body := getV2(t, srv, "", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /v2/ without credentials = %d, want 401", resp.StatusCode)
	}
	if got, want := resp.Header.Get("WWW-Authenticate"), `Basic realm="my-realm"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
	var errs struct{ Errors []struct{ Code string } }
	if err := json.Unmarshal(body, &errs); err != nil || len(errs.Errors) != 1 || errs.Errors[0].Code != "UNAUTHORIZED" {
		t.Errorf("body = %s, want one UNAUTHORIZED error", body)
	}
	if n := calls.n.Load(); n != 0 {
		t.Errorf("%d bcrypt verifications without credentials, want 0", n)
	}

	resp = wantStatus(t, srv, "admin", "wrong", http.StatusUnauthorized)
	if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="my-realm"` {
		t.Errorf("WWW-Authenticate after a wrong password = %q", got)
	}
	wantStatus(t, srv, "nobody", "s3cret-one", http.StatusUnauthorized)
	wantStatus(t, srv, "other", "s3cret-one", http.StatusUnauthorized)

	before := calls.n.Load()
	resp = wantStatus(t, srv, "admin", "s3cret-one", http.StatusOK)
	if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		t.Errorf("Docker-Distribution-API-Version = %q", got)
	}
	if n := calls.n.Load() - before; n != 1 {
		t.Errorf("first authenticated request: %d bcrypt verifications, want 1", n)
	}
	// The same credential again: from the cache.
	before = calls.n.Load()
	for range 5 {
		wantStatus(t, srv, "admin", "s3cret-one", http.StatusOK)
	}
	if n := calls.n.Load() - before; n != 0 {
		t.Errorf("5 more requests with a verified credential: %d bcrypt verifications, want 0", n)
	}
	// Another user's credential is verified on its own.
	wantStatus(t, srv, "other", "s3cret-two", http.StatusOK)
	wantStatus(t, srv, "other", "s3cret-two", http.StatusOK)
	if n := calls.n.Load() - before; n != 1 {
		t.Errorf("a second user: %d bcrypt verifications, want 1", n)
	}
	// A verified user's wrong password still fails, and is checked each time.
	before = calls.n.Load()
	wantStatus(t, srv, "admin", "wrong", http.StatusUnauthorized)
	wantStatus(t, srv, "admin", "wrong", http.StatusUnauthorized)
	if n := calls.n.Load() - before; n != 2 {
		t.Errorf("two failed attempts: %d bcrypt verifications, want 2 (failures are not cached)", n)
	}
}

func TestHtpasswdControllerGrantsTheUser(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.MinCost, "alice", "pw")
	ac, err := newController(map[string]any{"realm": "r", "path": htp})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v2/test/manifests/latest", nil)
	req.SetBasicAuth("alice", "pw")
	for range 2 { // verified, then cached
		grant, err := ac.Authorized(req, auth.Access{Resource: auth.Resource{Type: "repository", Name: "test"}, Action: "pull"})
		if err != nil {
			t.Fatal(err)
		}
		if grant.User.Name != "alice" || len(grant.Resources) != 0 {
			t.Errorf("grant = %+v, want user alice and no resource list (as distribution's)", grant)
		}
	}
	logs := captureLogs(t)
	const wrong = "nope-guess"
	req.SetBasicAuth("alice", wrong)
	_, err = ac.Authorized(req)
	// Printed with the password masked: a failure here must not itself
	// show what it caught.
	masked := func(s string) string { return strings.ReplaceAll(s, wrong, "<password>") }
	var ch auth.Challenge
	if !errors.As(err, &ch) || !errors.Is(err, auth.ErrAuthenticationFailure) {
		t.Errorf("wrong password: %s, want a challenge for an authentication failure", masked(fmt.Sprint(err)))
	}
	if !strings.Contains(logs.String(), "alice") || strings.Contains(logs.String()+fmt.Sprint(err), wrong) {
		t.Errorf("failed attempt: want the user logged, never the password:\n%s\n%s", masked(logs.String()), masked(fmt.Sprint(err)))
	}
	_, err = ac.Authorized(httptest.NewRequest("GET", "/v2/", nil))
	if !errors.As(err, &ch) || !errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("no credentials: %v, want a challenge for an invalid credential", err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("error %q shows a password", err)
	}
}

func TestHtpasswdControllerRereadsChangedFile(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.MinCost, "admin", "first", "bob", "bobpw")
	calls := countCompares(t)
	srv := authApp(t, "r", htp)
	wantStatus(t, srv, "admin", "first", http.StatusOK)
	wantStatus(t, srv, "admin", "first", http.StatusOK) // cached

	// Replaced (write and rename, as the charm writes): the cached old
	// password no longer opens, the new one does, on the same App.
	htpasswdLines(t, htp, bcrypt.MinCost, "admin", "second", "bob", "bobpw")
	wantStatus(t, srv, "admin", "first", http.StatusUnauthorized)
	wantStatus(t, srv, "admin", "second", http.StatusOK)

	// Rewritten in place (same inode; the modification time changes).
	time.Sleep(10 * time.Millisecond)
	h, err := bcrypt.GenerateFromPassword([]byte("third"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(htp, fmt.Appendf(nil, "admin:%s\n", h), 0o600); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, srv, "admin", "second", http.StatusUnauthorized)
	wantStatus(t, srv, "bob", "bobpw", http.StatusUnauthorized) // removed
	before := calls.n.Load()
	wantStatus(t, srv, "admin", "third", http.StatusOK)
	wantStatus(t, srv, "admin", "third", http.StatusOK)
	if n := calls.n.Load() - before; n != 1 {
		t.Errorf("%d bcrypt verifications for the new password twice, want 1", n)
	}

	// A file that becomes unreadable as htpasswd fails requests (400, as
	// distribution answers a controller error) until it is fixed.
	writeTestFileRenamed(t, htp, []byte("admin-without-a-hash\n"))
	wantStatus(t, srv, "admin", "third", http.StatusBadRequest)
	wantStatus(t, srv, "admin", "third", http.StatusBadRequest)
	htpasswdLines(t, htp, bcrypt.MinCost, "admin", "fourth")
	wantStatus(t, srv, "admin", "fourth", http.StatusOK)

	// A file removed while serving: refused, never recreated.
	if err := os.Remove(htp); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, srv, "admin", "fourth", http.StatusBadRequest)
	if _, err := os.Stat(htp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed htpasswd file is back: %v", err)
	}
}

func TestHtpasswdControllerMissingFile(t *testing.T) {
	logs := captureLogs(t)

	missing := filepath.Join(t.TempDir(), "absent-dir", "htpasswd")
	_, err := auth.GetAccessController(Name, map[string]any{"realm": "r", "path": missing})
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v, want an error naming %s", err, missing)
	}

	// handlers.NewApp turns the error into a panic (which our server turns
	// into a refused configuration).
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), missing) {
				t.Errorf("NewApp with a missing htpasswd file: panic %v, want one naming the file", r)
			}
		}()
		cfg := &configuration.Configuration{}
		cfg.HTTP.Secret = "test-secret"
		cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
		cfg.Auth = configuration.Auth{Name: configuration.Parameters{"realm": "r", "path": missing}}
		handlers.NewApp(context.Background(), cfg)
	}()

	if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the htpasswd file or its directory was created: %v", err)
	}
	if s := strings.ToLower(logs.String()); strings.Contains(s, "password") {
		t.Errorf("the log mentions a password:\n%s", s)
	}
}

func TestHtpasswdControllerOptions(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.MinCost, "u", "pw")
	for _, opts := range []map[string]any{
		{"path": htp},
		{"realm": 1, "path": htp},
		{"realm": "r"},
		{"realm": "r", "path": 7},
		{"realm": "r", "path": ""},
	} {
		if _, err := auth.GetAccessController(Name, opts); err == nil {
			t.Errorf("options %v accepted", opts)
		}
	}
	// Comments, blank lines, spaces around a line, a later line for the
	// same user winning: as distribution reads the file.
	h1, _ := bcrypt.GenerateFromPassword([]byte("old"), bcrypt.MinCost)
	h2, _ := bcrypt.GenerateFromPassword([]byte("new"), bcrypt.MinCost)
	writeTestFileRenamed(t, htp, fmt.Appendf(nil, "# comment\n\n  u:%s  \nu:%s\n", h1, h2))
	ac, err := auth.GetAccessController(Name, map[string]any{"realm": "r", "path": htp})
	if err != nil {
		t.Fatal(err)
	}
	for pw, ok := range map[string]bool{"old": false, "new": true} {
		req := httptest.NewRequest("GET", "/v2/", nil)
		req.SetBasicAuth("u", pw)
		if _, err := ac.Authorized(req); (err == nil) != ok {
			t.Errorf("password %q: %v, want accepted=%v", pw, err, ok)
		}
	}
}

func TestHtpasswdControllerMalformedFile(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	writeTestFileRenamed(t, htp, []byte("# users\nplaintext-secret-line\n"))
	_, err := auth.GetAccessController(Name, map[string]any{"realm": "r", "path": htp})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("malformed file: %v, want an error naming line 2", err)
	}
	if strings.Contains(err.Error(), "plaintext-secret-line") {
		t.Errorf("the error quotes the file's content: %v", err)
	}
}

// An unknown user costs one bcrypt run at the cost of the file's hashes,
// every time, so response times do not tell which users exist.
func TestHtpasswdUnknownUserCostsTheSame(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, bcrypt.DefaultCost} {
		htp := filepath.Join(t.TempDir(), "htpasswd")
		htpasswdLines(t, htp, cost, "admin", "pw")
		ac, err := newController(map[string]any{"realm": "r", "path": htp})
		if err != nil {
			t.Fatal(err)
		}
		calls := countCompares(t)
		for i := range 3 {
			req := httptest.NewRequest("GET", "/v2/", nil)
			req.SetBasicAuth("nobody", "pw")
			if _, err := ac.Authorized(req); !errors.Is(err, auth.ErrAuthenticationFailure) {
				t.Fatalf("unknown user: %v", err)
			}
			if n := calls.n.Load(); n != int64(i+1) {
				t.Fatalf("after %d attempts as an unknown user: %d bcrypt runs", i+1, n)
			}
			if got := calls.lastCost(); got != cost {
				t.Errorf("unknown user checked at bcrypt cost %d, want %d (the file's)", got, cost)
			}
		}
	}
}

// Concurrent requests with the same new credential share one bcrypt run.
func TestHtpasswdConcurrentSameCredential(t *testing.T) {
	htp := filepath.Join(t.TempDir(), "htpasswd")
	htpasswdLines(t, htp, bcrypt.DefaultCost, "admin", "pw")
	calls := countCompares(t)
	srv := authApp(t, "r", htp)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
			req.SetBasicAuth("admin", "pw")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := calls.n.Load(); n != 1 {
		t.Errorf("16 concurrent requests with one credential: %d bcrypt runs, want 1", n)
	}
}

func TestVerifiedCacheExpiresAndIsBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	v := newVerifiedCache(5*time.Minute, 3)
	v.now = func() time.Time { return now }
	runs := 0
	ok := func() error { runs++; return nil }
	bad := func() error { runs++; return bcrypt.ErrMismatchedHashAndPassword }
	mac := func(i int) [sha256.Size]byte { return credentialMAC(fmt.Sprint("user", i), "pw", []byte("hash")) }

	for i := range 3 {
		if err := v.check(mac(i), ok); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	v.check(mac(0), ok) // from the cache, and now the most recently used
	if runs != 3 || v.size() != 3 {
		t.Fatalf("3 credentials checked, one twice: %d runs, %d remembered; want 3, 3", runs, v.size())
	}
	// A fourth credential evicts the least recently used (user1).
	v.check(mac(3), ok)
	if v.size() != 3 {
		t.Errorf("%d remembered, want at most 3", v.size())
	}
	runs = 0
	v.check(mac(0), ok)
	v.check(mac(2), ok)
	if runs != 0 {
		t.Errorf("recently used credentials were evicted (%d runs)", runs)
	}
	v.check(mac(1), ok)
	if runs != 1 {
		t.Errorf("the least recently used credential was not evicted (%d runs)", runs)
	}
	// Failures are not remembered.
	runs = 0
	v.check(mac(9), bad)
	if err := v.check(mac(9), bad); err == nil || runs != 2 {
		t.Errorf("failures: %v after %d runs, want an error after 2", err, runs)
	}
	// user1 was verified last, at now. After the ttl, a credential is verified again, however recently it
	// was used.
	runs = 0
	now = now.Add(5*time.Minute - time.Second)
	v.check(mac(1), ok)
	if runs != 0 {
		t.Errorf("a credential was verified again within its ttl (%d runs)", runs)
	}
	now = now.Add(time.Second)
	v.check(mac(1), ok)
	v.check(mac(1), ok)
	if runs != 1 {
		t.Errorf("an expired credential was trusted (%d runs, want 1)", runs)
	}
	// A verification that panics leaves nothing trusted behind.
	func() {
		defer func() { _ = recover() }()
		v.check(mac(5), func() error { panic("boom") })
	}()
	if err := v.check(mac(5), bad); err == nil {
		t.Error("a credential whose verification panicked was then trusted")
	}
}

func TestCredentialMAC(t *testing.T) {
	base := credentialMAC("ab", "c", []byte("h"))
	for _, other := range [][sha256.Size]byte{
		credentialMAC("a", "bc", []byte("h")),
		credentialMAC("ab", "", []byte("ch")),
		credentialMAC("ab", "c", []byte("h2")),
		sha256.Sum256([]byte("c")),
		sha256.Sum256([]byte("ab:c")),
	} {
		if other == base {
			t.Errorf("two different credentials share the key %x", base)
		}
	}
	if credentialMAC("ab", "c", []byte("h")) != base {
		t.Error("the key of one credential changes")
	}
	if bytes.Equal(credentialKey, make([]byte, len(credentialKey))) {
		t.Error("the process key is all zeros")
	}
}

// benchController is a controller for a cost-10 htpasswd file.
func benchController(b *testing.B, cached bool) (*controller, *http.Request) {
	htp := filepath.Join(b.TempDir(), "htpasswd")
	htpasswdLines(b, htp, bcrypt.DefaultCost, "admin", "pw")
	ac, err := newController(map[string]any{"realm": "r", "path": htp})
	if err != nil {
		b.Fatal(err)
	}
	c := ac.(*controller)
	if !cached {
		c.verified = nil
	}
	req := httptest.NewRequest("GET", "/v2/", nil)
	req.SetBasicAuth("admin", "pw")
	return c, req
}

func benchAuthorized(b *testing.B, cached bool) {
	c, req := benchController(b, cached)
	if _, err := c.Authorized(req); err != nil { // warm: the first verification
		b.Fatal(err)
	}
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Authorized(req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkAuthorizedCached is Authorized with the same credential over and
// over (a client pulling), bcrypt cost 10: the first verification only.
func BenchmarkAuthorizedCached(b *testing.B) { benchAuthorized(b, true) }

// BenchmarkAuthorizedUncached is the same without the cache: bcrypt on
// every request, as distribution's controller does.
func BenchmarkAuthorizedUncached(b *testing.B) { benchAuthorized(b, false) }

// BenchmarkHtpasswdAppGET is authenticated GET /v2/ through a distribution
// App and HTTP on 127.0.0.1 (4 keep-alive clients), bcrypt cost 10, with
// our controller.
func BenchmarkHtpasswdAppGET(b *testing.B) {
	htp := filepath.Join(b.TempDir(), "htpasswd")
	htpasswdLines(b, htp, bcrypt.DefaultCost, "admin", "pw")
	logrus.SetOutput(io.Discard)
	defer logrus.SetOutput(os.Stderr)
	srv := authApp(b, "r", htp)
	b.SetParallelism(2) // 2×GOMAXPROCS clients
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for pb.Next() {
			req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
			req.SetBasicAuth("admin", "pw")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
