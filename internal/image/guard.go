package image

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// guard is the innermost round tripper of every client we build. It keeps
// secrets off plain http, and counts the blob bytes really uploaded (ggcr's
// progress counts skipped blobs as done, which would hide a re-upload).
type guard struct {
	next    http.RoundTripper
	ownHost string // the only host that may see credentials over plain http
	plainOK bool   // plain http allowed at all (an insecure target)
	count   *int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.check(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if g.count == nil || req.Body == nil || !isBlobUpload(req) {
		return g.next.RoundTrip(req)
	}
	return g.next.RoundTrip(g.counted(req))
}

func (g *guard) check(req *http.Request) error {
	if req.URL.Scheme != "http" {
		return nil
	}
	if !g.plainOK {
		return fmt.Errorf("cannot use plain http to %s: TLS is required", req.URL.Host)
	}
	if req.Header.Get("Authorization") != "" && req.URL.Host != g.ownHost {
		return fmt.Errorf("cannot send credentials over plain http to %s", req.URL.Host)
	}
	return nil
}

func isBlobUpload(req *http.Request) bool {
	return (req.Method == http.MethodPatch || req.Method == http.MethodPut || req.Method == http.MethodPost) &&
		strings.Contains(req.URL.Path, "/blobs/uploads/")
}

// counted returns a copy of req whose body adds what it sends to g.count.
func (g *guard) counted(req *http.Request) *http.Request {
	out := req.Clone(req.Context())
	wrapBody(out, func(rc io.ReadCloser) io.ReadCloser { return &countingBody{rc: rc, n: g.count} })
	return out
}

// wrapBody wraps the body of req, a clone the caller made, and every body
// its GetBody makes for a retry, so that a resent body is wrapped too.
func wrapBody(req *http.Request, wrap func(io.ReadCloser) io.ReadCloser) {
	req.Body = wrap(req.Body)
	if getBody := req.GetBody; getBody != nil {
		req.GetBody = func() (io.ReadCloser, error) {
			rc, err := getBody()
			if err != nil {
				return nil, err
			}
			return wrap(rc), nil
		}
	}
}

type countingBody struct {
	rc io.ReadCloser
	n  *int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	atomic.AddInt64(c.n, int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }
