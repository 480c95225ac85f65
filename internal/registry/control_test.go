package registry

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestControlSocketReloadsSynchronously(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "control.sock")
	calls, drains := 0, 0
	var fail error
	c := control{reload: func() error { calls++; return fail }, drain: func() { drains++ }, failing: func() []string { return nil }}
	if err := listenControl(ctx, path, c); err != nil {
		t.Fatal(err)
	}
	if err := RequestReload(ctx, path, false); err != nil || calls != 1 || drains != 0 {
		t.Fatalf("reload: err=%v calls=%d drains=%d", err, calls, drains)
	}
	if err := RequestReload(ctx, path, true); err != nil || calls != 2 || drains != 1 {
		t.Fatalf("reload-drain: err=%v calls=%d drains=%d", err, calls, drains)
	}
	fail = errors.New("cannot parse config.yml:\nline 3")
	err := RequestReload(ctx, path, false)
	if err == nil || !strings.Contains(err.Error(), "cannot parse config.yml: line 3") {
		t.Fatalf("a failed reload must be reported, got %v", err)
	}
	if err := RequestReload(ctx, filepath.Join(t.TempDir(), "other.sock"), false); err == nil {
		t.Fatal("a reload for another registry's config reached this one")
	}
}

func TestControlSocketReportsFailingChecks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "control.sock")
	var failing []string
	c := control{reload: func() error { return nil }, drain: func() {}, failing: func() []string { return failing }}
	if err := listenControl(ctx, path, c); err != nil {
		t.Fatal(err)
	}
	if got, err := RequestFailingChecks(ctx, path); err != nil || got != nil {
		t.Fatalf("healthy registry: %v %v", got, err)
	}
	failing = []string{"storagedriver_s3"}
	if got, err := RequestFailingChecks(ctx, path); err != nil || !slices.Equal(got, failing) {
		t.Fatalf("failing storage: got %v %v", got, err)
	}
	if _, err := RequestFailingChecks(ctx, filepath.Join(t.TempDir(), "none.sock")); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("no registry: %v, want ErrUnreachable", err)
	}
}

// A registry whose storage fails its health check says which check, over
// the control socket, while its API answers 503 ("/" stays 200: it tells
// that the process is up, which is why the charm asks the socket); it
// recovers with the storage.
func TestFailingStorageCheckReported(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	r := startServer(t, testConfig{RootDir: root, HealthEvery: "50ms"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	socket := filepath.Join(t.TempDir(), "control.sock")
	l, err := ListenControl(socket)
	if err != nil {
		t.Fatal(err)
	}
	l.Serve(ctx, r.Server)
	waitChecks := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := RequestFailingChecks(ctx, socket)
			if err == nil && slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("failing checks = %v (%v), want %v", got, err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitChecks(nil)
	// A storage root the driver cannot stat (a link to itself).
	if err := os.Rename(root, root+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, root); err != nil {
		t.Fatal(err)
	}
	waitChecks([]string{"storagedriver_filesystem"})
	resp, err := http.Get("http://" + r.host() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /v2/ with failing storage: %d, want 503", resp.StatusCode)
	}
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(root+".away", root); err != nil {
		t.Fatal(err)
	}
	waitChecks(nil)
}
