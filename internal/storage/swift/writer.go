package swift

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// writer writes path as segments of one chunk each and keeps the state
// of the upload in Swift itself, so that another request (another
// process, another unit) can resume it: Close writes what was written
// so far at path, as a plain object while it fits one chunk, else as a
// manifest of its segments. Writer(append=true) reads that back.
//
// Every segment but the last is a full chunk: a resumed writer takes a
// short last segment (or a short plain object) back into its buffer
// before it writes more. Clients that upload in many small PATCH
// requests therefore cost at most one chunk of reading per request,
// and cannot exhaust Swift's segments-per-manifest limit faster than
// one segment per chunk.
type writer struct {
	ctx  context.Context
	d    *driver
	path string
	name string

	prefix string    // this writer's own segments, "segments/<random>/"
	n      int       // segments written under prefix
	segs   []segment // stored segments, in order
	buf    []byte    // written, not yet stored
	size   int64

	tail      *segment // short last part to take back before writing
	tailIsObj bool     // the tail is the plain object at path itself
	stale     []string // segments to delete once no manifest names them
	dirty     bool     // path does not yet hold what was written

	closed, committed, cancelled bool
}

func newWriter(ctx context.Context, d *driver, path string) *writer {
	return &writer{ctx: ctx, d: d, path: path, name: objectName(path), prefix: newSegmentPrefix(), dirty: true}
}

func newSegmentPrefix() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return segmentsRoot + "/" + hex.EncodeToString(b) + "/"
}

// resumeWriter continues the upload at path.
func resumeWriter(ctx context.Context, d *driver, path string) (*writer, error) {
	w := newWriter(ctx, d, path)
	w.dirty = false
	info, h, err := d.conn.Object(ctx, d.container, w.name)
	if err != nil {
		return nil, wrap(err, path)
	}
	w.size = info.Bytes
	if h.IsLargeObjectSLO() {
		if w.segs, err = d.segments(ctx, w.name); err != nil {
			return nil, wrap(err, path)
		}
		if len(w.segs) == 0 {
			return nil, storagedriver.Error{DriverName: driverName, Detail: fmt.Errorf("%s is a large object without segments", path)}
		}
		if last := w.segs[len(w.segs)-1]; last.Size < int64(d.chunkSize) {
			w.tail = &last
		}
		return w, nil
	}
	switch {
	case info.Bytes == 0:
	case info.Bytes < int64(d.chunkSize):
		w.tail, w.tailIsObj = &segment{Name: w.name, Size: info.Bytes}, true
	default:
		// Content PutContent stored in one piece: becomes the first
		// segment by a server-side copy.
		seg := segment{Name: w.segmentName(), Etag: info.Hash, Size: info.Bytes}
		if _, err := d.conn.ObjectCopy(ctx, d.container, w.name, d.container, seg.Name, nil); err != nil {
			return nil, wrap(err, path)
		}
		w.n++
		w.segs = []segment{seg}
	}
	return w, nil
}

// segmentName names the next segment; the name is taken only once the
// segment is stored, so a failed upload is retried under the same name
// instead of leaving an object nothing names.
func (w *writer) segmentName() string {
	return fmt.Sprintf("%s%08d", w.prefix, w.n+1)
}

