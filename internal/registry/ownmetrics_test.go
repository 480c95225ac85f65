package registry

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/pki/pkitest"
)

func scrape(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get("http://" + r.DebugAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestOwnMetrics: the series the alert rules need and distribution lacks
// follow what the server serves: the certificate's expiry (and its
// rotation), the storage root's filesystem, the failing health checks.
func TestOwnMetrics(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "test CA")
	cert, key := filepath.Join(dir, "r.crt"), filepath.Join(dir, "r.key")
	issueAt(t, ca, cert, key)
	root := t.TempDir()
	cfg := testConfig{RootDir: root, Cert: cert, Key: key, DebugAddr: "127.0.0.1:0", Prometheus: true}
	r := startServer(t, cfg)

	expiry := func() string {
		pemBytes, err := os.ReadFile(cert)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := pem.Decode(pemBytes)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("docker_registry_tls_certificate_expiry_timestamp_seconds %g\n", float64(c.NotAfter.Unix()))
	}
	m := scrape(t, r)
	for _, want := range []string{
		expiry(),
		fmt.Sprintf("docker_registry_data_filesystem_avail_bytes{path=%q} ", root),
		fmt.Sprintf("docker_registry_data_filesystem_size_bytes{path=%q} ", root),
		"docker_registry_health_checks_failing 0\n",
		"promhttp_metric_handler_requests_total", // still what promhttp.Handler served
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// A new certificate (new serial, later expiry) is reported after reload.
	before := expiry()
	for expiry() == before {
		issueAt(t, pkitest.NewCA(t, "other CA"), cert, key)
	}
	r.reconfigure(t, cfg)
	if m := scrape(t, r); !strings.Contains(m, expiry()) {
		t.Errorf("/metrics does not follow the rotated certificate: want %q", expiry())
	}

	// Without TLS the expiry is absent rather than stale.
	cfg.Cert, cfg.Key = "", ""
	r.reconfigure(t, cfg)
	if m := scrape(t, r); strings.Contains(m, "docker_registry_tls_certificate_expiry_timestamp_seconds ") {
		t.Error("expiry still reported with TLS off")
	}
}
