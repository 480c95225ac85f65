package registry

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// Metrics distribution does not export but the charm's alert rules need:
// the served certificate's expiry, the data filesystem's space and the
// health checks' verdict. They are read when scraped, from what the server
// serves now, so they cannot go stale across reloads. Named under
// docker_registry_ so they never collide with distribution's registry_*.
var (
	certExpiryDesc = prometheus.NewDesc("docker_registry_tls_certificate_expiry_timestamp_seconds",
		"When the certificate the registry serves expires (Unix time); absent without TLS.", nil, nil)
	fsAvailDesc = prometheus.NewDesc("docker_registry_data_filesystem_avail_bytes",
		"Bytes available to the registry on the filesystem of its storage root; absent with object storage.",
		[]string{"path"}, nil)
	fsSizeDesc = prometheus.NewDesc("docker_registry_data_filesystem_size_bytes",
		"Size in bytes of the filesystem of the registry's storage root; absent with object storage.",
		[]string{"path"}, nil)
	healthDesc = prometheus.NewDesc("docker_registry_health_checks_failing",
		"How many of the registry's health checks (storage driver) fail now; the API answers 503 while any does.",
		nil, nil)
)

// newMetricsHandler serves Prometheus's default registry, where
// distribution registers its metrics (what go-metrics' Handler serves),
// together with ours, kept in a registry of this server's own so that
// several servers in one process (tests) do not collide.
func newMetricsHandler(s *Server) http.Handler {
	own := prometheus.NewRegistry()
	own.MustRegister(ownMetrics{s})
	// Instrumented like promhttp.Handler, which served /metrics before.
	//
	// ContinueOnError: distribution's redis cache adds a timer named
	// registry_storage_cache_redis_seconds to its process-wide storage
	// namespace every time an App is built with it, so after a reload
	// the namespace holds two of them and a strict gather fails the whole
	// page with a 500. Served this way, every other metric stays, and
	// that one is the first App's (its latencies stop at the reload;
	// README, Monitoring).
	return promhttp.InstrumentMetricHandler(prometheus.DefaultRegisterer,
		promhttp.HandlerFor(prometheus.Gatherers{prometheus.DefaultGatherer, own},
			promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// ownMetrics collects the metrics above from s.
type ownMetrics struct{ s *Server }

func (m ownMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- certExpiryDesc
	ch <- fsAvailDesc
	ch <- fsSizeDesc
	ch <- healthDesc
}

func (m ownMetrics) Collect(ch chan<- prometheus.Metric) {
	if leaf := m.s.servedLeaf(); leaf != nil {
		ch <- prometheus.MustNewConstMetric(certExpiryDesc, prometheus.GaugeValue, float64(leaf.NotAfter.Unix()))
	}
	g := m.s.gen.Load()
	if g == nil {
		return
	}
	if root, ok := filesystemRoot(g); ok {
		var st unix.Statfs_t
		if unix.Statfs(root, &st) == nil {
			bs := float64(st.Bsize)
			ch <- prometheus.MustNewConstMetric(fsAvailDesc, prometheus.GaugeValue, float64(st.Bavail)*bs, root)
			ch <- prometheus.MustNewConstMetric(fsSizeDesc, prometheus.GaugeValue, float64(st.Blocks)*bs, root)
		}
	}
	// The checks run in the background; CheckStatus reads their last result.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, float64(len(g.health.CheckStatus(ctx))))
}

// servedLeaf is the certificate handed to TLS clients now, nil without TLS.
func (s *Server) servedLeaf() *x509.Certificate {
	c := s.cert.Load()
	if c == nil || c.cert == nil {
		return nil
	}
	if c.cert.Leaf != nil {
		return c.cert.Leaf
	}
	if len(c.cert.Certificate) == 0 {
		return nil
	}
	leaf, err := x509.ParseCertificate(c.cert.Certificate[0])
	if err != nil {
		return nil
	}
	return leaf
}

func filesystemRoot(g *generation) (string, bool) {
	if g.cfg.Storage.Type() != "filesystem" {
		return "", false
	}
	root, _ := g.cfg.Storage.Parameters()["rootdirectory"].(string)
	if root == "" {
		root = "/var/lib/registry" // distribution's default
	}
	return root, true
}
