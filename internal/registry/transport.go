package registry

import (
	"net/http"
	"time"
)

// storageResponseTimeout bounds how long the registry waits for object
// storage to begin answering one request: its response headers (for an
// upload, counted from the last byte sent). The s3 driver sets no timeouts
// of its own, so S3 that went silent mid-request held that request, and
// the client behind it, until TCP gave up: minutes, or for ever for a
// request already waiting on its answer. Generous, because some
// S3-compatible stores answer CompleteMultipartUpload only once the object
// is assembled; the SDK retries three times on top.
var storageResponseTimeout = 60 * time.Second

// boundStorageWaits gives the HTTP clients the s3 driver sends through the
// response timeout they lack. The driver uses http.DefaultClient, or a
// clone of http.DefaultTransport with skipverify; and when AWS_CA_BUNDLE
// is set, the AWS SDK gives http.DefaultClient a transport of its own
// making (without the timeout) unless it already has one, which it then
// adjusts in place. So both get the timeout, and http.DefaultClient a
// transport of its own for the SDK to adjust. It must run before the first
// driver is created; a timeout someone already set is kept.
func boundStorageWaits() {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return
	}
	if t.ResponseHeaderTimeout == 0 {
		t.ResponseHeaderTimeout = storageResponseTimeout
	}
	if http.DefaultClient.Transport == nil {
		http.DefaultClient.Transport = t.Clone()
	}
}
