package registry

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestControlSocketReloadsSynchronously(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "config.yml")
	calls, drains := 0, 0
	var fail error
	if err := listenControl(ctx, path, func() error { calls++; return fail }, func() { drains++ }); err != nil {
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
	if err := RequestReload(ctx, filepath.Join(t.TempDir(), "other.yml"), false); err == nil {
		t.Fatal("a reload for another registry's config reached this one")
	}
}
