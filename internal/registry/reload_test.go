package registry

import (
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// servedSerial does GET /v2/ with c and returns the serial of the server
// certificate of the connection that answered.
func servedSerial(t *testing.T, c *http.Client, host string) int64 {
	t.Helper()
	serial, _ := servedSerialClose(t, c, host)
	return serial
}

// servedSerialClose is servedSerial, also reporting whether the server
// asked to close the connection after the response.
func servedSerialClose(t *testing.T, c *http.Client, host string) (int64, bool) {
	t.Helper()
	resp, err := c.Get("https://" + host + "/v2/")
	if err != nil {
		t.Fatalf("GET /v2/ over TLS: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/ over TLS = %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), resp.Close
}

func TestTLSCertificateRotation(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "test CA")
	certPath, keyPath := filepath.Join(dir, "registry.crt"), filepath.Join(dir, "registry.key")
	first := issueAt(t, ca, certPath, keyPath)
	cfg := testConfig{RootDir: t.TempDir(), Cert: certPath, Key: keyPath}
	r := startServer(t, cfg)

	tr := clientTransport(ca)
	c := &http.Client{Transport: tr}
	if got := servedSerial(t, c, r.host()); got != first {
		t.Fatalf("served serial %d, want %d", got, first)
	}
	ref, img := pushRandom(t, r.host(), "test/tls", 1<<18, 2, remote.WithTransport(clientTransport(ca)))

	// A reload that leaves TLS alone keeps connections open.
	r.reconfigure(t, cfg)
	if _, closed := servedSerialClose(t, c, r.host()); closed {
		t.Error("a reload without TLS changes closed a connection")
	}

	second := issueAt(t, ca, certPath, keyPath)
	r.reconfigure(t, cfg)
	// The kept-alive connection from before the rotation answers once more
	// (and asks to be closed); the next request handshakes anew.
	if got := servedSerial(t, c, r.host()); got != first {
		t.Errorf("kept-alive connection served serial %d, want the old %d", got, first)
	}
	if got := servedSerial(t, c, r.host()); got != second {
		t.Errorf("after rotation: served serial %d, want %d", got, second)
	}
	if err := pullAndCompare(t, ref, img, remote.WithTransport(clientTransport(ca))); err != nil {
		t.Fatal(err)
	}
}

func TestSwitchHTTPAndHTTPSLive(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "test CA")
	certPath, keyPath := filepath.Join(dir, "registry.crt"), filepath.Join(dir, "registry.key")
	issueAt(t, ca, certPath, keyPath)
	plain := testConfig{RootDir: t.TempDir()}
	r := startServer(t, plain)
	ref, img := pushRandom(t, r.host(), "test/switch", 1<<18, 2)

	withTLS := plain
	withTLS.Cert, withTLS.Key = certPath, keyPath
	r.reconfigure(t, withTLS)

	resp, err := http.Get("http://" + r.host() + "/v2/")
	if err != nil {
		t.Fatalf("plain HTTP to the TLS listener: %v (want a 400 answer)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTP request to an HTTPS server") {
		t.Errorf("plain HTTP to the TLS listener = %d %q, want 400 naming HTTPS", resp.StatusCode, body)
	}
	if err := pullAndCompare(t, ref, img, remote.WithTransport(clientTransport(ca))); err != nil {
		t.Fatalf("pull over TLS after switching on: %v", err)
	}

	r.reconfigure(t, plain)
	_, err = (&http.Client{Transport: clientTransport(ca)}).Get("https://" + r.host() + "/v2/")
	if err == nil || !strings.Contains(err.Error(), "handshake failure") {
		t.Errorf("TLS to the plain listener: %v, want a handshake failure alert", err)
	}
	if err := pullAndCompare(t, ref, img); err != nil {
		t.Fatalf("pull over plain HTTP after switching off: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "test CA")
	certPath, keyPath := filepath.Join(dir, "registry.crt"), filepath.Join(dir, "registry.key")
	issueAt(t, ca, certPath, keyPath)
	caPath := filepath.Join(dir, "ca.crt")
	writeTestFile(t, caPath, ca.CertPEM)
	r := startServer(t, testConfig{Cert: certPath, Key: keyPath, ClientCAs: caPath})

	_, err := (&http.Client{Transport: clientTransport(ca)}).Get("https://" + r.host() + "/v2/")
	if err == nil {
		t.Error("a client without a certificate was let in")
	}
	client := ca.Issue(t, pkitest.Leaf{CommonName: "client", Client: true})
	tr := clientTransport(ca)
	tr.TLSClientConfig.Certificates = []tls.Certificate{client.TLS()}
	resp, err := (&http.Client{Transport: tr}).Get("https://" + r.host() + "/v2/")
	if err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("client with a certificate: %d", resp.StatusCode)
	}
}

func TestBadConfigKeepsServing(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig{RootDir: root, LogLevel: "info"}
	r := startServer(t, cfg)
	ref, img := pushRandom(t, r.host(), "test/bad", 1<<16, 1)

	bad := map[string]func(){
		"unparsable YAML": func() { writeTestFile(t, r.cfgPath, []byte("version: 0.1\nhttp: [")) },
		"unknown storage driver": func() {
			writeTestFile(t, r.cfgPath, []byte("version: 0.1\nhttp: {addr: 127.0.0.1:0}\nstorage: {azure: {}}\n"))
		},
		"missing certificate": func() {
			c := cfg
			c.Addr = r.host()
			c.Cert, c.Key = filepath.Join(root, "absent.crt"), filepath.Join(root, "absent.key")
			c.write(t, r.cfgPath)
		},
		"bad log level": func() {
			c := cfg
			c.Addr = r.host()
			c.LogLevel = "loud"
			c.write(t, r.cfgPath)
		},
	}
	for name, write := range bad {
		write()
		err := r.Reload()
		if err == nil {
			t.Errorf("%s: Reload succeeded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "cannot ") {
			t.Errorf("%s: error %q does not start with \"cannot\"", name, err)
		}
		if err := pullAndCompare(t, ref, img); err != nil {
			t.Fatalf("%s: the previous configuration stopped serving: %v", name, err)
		}
	}
	// A valid configuration after the bad ones is taken.
	cfg.Delete = true
	r.reconfigure(t, cfg)
	d, _ := img.Digest()
	req, _ := http.NewRequest("DELETE", fmt.Sprintf("http://%s/v2/test/bad/manifests/%s", r.host(), d), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("DELETE after enabling deletes = %d, want 202", resp.StatusCode)
	}
}

// An upload started before a reload is finished after it: its PATCH body is
// still streaming while the App is swapped (the request stays on the old
// App), and the final PUT lands on the new App, which must accept the upload
// state signed by the old one (same http.secret, generated or not).
func TestUploadSpansReload(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir()}
	r := startServer(t, cfg)
	base := "http://" + r.host()

	resp, err := http.Post(base+"/v2/test/upload/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("POST upload = %d, Location %q", resp.StatusCode, loc)
	}

	blob := []byte(strings.Repeat("registry", 1<<16))
	pr, pw := io.Pipe()
	patched := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("PATCH", resolve(base, loc), pr)
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("PATCH: %v", err)
			close(patched)
			return
		}
		resp.Body.Close()
		patched <- resp
	}()
	pw.Write(blob[:len(blob)/2])
	cfg.LogLevel = "warn"
	r.reconfigure(t, cfg)
	pw.Write(blob[len(blob)/2:])
	pw.Close()
	resp = <-patched
	if resp == nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH across a reload: %v", resp)
	}

	r.reconfigure(t, cfg)
	dgst := fmt.Sprintf("sha256:%x", sha256Sum(blob))
	put := resolve(base, resp.Header.Get("Location"))
	put += map[bool]string{true: "&", false: "?"}[strings.Contains(put, "?")] + "digest=" + dgst
	req, _ := http.NewRequest("PUT", put, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT after reload = %d, want 201", resp.StatusCode)
	}
}

