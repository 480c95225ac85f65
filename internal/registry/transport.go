package registry

import "time"

// storageResponseTimeout bounds how long the registry waits for object
// storage to begin answering one request: its response headers (for an
// upload, counted from the last byte sent). The s3 driver sets no timeouts
// of its own, so S3 that went silent mid-request held that request, and
// the client behind it, until TCP gave up: minutes, or for ever for a
// request already waiting on its answer. Generous, because some
// S3-compatible stores answer CompleteMultipartUpload only once the object
// is assembled; the SDK retries three times on top.
var storageResponseTimeout = 60 * time.Second
