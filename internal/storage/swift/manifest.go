package swift

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ncw/swift/v2"
)

// segment is one part of a large object, named inside the driver's
// container.
type segment struct {
	Name string
	Etag string // MD5 of the content, hex
	Size int64
}

// bulkDeleteBatch stays under Swift's default max_deletes_per_request
// (10000).
const bulkDeleteBatch = 1000

// segments reads the manifest of the large object name
// (GET ?multipart-manifest=get).
func (d *driver) segments(ctx context.Context, name string) ([]segment, error) {
	resp, _, err := d.call(ctx, swift.RequestOpts{
		Container: d.container, ObjectName: name, Operation: "GET",
		Parameters: url.Values{"multipart-manifest": {"get"}},
		ErrorMap:   swift.ContainerErrorMap, // 404 → not found
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Swift answers with "name", "hash", "bytes" per segment.
	var list []struct {
		Name  string `json:"name"`
		Hash  string `json:"hash"`
		Bytes int64  `json:"bytes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("cannot decode the manifest of %s: %w", name, err)
	}
	prefix := "/" + d.container + "/"
	segs := make([]segment, len(list))
	for i, s := range list {
		n, ok := strings.CutPrefix(s.Name, prefix)
		if !ok {
			return nil, fmt.Errorf("manifest of %s names a segment outside container %q", name, d.container)
		}
		segs[i] = segment{Name: n, Etag: s.Hash, Size: s.Bytes}
	}
	return segs, nil
}

// segmentsIfManifest returns the segments of name if it is a large
// object, nothing if it is a plain object or absent.
func (d *driver) segmentsIfManifest(ctx context.Context, name string) ([]segment, error) {
	_, h, err := d.conn.Object(ctx, d.container, name)
	switch {
	case isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case !h.IsLargeObjectSLO():
		return nil, nil
	}
	return d.segments(ctx, name)
}

// putManifest writes the SLO manifest name listing segs
// (PUT ?multipart-manifest=put); Swift checks each segment's size and
// MD5 before it accepts it.
func (d *driver) putManifest(ctx context.Context, name string, segs []segment) error {
	type entry struct {
		Path string `json:"path"`
		Etag string `json:"etag"`
		Size int64  `json:"size_bytes"`
	}
	list := make([]entry, len(segs))
	for i, s := range segs {
		list[i] = entry{Path: d.container + "/" + s.Name, Etag: s.Etag, Size: s.Size}
	}
	body, err := json.Marshal(list)
	if err != nil {
		return err
	}
	_, _, err = d.call(ctx, swift.RequestOpts{
		Container: d.container, ObjectName: name, Operation: "PUT",
		Parameters: url.Values{"multipart-manifest": {"put"}},
		Headers: swift.Headers{
			"Content-Type":   manifestType,
			"Content-Length": fmt.Sprint(len(body)),
		},
		Body:       bytes.NewReader(body),
		NoResponse: true,
	})
	if err != nil {
		return fmt.Errorf("cannot write the manifest of %s (%d segments): %w", name, len(segs), err)
	}
	return nil
}

// call makes a request ncw/swift has no method for (manifest query
// parameters) against the storage URL, authenticating as needed.
func (d *driver) call(ctx context.Context, opts swift.RequestOpts) (*http.Response, swift.Headers, error) {
	storageURL, err := d.conn.GetStorageUrl(ctx)
	if err != nil {
		return nil, nil, err
	}
	// Called by ncw/swift with its auth lock held, after it
	// re-authenticated: the field is current and safe to read.
	opts.OnReAuth = func() (string, error) { return d.conn.StorageUrl, nil }
	return d.conn.Call(ctx, storageURL, opts)
}

func segmentNames(segs []segment) []string {
	names := make([]string, len(segs))
	for i, s := range segs {
		names[i] = s.Name
	}
	return names
}

// deleteObjects deletes names from the container, in bulk where the
// cluster allows. Objects already gone are not an error: a retried
// Delete and eventual consistency both meet them.
func (d *driver) deleteObjects(ctx context.Context, names []string) error {
	if _, bulk := d.limits(); bulk {
		for len(names) > 0 {
			n := min(len(names), bulkDeleteBatch)
			res, err := d.conn.BulkDelete(ctx, d.container, names[:n])
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("cannot delete %d objects: %w", n, err)
			}
			for obj, e := range res.Errors {
				if !isNotFound(e) {
					return fmt.Errorf("cannot delete %s: %w", obj, e)
				}
			}
			names = names[n:]
		}
		return nil
	}
	for _, n := range names {
		if err := d.conn.ObjectDelete(ctx, d.container, n); err != nil && !isNotFound(err) {
			return fmt.Errorf("cannot delete %s: %w", n, err)
		}
	}
	return nil
}

// segmentReader reads a large object from its segments, opening each
// one only when the previous one is done.
type segmentReader struct {
	ctx    context.Context
	d      *driver
	segs   []segment
	skip   int64 // bytes of segs[0] to skip
	cur    io.ReadCloser
	closed bool
}

func newSegmentReader(ctx context.Context, d *driver, segs []segment, offset int64) *segmentReader {
	for len(segs) > 0 && offset >= segs[0].Size {
		offset -= segs[0].Size
		segs = segs[1:]
	}
	return &segmentReader{ctx: ctx, d: d, segs: segs, skip: offset}
}

func (r *segmentReader) Read(p []byte) (int, error) {
	for {
		if r.closed {
			return 0, fmt.Errorf("swift: read from a closed reader")
		}
		if r.cur == nil {
			if len(r.segs) == 0 {
				return 0, io.EOF
			}
			var h swift.Headers
			if r.skip > 0 {
				h = swift.Headers{"Range": fmt.Sprintf("bytes=%d-", r.skip)}
			}
			f, _, err := r.d.conn.ObjectOpen(r.ctx, r.d.container, r.segs[0].Name, false, h)
			if err != nil {
				return 0, fmt.Errorf("swift: cannot open segment %s: %w", r.segs[0].Name, err)
			}
			r.cur, r.segs, r.skip = f, r.segs[1:], 0
		}
		n, err := r.cur.Read(p)
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (r *segmentReader) Close() error {
	r.closed = true
	if r.cur != nil {
		return r.cur.Close()
	}
	return nil
}