func resolve(base, loc string) string {
	if strings.HasPrefix(loc, "/") {
		return base + loc
	}
	return loc
}

func TestDebugServerAcrossReloads(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir(), DebugAddr: "127.0.0.1:0", Prometheus: true}
	r := startServer(t, cfg)
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get("http://" + r.DebugAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Logf("%s: %s", path, body)
		}
		return resp.StatusCode
	}
	if code := get("/metrics"); code != http.StatusOK {
		t.Errorf("/metrics = %d", code)
	}
	// The same debug address is kept; Prometheus registrations of the new
	// App must not collide with the previous App's.
	first := r.DebugAddr().String()
	for i := 0; i < 3; i++ {
		r.reconfigure(t, cfg)
	}
	if got := r.DebugAddr().String(); got != first {
		t.Errorf("debug server moved from %s to %s without a change", first, got)
	}
	if code := get("/debug/health"); code != http.StatusOK {
		t.Errorf("/debug/health = %d", code)
	}
	cfg.Prometheus = false
	r.reconfigure(t, cfg)
	if code := get("/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics with Prometheus off = %d, want 404", code)
	}
	cfg.DebugAddr = "127.0.0.2:0"
	r.reconfigure(t, cfg)
	if r.DebugAddr().String() == first {
		t.Error("the debug server did not move")
	}
	if _, err := http.Get("http://" + first + "/debug/health"); err == nil {
		t.Error("the old debug address still answers")
	}
}

