package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Deadlines of every request the actions make, to our registry and to a
// source. An action holds Juju's machine lock: a request that waits for
// ever (a registry that accepts connections and never answers, a source
// that stops sending) would keep every hook of the machine from running.
//
// They bound progress, not total time. A push of a multi-gigabyte layer
// over a slow link legitimately streams one request for many minutes, so
// no limit applies to a whole request: the limits are on silence. While a
// body moves (ours going up, or the answer coming down), each read must
// bring data within idleTimeout; between the last byte sent and the answer's
// headers, the peer has answerTimeout (commitTimeout for the requests that
// make the registry commit an upload, which on S3 copies the blob
// server-side and takes time that grows with its size). Dial and TLS
// handshake have their own limits in newTransport.
//
// Variables so that tests can shorten them.
var (
	idleTimeout   = 60 * time.Second
	answerTimeout = 60 * time.Second
	commitTimeout = 10 * time.Minute
)

// ErrStalled is wrapped by the error of a request that went silent for
// longer than its deadline.
var ErrStalled = errors.New("no progress")

// stallGuard cancels a request that makes no progress within its deadline
// (see above). It is the outermost layer of the transports we build, so
// that it sees the bytes as they really move.
type stallGuard struct {
	next http.RoundTripper
}

func (s stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watch{cancel: cancel, where: req.Method + " " + req.URL.Host + req.URL.Path}
	wait, waitWhat := answerTimeout, "no answer within %s"
	if isCommit(req) {
		wait = commitTimeout
	}
	out := req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		armWait := func() { w.sent(wait, waitWhat) }
		wrapBody(out, func(rc io.ReadCloser) io.ReadCloser { return &watchedBody{rc: rc, w: w, atEOF: armWait} })
		w.arm(idleTimeout, "sent nothing for %s")
	} else {
		w.arm(wait, waitWhat)
	}
	resp, err := s.next.RoundTrip(out)
	if err != nil {
		w.stop()
		cancel(nil)
		return nil, w.explain(err)
	}
	w.answer()
	resp.Body = &watchedBody{rc: resp.Body, w: w, atClose: func() { w.stop(); cancel(nil) }}
	return resp, nil
}

// isCommit: the final PUT of a blob upload, and the PATCH whose answer
// comes once the registry has written the last chunk to its storage.
func isCommit(req *http.Request) bool {
	return (req.Method == http.MethodPut || req.Method == http.MethodPatch) &&
		strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// watch is one request's deadline: a timer re-armed by every read.
type watch struct {
	cancel context.CancelCauseFunc
	where  string

	mu       sync.Mutex
	timer    *time.Timer
	limit    time.Duration
	what     string // format of the error, with the limit
	fired    error
	answered bool
}

// sent: the request body is all out; the peer's answer is due.
func (w *watch) sent(limit time.Duration, what string) {
	w.mu.Lock()
	answered := w.answered
	w.mu.Unlock()
	if !answered {
		w.arm(limit, what)
	}
}

// answer: the headers are in; from now on the body must keep coming.
func (w *watch) answer() {
	w.mu.Lock()
	w.answered = true
	w.mu.Unlock()
	w.arm(idleTimeout, "received nothing for %s")
}

func (w *watch) arm(limit time.Duration, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired != nil {
		return
	}
	w.limit, w.what = limit, what
	if w.timer == nil {
		w.timer = time.AfterFunc(limit, w.fire)
		return
	}
	w.timer.Reset(limit)
}

// touch records progress: the current limit starts again.
func (w *watch) touch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired == nil && w.timer != nil {
		w.timer.Reset(w.limit)
	}
}

func (w *watch) fire() {
	w.mu.Lock()
	if w.fired != nil {
		w.mu.Unlock()
		return
	}
	w.fired = fmt.Errorf("%s: %w: "+w.what, w.where, ErrStalled, w.limit)
	err := w.fired
	w.mu.Unlock()
	w.cancel(err)
}

func (w *watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

// explain replaces the transport's "context canceled" by the reason.
func (w *watch) explain(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired == nil || err == nil {
		return err
	}
	return w.fired
}

// watchedBody reports progress to its watch and says when it ends.
type watchedBody struct {
	rc      io.ReadCloser
	w       *watch
	atEOF   func() // request bodies: all sent, now wait for the answer
	atClose func() // response bodies: the request is over
	once    sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.touch()
	}
	if errors.Is(err, io.EOF) && b.atEOF != nil {
		b.once.Do(b.atEOF)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, b.w.explain(err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	if b.atClose != nil {
		b.atClose()
	}
	return err
}
