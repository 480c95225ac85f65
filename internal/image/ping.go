package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"
)

// PingTimeout bounds Ping: long enough for a registry that is busy
// (reloading, or answering a bcrypt check for every client), short enough
// that an action against a registry that will never answer fails in
// seconds instead of holding the machine lock.
var PingTimeout = 10 * time.Second

// ErrNotAnswering is wrapped by Ping's errors: the registry did not give
// a usable answer to a request of its API.
var ErrNotAnswering = errors.New("registry does not answer")

// notAnswering is an error of Ping; errors.Is(err, ErrNotAnswering) holds.
type notAnswering struct{ msg string }

func (e *notAnswering) Error() string        { return e.msg }
func (e *notAnswering) Is(target error) bool { return target == ErrNotAnswering }

func notAnsweringf(format string, args ...any) error {
	return &notAnswering{msg: fmt.Sprintf(format, args...)}
}

// Ping asks the registry's API root (GET /v2/) once, within PingTimeout,
// on a fresh connection through the same TLS settings and client
// certificate the actions use. Any answer of the API counts (200, or 401
// when it wants credentials; none are sent); a refused connection,
// silence, a 5xx (the registry's storage fails its health check, or a
// proxy has no backend) or something that is not a registry fails, naming
// what happened.
func (t Target) Ping(ctx context.Context) error {
	base, err := t.transport(nil)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	scheme := "https"
	if t.Insecure {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+t.Netloc+"/v2/", nil)
	if err != nil {
		return fmt.Errorf("cannot ask the registry at %s: %w", t.Netloc, err)
	}
	req.Close = true // a fresh connection: the answer is about now
	client := &http.Client{
		Transport:     base,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return t.pingError(ctx, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized:
		return nil
	case resp.StatusCode >= 500:
		return notAnsweringf("the registry at %s answers %s (its storage may be failing its health check)", t.Netloc, resp.Status)
	default:
		return notAnsweringf("%s answers %s to /v2/: no registry API there", t.Netloc, resp.Status)
	}
}

func (t Target) pingError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return notAnsweringf("the registry at %s refuses connections (is its service stopped?)", t.Netloc)
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, ErrStalled):
		return notAnsweringf("the registry at %s does not answer within %s (stuck, or starting over and over?)", t.Netloc, PingTimeout)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return notAnsweringf("the registry at %s closes connections without answering (is it restarting?)", t.Netloc)
	}
	return notAnsweringf("cannot reach the registry at %s: %v", t.Netloc, err)
}