// Shutting down waits for a request in flight.
func TestShutdownDrains(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir(), DrainTime: "30s"}
	r := startServer(t, cfg)
	resp, err := http.Post("http://"+r.host()+"/v2/test/drain/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pr, pw := io.Pipe()
	patched := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PATCH", resolve("http://"+r.host(), resp.Header.Get("Location")), pr)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("PATCH during shutdown: %v", err)
			patched <- 0
			return
		}
		resp.Body.Close()
		patched <- resp.StatusCode
	}()
	pw.Write([]byte("first half "))
	time.Sleep(100 * time.Millisecond) // the request is in the handler
	r.cancel()
	time.Sleep(100 * time.Millisecond) // shutdown has begun
	pw.Write([]byte("second half"))
	pw.Close()
	if code := <-patched; code != http.StatusAccepted {
		t.Errorf("PATCH in flight at shutdown = %d, want 202", code)
	}
	r.stop(t)
	if _, err := http.Get("http://" + r.host() + "/"); err == nil {
		t.Error("still accepting after shutdown")
	}
}

func TestLogFieldsAndLevel(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir(), LogLevel: "info"}
	r := startServer(t, cfg)
	cfg.LogLevel = "debug"
	r.reconfigure(t, cfg)
	http.Get("http://" + r.host() + "/v2/")
	cfg.LogLevel = "info"
	r.reconfigure(t, cfg)
	out := r.stderr.String()
	if !strings.Contains(out, `"service":"registry"`) {
		t.Errorf("log lines lack the configured field service=registry:\n%.2000s", out)
	}
	if !strings.Contains(out, `"level":"debug"`) {
		t.Error("no debug line logged while log.level was debug")
	}
	if _, err := os.Stat(r.cfgPath); err != nil {
		t.Fatal(err)
	}
}

func sha256Sum(b []byte) []byte {
	sum := sha256.Sum256(b)
	return sum[:]
}

// The socket stays; a new http.addr is reported as needing a restart and
// everything else in the configuration is applied.
func TestAddrChangeNeedsRestart(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir()}
	r := startServer(t, cfg)
	cfg.Addr, cfg.Delete = "127.0.0.1:1", true
	cfg.write(t, r.cfgPath)
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload with a new http.addr: %v", err)
	}
	if !strings.Contains(r.stderr.String(), "restart the registry to listen there") {
		t.Error("no warning that the new address needs a restart")
	}
	if !r.gen.Load().app.Config.Storage["delete"]["enabled"].(bool) {
		t.Error("the rest of the configuration was not applied")
	}
	waitStatus(t, "http://"+r.host()+"/", http.StatusOK)

	r.stop(t)
	if err := r.Reload(); err == nil {
		t.Error("Reload after shutdown succeeded")
	}
}

// After garbage collection removes blob data, the in-memory blob-descriptor
// cache of a running App still claims the blob (distribution issues 2966,
// 4569); the App built by a reload starts with an empty cache.
func TestReloadDropsStaleBlobCache(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig{RootDir: root}
	r := startServer(t, cfg)
	_, img := pushRandom(t, r.host(), "test/gc", 1<<16, 1)
	layers, _ := img.Layers()
	d, _ := layers[0].Digest()
	url := fmt.Sprintf("http://%s/v2/test/gc/blobs/%s", r.host(), d)
	head := func() int {
		t.Helper()
		resp, err := http.Head(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := head(); code != http.StatusOK {
		t.Fatalf("HEAD blob = %d", code)
	}
	// What garbage collection does to an unreferenced blob.
	blobDir := filepath.Join(root, "docker/registry/v2/blobs/sha256", d.Hex[:2], d.Hex)
	if err := os.RemoveAll(blobDir); err != nil {
		t.Fatal(err)
	}
	t.Logf("HEAD of the removed blob before reload: %d (stale cache)", head())
	r.reconfigure(t, cfg)
	if code := head(); code != http.StatusNotFound {
		t.Errorf("HEAD of the removed blob after reload = %d, want 404", code)
	}
}

func TestPanicIsAnswered(t *testing.T) {
	h := recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	srv := &http.Server{Handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v2/")
	if err != nil {
		t.Fatalf("a panicking handler reset the connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("panicking handler answered %d, want 500", resp.StatusCode)
	}
}

// WaitRetired returns only after a request begun on the replaced
// configuration has been answered.
func TestWaitRetiredWaitsForInFlight(t *testing.T) {
	cfg := testConfig{RootDir: t.TempDir()}
	r := startServer(t, cfg)
	base := "http://" + r.host()
	resp, err := http.Post(base+"/v2/test/wait/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pr, pw := io.Pipe()
	patched := make(chan struct{})
	go func() {
		defer close(patched)
		req, _ := http.NewRequest("PATCH", resolve(base, resp.Header.Get("Location")), pr)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	pw.Write([]byte("begun on the old configuration"))
	time.Sleep(100 * time.Millisecond) // the PATCH is in its handler
	cfg.ReadOnly = true
	r.reconfigure(t, cfg)

	waited := make(chan struct{})
	go func() {
		r.WaitRetired()
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("WaitRetired returned while a request on the old configuration was running")
	case <-time.After(200 * time.Millisecond):
	}
	pw.Close()
	<-patched
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitRetired did not return after the old request finished")
	}
}
