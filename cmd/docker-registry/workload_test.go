package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serve refuses to run a registry it could not be asked to reload: a
// control socket it cannot bind (no such directory, or another process
// already serves it) ends it with status 1, although its configuration
// would serve.
func TestServeExitsWithoutControlSocket(t *testing.T) {
	t.Cleanup(restoreCollectorAfter(t))
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " + dir +
		"\nhttp:\n  addr: 127.0.0.1:0\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live.sock")
	ln, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, socket := range []string{filepath.Join(dir, "missing", "control.sock"), live} {
		done := make(chan int, 1)
		go func() { done <- serve([]string{"--config", cfg, "--control", socket}) }()
		select {
		case code := <-done:
			if code != 1 {
				t.Errorf("serve with control socket %s: exit %d, want 1", socket, code)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("serve with control socket %s is serving", socket)
		}
	}
}
