package charm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

// Removing a unit removes every secret the charm wrote (config.yml with
// the http secret, htpasswd, the TLS key, the proxy environment with its
// credentials) and keeps the images.
func TestRemovedUnitForgetsItsSecretsAndKeepsImages(t *testing.T) {
	h := newHarness(t)
	ca := pkitest.NewCA(t, "test CA")
	cfg := blobs(ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}}), ca)
	cfg["auth-basic-password"] = "removal-test-pass"
	cfg["registry-https-proxy"] = "http://user:pass@proxy.internal:3128"
	h.must(h.model.SetConfig(ctx, cfg))
	h.must(h.model.Deploy(ctx, 1))
	written := []string{
		"/etc/docker/registry/config.yml", "/etc/docker/registry/htpasswd", "/etc/docker/registry/environment",
		servedCert, servedKey, "/etc/docker/registry/ca.crt",
		"/etc/systemd/system/docker-registry.service", "/etc/systemd/system/docker-registry.socket",
		"/var/lib/docker-registry-charm/state.json",
	}
	for _, p := range written {
		if !h.exists(unit0, p) {
			t.Fatalf("%s was not written", p)
		}
	}
	image := filepath.Join(h.unitRoot(unit0), "/srv/registry/docker/registry/v2/blobs/sha256/ab/abcd/data")
	h.must(os.MkdirAll(filepath.Dir(image), 0o755))
	h.must(os.WriteFile(image, []byte("layer"), 0o600))

	h.must(h.model.RemoveUnit(ctx, unit0))
	for _, p := range written {
		if h.exists(unit0, p) {
			t.Errorf("%s is still on the machine after the unit was removed", p)
		}
	}
	if _, err := os.Stat(image); err != nil {
		t.Errorf("the images went with the unit: %v", err)
	}
}

// tls-*-path must not let config make the charm overwrite or delete, as
// root, a file it did not write: outside its own config directory it
// writes only where nothing is, and removes only what it recorded.
func TestTLSPathNeverTouchesFilesTheCharmDidNotWrite(t *testing.T) {
	h := newHarness(t)
	ca := pkitest.NewCA(t, "test CA")
	pair := ca.Issue(t, pkitest.Leaf{IPs: []string{unitAddr}})
	h.must(h.model.SetConfig(ctx, blobs(pair, ca)))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")

	// Someone else's file.
	shadow := filepath.Join(h.unitRoot(unit0), "/etc/shadow")
	h.must(os.MkdirAll(filepath.Dir(shadow), 0o755))
	h.must(os.WriteFile(shadow, []byte("root:*:19000:0:99999:7:::\n"), 0o640))
	h.must(h.model.SetConfig(ctx, map[string]any{"tls-key-path": "/etc/shadow"}))
	h.wantStatus(unit0, "blocked", "tls-*-path names /etc/shadow, which the charm did not write")
	if got, _ := os.ReadFile(shadow); string(got) != "root:*:19000:0:99999:7:::\n" {
		t.Fatalf("/etc/shadow was overwritten")
	}
	if got := h.file(unit0, servedKey); got != string(pair.KeyPEM) {
		t.Error("the served key moved or changed")
	}

	// A free path is fine: written and recorded, and the files at the
	// old paths (the charm's) are removed.
	h.must(h.model.SetConfig(ctx, map[string]any{"tls-key-path": "/etc/ssl/private/registry.key"}))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	if h.file(unit0, "/etc/ssl/private/registry.key") != string(pair.KeyPEM) {
		t.Error("the key was not written at the new path")
	}
	if h.exists(unit0, servedKey) {
		t.Error("the key the charm wrote at the old path stayed")
	}

	// TLS off: the charm removes what it wrote, never the operator's file.
	off := map[string]any{"tls-cert-blob": nil, "tls-key-blob": nil, "tls-ca-blob": nil}
	h.must(h.model.SetConfig(ctx, off))
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (http).")
	if h.exists(unit0, "/etc/ssl/private/registry.key") || h.exists(unit0, servedCert) {
		t.Error("files the charm wrote stayed after TLS went")
	}
	if _, err := os.Stat(shadow); err != nil {
		t.Errorf("/etc/shadow was removed: %v", err)
	}
	h.must(h.model.SetConfig(ctx, map[string]any{"tls-cert-path": "/etc/shadow"}))
	if _, err := os.Stat(shadow); err != nil || !strings.HasPrefix(h.status(unit0).Message, "Ready") {
		t.Errorf("a tls-cert-path naming a foreign file while TLS is off: %v, status %q", err, h.status(unit0).Message)
	}
}
