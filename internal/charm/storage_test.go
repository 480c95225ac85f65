package charm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"

	"github.com/canonical/docker-registry-charm/internal/registryconf"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// fakeStorage answers the charm's storage checks: refused while the
// configured secret key is not good. It counts the checks.
type fakeStorage struct {
	good   string
	checks int
}

func (f *fakeStorage) install(h *harness) {
	h.storage = func(_ context.Context, cfg *configuration.Configuration) error {
		f.checks++
		if cfg.Storage.Parameters()["secretkey"] == f.good {
			return nil
		}
		return &registryconf.StorageError{
			Problem: "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey",
			Err:     errors.New("SignatureDoesNotMatch: The request signature we calculated does not match"),
		}
	}
}

func s3Config(secret string) map[string]any {
	return map[string]any{
		"storage-s3-region": "us-east-1", "storage-s3-bucket": "registry",
		"storage-s3-regionendpoint": "http://127.0.0.1:8333",
		"storage-s3-accesskey":      "AKIDEXAMPLE", "storage-s3-secretkey": secret,
	}
}

const refusedS3 = "S3 storage refused the credentials: check storage-s3-accesskey and storage-s3-secretkey"

// A key the storage refuses blocks with the options to fix, keeps the
// running registry on its last good configuration (no write, no reload),
// and never shows the key; fixing it resumes.
func TestRefusedS3KeyBlocksAndKeepsLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	fs := &fakeStorage{good: "good-secret-value"}
	fs.install(h)
	h.must(h.model.SetConfig(ctx, s3Config("good-secret-value")))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	good := h.file(unit0, "/etc/docker/registry/config.yml")

	mark := h.services(unit0).mark()
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-s3-secretkey": "wrong-secret-value"}))
	h.wantStatus(unit0, "blocked", refusedS3+" (serving the previous configuration)")
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("a refused key touched the service: %v", calls)
	}
	if h.file(unit0, "/etc/docker/registry/config.yml") != good {
		t.Error("config.yml rewritten with a key the storage refused")
	}
	// update-status keeps saying so.
	h.must(h.model.UpdateStatus(ctx))
	h.wantStatus(unit0, "blocked", refusedS3)
	found := false
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "wrong-secret-value") || strings.Contains(l.Message, "good-secret-value") {
			t.Fatal("an S3 secret key reached the debug log")
		}
		found = found || strings.Contains(l.Message, "SignatureDoesNotMatch")
	}
	if !found {
		t.Error("the debug log does not say what the storage answered")
	}

	mark = h.services(unit0).mark()
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-s3-secretkey": "good-secret-value"}))
	h.wantStatus(unit0, "active", "Ready at")
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("back to the serving key: service calls %v, want none (nothing changed on disk)", calls)
	}

	// A change that leaves storage alone asks the storage nothing.
	before := fs.checks
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-user": "admin", "auth-basic-password": "pw-one"}))
	h.wantStatus(unit0, "active", "Ready at")
	if fs.checks != before {
		t.Errorf("%d storage checks for a password change", fs.checks-before)
	}
}

// Deployed with a key the storage refuses, a unit writes and starts
// nothing and says why; with the right key it starts.
func TestRefusedS3KeyAtDeployStartsNothing(t *testing.T) {
	h := newHarness(t)
	fs := &fakeStorage{good: "good-secret-value"}
	fs.install(h)
	h.must(h.model.SetConfig(ctx, s3Config("wrong-secret-value")))
	h.must(h.model.Deploy(ctx, 2))
	for _, u := range []string{unit0, "docker-registry/1"} {
		h.wantStatus(u, "blocked", refusedS3)
		if st := h.status(u); strings.Contains(st.Message, "previous") {
			t.Errorf("%s claims a previous configuration: %q", u, st.Message)
		}
		if h.exists(u, "/etc/docker/registry/config.yml") {
			t.Errorf("%s wrote config.yml with a refused key", u)
		}
		if calls := h.services(u).since(0); slices.Contains(calls, "start docker-registry.service") {
			t.Errorf("%s started the registry: %v", u, calls)
		}
	}
	// Nothing published for haproxy or workers while storage refuses.
	rel, err := h.model.Relate(ctx, "website", "haproxy", sim.RemoteUnit{Name: "haproxy/0"})
	h.must(err)
	if bag := h.model.RelationData(rel, unit0); bag["services"] != "" {
		t.Errorf("a stanza was published over storage that refuses the registry: %q", bag["services"])
	}

	h.must(h.model.SetConfig(ctx, map[string]any{"storage-s3-secretkey": "good-secret-value"}))
	for _, u := range []string{unit0, "docker-registry/1"} {
		h.wantStatus(u, "active", "Ready at")
	}
	if bag := h.model.RelationData(rel, unit0); !strings.Contains(bag["services"], "balance leastconn") {
		t.Errorf("no active/active stanza once the storage answers: %q", bag["services"])
	}
}

// Swift goes through the same check: a password Swift refuses blocks with
// the login options, keeps the last good configuration, never reaches the
// debug log; the right password resumes.
func TestRefusedSwiftLoginBlocksAndKeepsLastGoodConfig(t *testing.T) {
	h := newHarness(t)
	checks := 0
	h.storage = func(_ context.Context, cfg *configuration.Configuration) error {
		checks++
		if cfg.Storage.Type() != "swift" || cfg.Storage.Parameters()["password"] == "good-swift-pw" {
			return nil
		}
		return &registryconf.StorageError{
			Problem: "Swift refused the login: check storage-swift-username, storage-swift-password, storage-swift-tenant and storage-swift-domain",
			Err:     errors.New("swift: cannot authenticate at https://keystone.example.com:5000/v3 as \"registry\": Authorization Failed"),
		}
	}
	swiftConfig := func(pw string) map[string]any {
		return map[string]any{
			"storage-swift-authurl": "https://keystone.example.com:5000/v3", "storage-swift-username": "registry",
			"storage-swift-password": pw, "storage-swift-tenant": "services", "storage-swift-domain": "Default",
		}
	}
	h.must(h.model.SetConfig(ctx, swiftConfig("good-swift-pw")))
	h.must(h.model.Deploy(ctx, 1))
	h.wantStatus(unit0, "active", "Ready at")
	good := h.file(unit0, "/etc/docker/registry/config.yml")
	if !strings.Contains(good, "swift:") {
		t.Fatalf("config.yml has no swift section:\n%s", good)
	}
	if checks == 0 {
		t.Fatal("Swift storage was never checked")
	}

	mark := h.services(unit0).mark()
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-swift-password": "wrong-swift-pw"}))
	h.wantStatus(unit0, "blocked", "Swift refused the login: check storage-swift-username")
	if st := h.status(unit0); !strings.HasSuffix(st.Message, "(serving the previous configuration)") {
		t.Errorf("status %q does not say the previous configuration is served", st.Message)
	}
	if calls := h.services(unit0).since(mark); len(calls) != 0 {
		t.Errorf("a refused login touched the service: %v", calls)
	}
	if h.file(unit0, "/etc/docker/registry/config.yml") != good {
		t.Error("config.yml rewritten with a login Swift refused")
	}
	for _, l := range h.model.Unit(unit0).Logs() {
		if strings.Contains(l.Message, "wrong-swift-pw") || strings.Contains(l.Message, "good-swift-pw") {
			t.Fatal("a Swift password reached the debug log")
		}
	}
	h.must(h.model.SetConfig(ctx, map[string]any{"storage-swift-password": "good-swift-pw"}))
	h.wantStatus(unit0, "active", "Ready at")
}
