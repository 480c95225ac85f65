package e2e

import (
	"context"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

// An invalid option never breaks a serving registry: the unit goes blocked
// naming the option, config-changed exits 0, the registry keeps its last
// good configuration (an image pushed earlier still pulls by digest), and
// fixing the option brings the unit back to active.
func TestInvalidOptionKeepsServing(t *testing.T) {
	u := regDeploy(t, nil)
	plain := deploy.Client{Env: u.E}
	im := u.Push(plain, 5000, "demo/invalid:v1")
	pid := u.MainPID()

	u.Configure(map[string]any{"registry-port": 0})
	u.WantStatus("blocked", "registry-port")
	if err := u.PullByDigest(plain, 5000, im); err != nil {
		t.Fatalf("registry-port=0: pull by digest: %v", err)
	}
	// update-status keeps saying what is wrong.
	if err := u.E.Model.UpdateStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.WantStatus("blocked", "registry-port")

	// Two bad options: both named.
	u.Configure(map[string]any{"log-level": "chatty"})
	u.WantStatus("blocked", "registry-port", "log-level")
	if err := u.PullByDigest(plain, 5000, im); err != nil {
		t.Fatalf("two invalid options: pull by digest: %v", err)
	}

	u.Configure(map[string]any{"registry-port": nil, "log-level": nil})
	u.WantReady(5000, "http")

	// A garbage certificate blob with a good key and CA: the registry
	// keeps serving plain http rather than a certificate it cannot use.
	pki := newRegPKI(t)
	good := pki.TLSConfig(t, u.Addr, "none")
	bad := map[string]any{}
	for k, v := range good {
		bad[k] = v
	}
	bad["tls-cert-blob"] = "this is not base64 !!"
	u.Configure(bad)
	u.WantStatus("blocked", "tls-cert-blob")
	if err := u.PullByDigest(plain, 5000, im); err != nil {
		t.Fatalf("garbage tls-cert-blob: pull by digest: %v", err)
	}

	// A well-formed certificate that does not match the key.
	other, _ := pki.ServerPair(t, u.Addr)
	u.Configure(map[string]any{"tls-cert-blob": b64(other)})
	u.WantStatus("blocked", "tls-")
	if err := u.PullByDigest(plain, 5000, im); err != nil {
		t.Fatalf("mismatched tls-cert-blob: pull by digest: %v", err)
	}

	u.Configure(good)
	u.WantReady(5000, "https")
	if err := u.PullByDigest(deploy.Client{Env: u.E, CAPEM: pki.CAPEM}, 5000, im); err != nil {
		t.Fatalf("after fixing the certificate: pull by digest over https: %v", err)
	}
	if got := u.MainPID(); got != pid {
		t.Errorf("the registry restarted (MainPID %d -> %d); invalid options and TLS changes should not restart it", pid, got)
	}
}
