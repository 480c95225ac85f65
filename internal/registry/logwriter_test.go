package registry

import (
	"crypto/tls"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// The charm's probe (plain HTTP to the TLS port, from this machine) must
// not leave a warning per update-status; other handshake failures must.
func TestLogWriterQuietsOnlyTheProbe(t *testing.T) {
	var out syncBuffer
	logrus.SetOutput(&out)
	level, formatter := logrus.GetLevel(), logrus.StandardLogger().Formatter
	logrus.SetLevel(logrus.InfoLevel)
	logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true})
	t.Cleanup(func() { logrus.SetOutput(os.Stderr); logrus.SetLevel(level); logrus.SetFormatter(formatter) })

	s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	s.Config.ErrorLog = log.New(logWriter{}, "", 0)
	s.StartTLS()
	defer s.Close()
	addr := s.Listener.Addr().String()

	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain HTTP to the TLS port got %d, want 400", resp.StatusCode)
	}
	// A TLS client that gives up mid-handshake is worth a warning.
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "not-the-cert"})
	if err == nil {
		conn.Close()
		t.Fatal("handshake with a name the certificate lacks succeeded")
	}
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(out.String(), "TLS handshake error") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logged := out.String()
	if strings.Contains(logged, "HTTP request to an HTTPS server") {
		t.Errorf("the probe left a warning: %s", logged)
	}
	if !strings.Contains(logged, "level=warning") || !strings.Contains(logged, "TLS handshake error") {
		t.Errorf("a failed handshake was not logged as a warning: %q", logged)
	}
}