func (w *writer) Write(p []byte) (int, error) {
	switch {
	case w.closed:
		return 0, errors.New("swift: write to a closed writer")
	case w.committed:
		return 0, errors.New("swift: write to a committed writer")
	case w.cancelled:
		return 0, errors.New("swift: write to a cancelled writer")
	}
	if err := w.takeBackTail(); err != nil {
		return 0, err
	}
	w.dirty = true
	written := 0
	for len(p) > 0 {
		// A full buffer is stored when more comes (or on Close): a
		// segment that failed to store is tried again, not skipped.
		if len(w.buf) == w.d.chunkSize {
			if err := w.storeSegment(); err != nil {
				return written, err
			}
		}
		k := min(len(p), w.d.chunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, written = p[k:], written+k
		w.size += int64(k)
	}
	return written, nil
}

// takeBackTail moves a short last part into the buffer; the segment it
// was stays until a new manifest no longer names it.
func (w *writer) takeBackTail() error {
	if w.tail == nil {
		return nil
	}
	data, err := w.d.conn.ObjectGetBytes(w.ctx, w.d.container, w.tail.Name)
	if err != nil {
		return wrap(err, w.path)
	}
	if int64(len(data)) != w.tail.Size {
		return storagedriver.Error{DriverName: driverName, Detail: fmt.Errorf("last part of %s has %d bytes, the manifest says %d", w.path, len(data), w.tail.Size)}
	}
	w.buf = append(w.buf[:0], data...)
	if !w.tailIsObj {
		w.segs = w.segs[:len(w.segs)-1]
		w.stale = append(w.stale, w.tail.Name)
	}
	w.tail = nil
	return nil
}

// storeSegment uploads the buffer as the next segment; Swift checks
// its MD5.
func (w *writer) storeSegment() error {
	if maxSegs, _ := w.d.limits(); len(w.segs) >= maxSegs {
		return storagedriver.Error{DriverName: driverName, Detail: fmt.Errorf(
			"%s would need more than %d segments of %d bytes, the cluster's limit per large object", w.path, maxSegs, w.d.chunkSize)}
	}
	sum := md5.Sum(w.buf)
	seg := segment{Name: w.segmentName(), Etag: hex.EncodeToString(sum[:]), Size: int64(len(w.buf))}
	if _, err := w.d.conn.ObjectPut(w.ctx, w.d.container, seg.Name, bytes.NewReader(w.buf), true, seg.Etag, contentType, nil); err != nil {
		return wrap(err, w.path)
	}
	w.n++
	w.segs = append(w.segs, seg)
	w.buf = w.buf[:0]
	return nil
}

func (w *writer) Size() int64 { return w.size }

// Close stores what was written so far at path, for a later
// Writer(append=true).
func (w *writer) Close() error {
	if w.closed {
		return errors.New("swift: writer already closed")
	}
	w.closed = true
	if w.committed || w.cancelled {
		return nil
	}
	return w.persist()
}

// Commit stores the content at path for good. Swift has no pending
// state: the path already reads as what was written once Close or
// Commit stored it.
func (w *writer) Commit(ctx context.Context) error {
	switch {
	case w.closed:
		return errors.New("swift: commit of a closed writer")
	case w.committed:
		return errors.New("swift: writer already committed")
	case w.cancelled:
		return errors.New("swift: commit of a cancelled writer")
	}
	w.ctx = ctx
	if err := w.persist(); err != nil {
		return err
	}
	w.committed = true
	return nil
}

// persist writes path: one plain object while the content fits a
// chunk and was never split, else a manifest of the segments.
func (w *writer) persist() error {
	if !w.dirty {
		return nil
	}
	if len(w.segs) == 0 {
		if err := w.d.conn.ObjectPutBytes(w.ctx, w.d.container, w.name, w.buf, contentType); err != nil {
			return wrap(err, w.path)
		}
	} else {
		if len(w.buf) > 0 {
			if err := w.storeSegment(); err != nil {
				return err
			}
		}
		if err := w.d.putManifest(w.ctx, w.name, w.segs); err != nil {
			return wrap(err, w.path)
		}
	}
	w.dirty = false
	if err := w.d.deleteObjects(w.ctx, w.stale); err != nil {
		return wrap(err, w.path)
	}
	w.stale = nil
	return nil
}

// Cancel deletes path and every segment of the upload.
func (w *writer) Cancel(ctx context.Context) error {
	if w.closed {
		return errors.New("swift: cancel of a closed writer")
	}
	w.cancelled = true
	w.buf = nil
	names := append(segmentNames(w.segs), w.stale...)
	if err := w.d.deleteObjects(ctx, names); err != nil {
		return wrap(err, w.path)
	}
	return wrap(w.d.deleteObjects(ctx, []string{w.name}), w.path)
}
