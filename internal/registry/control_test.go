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
	calls := 0
	var fail error
	if err := ListenControl(ctx, path, func() error { calls++; return fail }); err != nil {
		t.Fatal(err)
	}
	if err := RequestReload(ctx, path); err != nil || calls != 1 {
		t.Fatalf("reload: err=%v calls=%d", err, calls)
	}
	fail = errors.New("cannot parse config.yml:\nline 3")
	err := RequestReload(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "cannot parse config.yml: line 3") {
		t.Fatalf("a failed reload must be reported, got %v", err)
	}
	if err := RequestReload(ctx, filepath.Join(t.TempDir(), "other.yml")); err == nil {
		t.Fatal("a reload for another registry's config reached this one")
	}
}
