package registry

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// silentStorage accepts connections and reads what is sent, but never
// answers: S3 behind a network that lost the way back.
func silentStorage(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// withShortStorageTimeout puts the process's HTTP defaults back as they
// were before storagewait.Bound, with a short timeout for it to apply,
// and restores them after the test.
func withShortStorageTimeout(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport)
	savedTimeout, savedVar, savedClient := tr.ResponseHeaderTimeout, storageResponseTimeout, http.DefaultClient.Transport
	t.Cleanup(func() {
		tr.ResponseHeaderTimeout, storageResponseTimeout, http.DefaultClient.Transport = savedTimeout, savedVar, savedClient
	})
	tr.ResponseHeaderTimeout, storageResponseTimeout, http.DefaultClient.Transport = 0, 300*time.Millisecond, nil
}

// A pull whose storage stops answering fails within a bounded time (the
// response timeout, times the SDK's retries) instead of hanging for as
// long as the client waits: with the SDK's default client, and with the
// one it builds for a CA bundle.
func TestSilentStorageFailsRequestsInBoundedTime(t *testing.T) {
	for name, caBundle := range map[string]string{"no CA bundle": "", "AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"} {
		t.Run(name, func(t *testing.T) {
			if caBundle != "" {
				if _, err := http.Dir("/").Open(caBundle); err != nil {
					t.Skipf("no CA bundle here: %v", err)
				}
			}
			t.Setenv("AWS_CA_BUNDLE", caBundle)
			withShortStorageTimeout(t)
			r := startServerQuiet(t, testConfig{S3Endpoint: silentStorage(t)})
			// Not the default transport: that is the registry's, with the
			// short timeout.
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
			start := time.Now()
			resp, err := c.Get("http://" + r.host() + "/v2/app/manifests/latest")
			took := time.Since(start)
			if err != nil {
				t.Fatalf("the pull hung until the client gave up after %s: %v", took.Round(time.Second), err)
			}
			resp.Body.Close()
			if resp.StatusCode < 500 {
				t.Errorf("GET manifest with silent storage = %d, want a server error", resp.StatusCode)
			}
			if took > 15*time.Second {
				t.Errorf("the pull took %s to fail", took)
			}
			t.Logf("failed with %d after %s", resp.StatusCode, took.Round(time.Millisecond))
		})
	}
}
