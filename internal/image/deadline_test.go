package image

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// shortDeadlines makes the stall deadlines and the ping timeout small for
// one test (none of these tests run in parallel).
func shortDeadlines(t *testing.T, d time.Duration) {
	t.Helper()
	oldIdle, oldAnswer, oldCommit, oldPing := idleTimeout, answerTimeout, commitTimeout, PingTimeout
	idleTimeout, answerTimeout, commitTimeout, PingTimeout = d, d, d, d
	t.Cleanup(func() {
		idleTimeout, answerTimeout, commitTimeout, PingTimeout = oldIdle, oldAnswer, oldCommit, oldPing
	})
}

// stuckListener accepts TCP connections into its kernel backlog and never
// reads them: what a registry process that hangs behind the socket
// systemd holds looks like to a client. Connects succeed; nothing answers.
func stuckListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// closedPort is a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// within runs f and fails the test if it takes longer than limit. The
// call runs in its own goroutine so that a hang is reported, not waited
// for until the test binary's own timeout.
func within(t *testing.T, limit time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- f() }()
	select {
	case err := <-done:
		t.Logf("%s returned in %s: %v", what, time.Since(start).Round(time.Millisecond), err)
		return err
	case <-time.After(limit):
		t.Fatalf("%s still running after %s", what, limit)
		return nil
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestPingAStuckRegistryFailsInTime(t *testing.T) {
	shortDeadlines(t, 500*time.Millisecond)
	tg := Target{Netloc: stuckListener(t), Insecure: true}
	err := within(t, 5*time.Second, "ping", func() error { return tg.Ping(context.Background()) })
	wantErr(t, err, tg.Netloc, "does not answer within 500ms")
	if !errors.Is(err, ErrNotAnswering) {
		t.Errorf("%v is not ErrNotAnswering", err)
	}
	// Over TLS the handshake is what never completes.
	tg.Insecure, tg.CAPEM = false, nil
	err = within(t, 5*time.Second, "ping over TLS", func() error { return tg.Ping(context.Background()) })
	wantErr(t, err, tg.Netloc, "does not answer")
}

func TestPingAClosedPortSaysRefused(t *testing.T) {
	tg := Target{Netloc: closedPort(t), Insecure: true}
	err := within(t, 5*time.Second, "ping", func() error { return tg.Ping(context.Background()) })
	wantErr(t, err, tg.Netloc, "refuses connections")
}

func TestPingA503SaysSo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"service unavailable","detail":"health check failed"}]}`,
			http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	tg := Target{Netloc: srv.Listener.Addr().String(), Insecure: true}
	err := within(t, 5*time.Second, "ping", func() error { return tg.Ping(context.Background()) })
	wantErr(t, err, tg.Netloc, "503 Service Unavailable")
}

func TestPingARealRegistry(t *testing.T) {
	for _, o := range []regOpts{{}, {tls: true, user: user, password: password}} {
		reg := newRegistry(t, o)
		if err := reg.target("", "").Ping(context.Background()); err != nil {
			t.Errorf("tls=%t: %v", o.tls, err)
		}
	}
}

// Without deadlines, each of these waits on the stuck registry for ever.
func TestActionsOnAStuckRegistryReturn(t *testing.T) {
	shortDeadlines(t, 300*time.Millisecond)
	src := newRegistry(t, regOpts{})
	putIndex(t, src.Netloc+"/app:1", twoPlatformIndex(t, 1<<10, 1))
	tg := Target{Netloc: stuckListener(t), Insecure: true}
	ctx := context.Background()

	err := within(t, 10*time.Second, "push", func() error {
		return Push(ctx, PushRequest{Source: src.Netloc + "/app:1", Dest: "app:1", Target: tg}).Err
	})
	wantErr(t, err, "no answer within 300ms")
	err = within(t, 10*time.Second, "list", func() error { _, err := List(ctx, tg, "", true); return err })
	wantErr(t, err, "no answer within 300ms")
	err = within(t, 10*time.Second, "delete", func() error { _, err := Delete(ctx, tg, []string{"app:1"}); return err })
	wantErr(t, err, "no answer within 300ms")
}

// A source that stops sending in the middle of a blob fails the push
// once nothing has come for idleTimeout.
func TestPushFromASourceThatStallsMidBlob(t *testing.T) {
	shortDeadlines(t, 500*time.Millisecond)
	real := newRegistry(t, regOpts{})
	putIndex(t, real.Netloc+"/app:1", twoPlatformIndex(t, 256<<10, 1))
	stall := make(chan struct{})
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get("http://" + real.Netloc + r.URL.String())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		if !strings.Contains(r.URL.Path, "/blobs/") {
			io.Copy(w, resp.Body)
			return
		}
		io.CopyN(w, resp.Body, 1024) // a little of the layer, then silence
		w.(http.Flusher).Flush()
		select {
		case <-stall:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(func() { close(stall) }) // first: Close waits for the handler
	dst := newRegistry(t, regOpts{})
	err := within(t, 20*time.Second, "push", func() error {
		return Push(context.Background(), PushRequest{
			Source: proxy.Listener.Addr().String() + "/app:1", Dest: "app:1", Target: dst.target("", ""),
		}).Err
	})
	// The source's read and the target's upload starve at the same
	// moment (and on a loaded machine the stalled source may not even get
	// its headers out): whichever deadline speaks, it is one of silence.
	wantErr(t, err, "no progress", "500ms")
}

// A registry that stops reading an upload fails the push once the socket
// buffers are full and nothing has moved for idleTimeout.
func TestPushToARegistryThatStopsReading(t *testing.T) {
	shortDeadlines(t, 500*time.Millisecond)
	src := newRegistry(t, regOpts{})
	// Bigger than what loopback socket buffers hold on both sides.
	putIndex(t, src.Netloc+"/big:1", twoPlatformIndex(t, 48<<20, 1))
	stall := make(chan struct{})
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case r.Method == http.MethodHead:
			w.WriteHeader(http.StatusNotFound)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
			w.Header().Set("Location", r.URL.Path+"u1")
			w.WriteHeader(http.StatusAccepted)
		default:
			// Small bodies (the config blob) are taken; the layer is read
			// for its first MiB, then never again, never answered.
			n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20+1))
			switch {
			case n <= 1<<20 && r.Method == http.MethodPut:
				w.WriteHeader(http.StatusCreated)
				return
			case n <= 1<<20:
				w.Header().Set("Location", r.URL.Path)
				w.WriteHeader(http.StatusAccepted)
				return
			}
			select {
			case <-stall:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(dst.Close)
	t.Cleanup(func() { close(stall) }) // first: Close waits for the handler
	tg := Target{Netloc: dst.Listener.Addr().String(), Insecure: true}
	err := within(t, 30*time.Second, "push", func() error {
		return Push(context.Background(), PushRequest{Source: src.Netloc + "/big:1", Dest: "big:1", Target: tg}).Err
	})
	wantErr(t, err, "sent nothing for 500ms")
}

// The deadlines are on silence, not on the whole request: a transfer that
// keeps moving runs for many times the deadline.
func TestSlowButSteadyTransfersAreNotCut(t *testing.T) {
	shortDeadlines(t, 300*time.Millisecond)
	const chunks = 12 // 12 × 100 ms: four times the deadline
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1024)
		n := 0
		for {
			time.Sleep(100 * time.Millisecond)
			m, err := r.Body.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		for i := 0; i < chunks; i++ {
			w.Write(buf)
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: stallGuard{next: http.DefaultTransport}}
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < chunks; i++ {
			pw.Write(make([]byte, 1024))
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	start := time.Now()
	resp, err := client.Post(srv.URL+"/v2/x/blobs/uploads/", "application/octet-stream", pr)
	if err != nil {
		t.Fatalf("a steady upload was cut after %s: %v", time.Since(start), err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != chunks*1024 {
		t.Fatalf("a steady download was cut after %s: %d bytes, %v", time.Since(start), n, err)
	}
	if d := time.Since(start); d < 8*300*time.Millisecond {
		t.Fatalf("took only %s; the test does not show what it means to", d)
	}
}
