package charm

import (
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

const containerdNeedsTLS = " containerd workers need TLS: relate cert-provider or set tls-cert-blob and tls-key-blob."

// The warning follows what containerd workers can really do: it appears
// only while a docker-registry relation exists, the registry serves
// plain http and workers are sent to a host containerd reaches over
// https (anything but loopback), and goes as soon as one of those ends.
func TestStatusWarnsContainerdWorkersNeedTLS(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "http://registry.example.internal:5000/"}))
	const ready = "Ready at 127.0.10.1:5000 (http)."
	h.wantStatus(unit0, "active", ready)

	clients, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	h.wantStatus(unit0, "active", ready+containerdNeedsTLS)

	_, certs := relateEasyRSA(h)
	h.wantStatus(unit0, "active", "Ready at 127.0.10.1:5000 (https).")
	h.must(h.model.Unrelate(ctx, certs))
	h.wantStatus(unit0, "active", ready+containerdNeedsTLS)

	// TLS terminated in front of the registry is enough.
	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "https://registry.example.internal/"}))
	h.wantStatus(unit0, "active", ready)
	// Workers sent to a loopback address are reached over http.
	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": ""}))
	h.wantStatus(unit0, "active", ready)

	h.must(h.model.SetConfig(ctx, map[string]any{"http-host": "http://registry.example.internal:5000/"}))
	h.wantStatus(unit0, "active", ready+containerdNeedsTLS)
	h.must(h.model.Unrelate(ctx, clients))
	h.wantStatus(unit0, "active", ready)
}

// Which netlocs containerd reaches over plain http: loopback addresses
// and localhost only (containerd 1.6 remotes/docker IsLocalhost).
func TestContainerdTLSWarningHosts(t *testing.T) {
	o := &Observed{Clients: []Relation{{ID: "docker-registry:1"}}}
	for netloc, warn := range map[string]bool{
		"127.0.10.1:5000":       false,
		"127.255.0.9":           false,
		"localhost:5000":        false,
		"[::1]:5000":            false,
		"10.0.0.5:5000":         true,
		"[fd00::5]:5000":        true,
		"registry.example:5000": true,
		"localhost.example":     true,
		"":                      true,
	} {
		got := containerdTLSWarning(o, &Desired{Scheme: "http", Netloc: netloc}) != ""
		if got != warn {
			t.Errorf("netloc %q: warning %v, want %v", netloc, got, warn)
		}
		if containerdTLSWarning(o, &Desired{Scheme: "https", Netloc: netloc}) != "" {
			t.Errorf("netloc %q: warning over https", netloc)
		}
	}
}

// Credentials containerd workers cannot take are named (never shown)
// while they are related, and the warning goes with a usable password.
func TestStatusWarnsContainerdCannotTakeThePassword(t *testing.T) {
	h := newHarness(t)
	h.must(h.model.Deploy(ctx, 1))
	const hostile = `pa"ss\word`
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": hostile}))
	const ready = "Ready at 127.0.10.1:5000 (http)."
	h.wantStatus(unit0, "active", ready)
	_, err := h.model.Relate(ctx, "docker-registry", "containerd", sim.RemoteUnit{Name: "containerd/0"})
	h.must(err)
	const warning = ` containerd workers cannot take auth-basic-password with ", \ or control characters: choose another.`
	h.wantStatus(unit0, "active", ready+warning)
	h.must(h.model.SetConfig(ctx, map[string]any{"auth-basic-password": "plain-Password_1"}))
	h.wantStatus(unit0, "active", ready)
}

func TestTOMLQuotable(t *testing.T) {
	for s, ok := range map[string]bool{
		"s3cr3t-_.~!@#$%^&*()'": true,
		"tab\tinside":           true,
		"ünïcödé":               true,
		`quote"`:                false,
		`back\slash`:            false,
		"new\nline":             false,
		"nul\x00":               false,
		"del\x7f":               false,
	} {
		if tomlQuotable(s) != ok {
			t.Errorf("tomlQuotable(%q) = %v, want %v", s, !ok, ok)
		}
	}
}
