// Package storagewait bounds how long a process waits for object storage
// to answer, for the registry server and the garbage collector alike: both
// run distribution's s3 driver, which sets no timeouts of its own.
package storagewait

import (
	"net/http"
	"time"
)

// Bound gives the HTTP clients the s3 driver sends through a response
// timeout (how long to wait for response headers, for an upload counted
// from the last byte sent): S3 that went silent would otherwise hold a
// request, and whoever waits on it, until TCP gave up, or for ever for a
// request already waiting on its answer.
//
// The driver uses http.DefaultClient, or a clone of http.DefaultTransport
// with skipverify; and when AWS_CA_BUNDLE is set, the AWS SDK gives
// http.DefaultClient a transport of its own making (without the timeout)
// unless it already has one, which it then adjusts in place. So both get
// the timeout, and http.DefaultClient a transport of its own for the SDK
// to adjust. It must run before the first driver is created; a timeout
// someone already set is kept.
func Bound(timeout time.Duration) {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return
	}
	if t.ResponseHeaderTimeout == 0 {
		t.ResponseHeaderTimeout = timeout
	}
	if http.DefaultClient.Transport == nil {
		http.DefaultClient.Transport = t.Clone()
	}
}
