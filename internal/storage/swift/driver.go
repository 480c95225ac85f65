// Package swift is a distribution v3 storage driver for OpenStack Swift,
// registered as "swift". distribution v3 dropped its own Swift driver; this
// one serves the reference charm's storage-swift-* options.
//
// Layout in the container: the registry's path /a/b is the object
// "files/a/b". Content larger than one chunk is a static large object
// (SLO): a manifest at "files/..." listing segment objects under
// "segments/<random>/". Manifests carry their own Content-Type
// (manifestType) so that a container listing tells them apart without a
// HEAD per object, which Delete relies on to find segments.
package swift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/base"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/ncw/swift/v2"
)

const (
	driverName = "swift"

	filesRoot    = "files"
	segmentsRoot = "segments"

	// manifestType marks SLO manifests written by this driver.
	manifestType = "application/vnd.docker-registry-charm.slo-manifest"
	contentType  = "application/octet-stream"

	// connectTimeout and dataTimeout bound a dead endpoint; ncw/swift's
	// data timeout is per read, so large transfers are not cut short.
	connectTimeout = 10 * time.Second
	dataTimeout    = 60 * time.Second
)

func init() {
	factory.Register(driverName, &driverFactory{})
}

type driverFactory struct{}

func (*driverFactory) Create(ctx context.Context, parameters map[string]any) (storagedriver.StorageDriver, error) {
	p, err := ParseParams(parameters)
	if err != nil {
		return nil, err
	}
	return New(p), nil
}

// Driver is the swift storage driver.
type Driver struct {
	baseEmbed
}

type baseEmbed struct{ base.Base }

// driver does the work; base.Base in front of it checks paths and
// offsets and adds metrics and tracing.
type driver struct {
	conn      *swift.Connection
	container string
	chunkSize int

	mu          sync.Mutex
	ready       bool // setup succeeded
	maxSegments int  // the cluster's max_manifest_segments
	bulkDelete  bool // the cluster has the bulk middleware
}

// New makes a driver without asking Swift anything: the registry builds
// its driver whenever it starts or reloads, and a Swift or Keystone that
// is briefly away must not stop it from starting (reads then fail, and
// the registry's health check says so, until Swift is back). Logging in
// happens on the first request; Setup, on the first write, creates the
// container and reads the cluster's capabilities.
func New(p Params) *Driver {
	conn := &swift.Connection{
		AuthUrl:        p.AuthURL,
		AuthVersion:    p.AuthVersion,
		UserName:       p.Username,
		ApiKey:         p.Password,
		Region:         p.Region,
		Tenant:         p.Tenant,
		Domain:         p.Domain,
		UserAgent:      "docker-registry-charm",
		ConnectTimeout: connectTimeout,
		Timeout:        dataTimeout,
	}
	d := &driver{conn: conn, container: p.Container, chunkSize: p.ChunkSize}
	return &Driver{baseEmbed{base.Base{StorageDriver: d}}}
}

// Setup logs in, creates the container if it is missing (as the
// registry's first push would need) and reads the cluster's
// capabilities. It is what the charm checks before it switches the
// registry to new Swift settings; writes call it until it succeeds once.
func (d *Driver) Setup(ctx context.Context) error {
	return d.StorageDriver.(*driver).setup(ctx)
}

func (d *driver) setup(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ready {
		return nil
	}
	if err := d.conn.Authenticate(ctx); err != nil {
		return fmt.Errorf("swift: cannot authenticate at %s as %q: %w", d.conn.AuthUrl, d.conn.UserName, err)
	}
	if err := d.conn.ContainerCreate(ctx, d.container, nil); err != nil {
		return fmt.Errorf("swift: cannot create or open container %q: %w", d.container, err)
	}
	info, err := d.conn.QueryInfo(ctx)
	if err != nil {
		return fmt.Errorf("swift: cannot read the cluster's capabilities (/info): %w", err)
	}
	if !info.SupportsSLO() {
		return errors.New("swift: the cluster does not offer static large objects (slo middleware)")
	}
	d.maxSegments = 1000 // Swift's default
	if slo, ok := info["slo"].(map[string]any); ok {
		if n, ok := slo["max_manifest_segments"].(float64); ok && n >= 2 {
			d.maxSegments = int(n)
		}
	}
	d.bulkDelete = info.SupportsBulkDelete()
	d.ready = true
	return nil
}

// writable runs setup before a write.
func (d *driver) writable(ctx context.Context) error {
	if err := d.setup(ctx); err != nil {
		return storagedriver.Error{DriverName: driverName, Detail: err}
	}
	return nil
}

// limits are the capabilities setup read.
func (d *driver) limits() (maxSegments int, bulkDelete bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxSegments, d.bulkDelete
}

func (d *driver) Name() string { return driverName }

// objectName is where path is stored.
func objectName(path string) string { return filesRoot + path }

// dirPrefix lists what is under path.
func dirPrefix(path string) string {
	if path == "/" {
		return filesRoot + "/"
	}
	return objectName(path) + "/"
}

// pathOf is the registry path of an object under filesRoot.
func pathOf(name string) string { return strings.TrimSuffix(strings.TrimPrefix(name, filesRoot), "/") }

// wrap turns ncw/swift errors into the driver's.
func wrap(err error, path string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, swift.ObjectNotFound), errors.Is(err, swift.ContainerNotFound):
		return storagedriver.PathNotFoundError{Path: path, DriverName: driverName}
	}
	return storagedriver.Error{DriverName: driverName, Detail: err}
}

func isNotFound(err error) bool {
	return errors.Is(err, swift.ObjectNotFound) || errors.Is(err, swift.ContainerNotFound)
}

func (d *driver) GetContent(ctx context.Context, path string) ([]byte, error) {
	b, err := d.conn.ObjectGetBytes(ctx, d.container, objectName(path))
	return b, wrap(err, path)
}

// PutContent stores small content as one object. It does not look for a
// large object it replaces: distribution never puts content where it
// committed a Writer.
func (d *driver) PutContent(ctx context.Context, path string, content []byte) error {
	if err := d.writable(ctx); err != nil {
		return err
	}
	return wrap(d.conn.ObjectPutBytes(ctx, d.container, objectName(path), content, contentType), path)
}

// Reader reads from offset. From 0 Swift streams even a large object
// itself; further in, a large object is read from its segments, starting
// with the one that holds offset, so the read needs nothing from the
// server but plain ranged GETs of plain objects.
func (d *driver) Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, storagedriver.InvalidOffsetError{Path: path, Offset: offset, DriverName: driverName}
	}
	name := objectName(path)
	if offset == 0 {
		f, _, err := d.conn.ObjectOpen(ctx, d.container, name, false, nil)
		if err != nil {
			return nil, wrap(err, path)
		}
		return f, nil
	}
	info, h, err := d.conn.Object(ctx, d.container, name)
	if err != nil {
		return nil, wrap(err, path)
	}
	if offset >= info.Bytes {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if h.IsLargeObjectSLO() {
		segs, err := d.segments(ctx, name)
		if err != nil {
			return nil, wrap(err, path)
		}
		return newSegmentReader(ctx, d, segs, offset), nil
	}
	f, _, err := d.conn.ObjectOpen(ctx, d.container, name, false, swift.Headers{"Range": fmt.Sprintf("bytes=%d-", offset)})
	if err != nil {
		return nil, wrap(err, path)
	}
	return f, nil
}

func (d *driver) Writer(ctx context.Context, path string, append bool) (storagedriver.FileWriter, error) {
	if err := d.writable(ctx); err != nil {
		return nil, err
	}
	if !append {
		return newWriter(ctx, d, path), nil
	}
	return resumeWriter(ctx, d, path)
}

// Stat asks for the object first (a HEAD), then for anything under it.
func (d *driver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	if path != "/" {
		info, _, err := d.conn.Object(ctx, d.container, objectName(path))
		if err == nil {
			return fileInfo(path, info), nil
		}
		if !isNotFound(err) {
			return nil, wrap(err, path)
		}
	}
	objs, err := d.conn.Objects(ctx, d.container, &swift.ObjectsOpts{Prefix: dirPrefix(path), Limit: 1})
	if err != nil {
		return nil, wrap(err, path)
	}
	if len(objs) == 0 {
		return nil, storagedriver.PathNotFoundError{Path: path, DriverName: driverName}
	}
	return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{Path: path, IsDir: true}}, nil
}

func fileInfo(path string, o swift.Object) storagedriver.FileInfo {
	return storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{
		Path: path, Size: o.Bytes, ModTime: o.LastModified,
	}}
}

func (d *driver) List(ctx context.Context, path string) ([]string, error) {
	entries, err := d.list(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Path()
	}
	return out, nil
}

// list returns the direct children of path with what the listing says
// about them. Listings show a manifest's own size, not its content's, so
// manifests are asked for theirs.
func (d *driver) list(ctx context.Context, path string) ([]storagedriver.FileInfo, error) {
	objs, err := d.conn.ObjectsAll(ctx, d.container, &swift.ObjectsOpts{Prefix: dirPrefix(path), Delimiter: '/'})
	if err != nil {
		return nil, wrap(err, path)
	}
	if len(objs) == 0 && path != "/" {
		return nil, storagedriver.PathNotFoundError{Path: path, DriverName: driverName}
	}
	out := make([]storagedriver.FileInfo, 0, len(objs))
	for _, o := range objs {
		p := pathOf(o.Name)
		switch {
		case o.PseudoDirectory:
			out = append(out, storagedriver.FileInfoInternal{FileInfoFields: storagedriver.FileInfoFields{Path: p, IsDir: true}})
		case isManifest(o.ContentType):
			info, _, err := d.conn.Object(ctx, d.container, o.Name)
			if isNotFound(err) {
				continue // deleted since the listing
			}
			if err != nil {
				return nil, wrap(err, p)
			}
			out = append(out, fileInfo(p, info))
		default:
			out = append(out, fileInfo(p, o))
		}
	}
	return out, nil
}

// isManifest reads a listing's content type; Swift may append
// parameters such as swift_bytes.
func isManifest(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(mt) == manifestType
}

// Move copies a plain object on the server. A large object's manifest
// is rewritten at the destination instead: a server-side copy would
// concatenate its content into one object (and fail past 5 GiB).
func (d *driver) Move(ctx context.Context, sourcePath, destPath string) error {
	if err := d.writable(ctx); err != nil {
		return err
	}
	src, dst := objectName(sourcePath), objectName(destPath)
	_, h, err := d.conn.Object(ctx, d.container, src)
	if err != nil {
		return wrap(err, sourcePath)
	}
	replaced, err := d.segmentsIfManifest(ctx, dst)
	if err != nil {
		return wrap(err, destPath)
	}
	if h.IsLargeObjectSLO() {
		segs, err := d.segments(ctx, src)
		if err != nil {
			return wrap(err, sourcePath)
		}
		if err := d.putManifest(ctx, dst, segs); err != nil {
			return wrap(err, destPath)
		}
	} else if _, err := d.conn.ObjectCopy(ctx, d.container, src, d.container, dst, nil); err != nil {
		return wrap(err, sourcePath)
	}
	if err := d.conn.ObjectDelete(ctx, d.container, src); err != nil && !isNotFound(err) {
		return wrap(err, sourcePath)
	}
	return wrap(d.deleteObjects(ctx, segmentNames(replaced)), destPath)
}

// Delete removes path and everything under it, large objects with their
// segments. Segments go first: a Delete that fails half way leaves
// manifests that a retry finds again, never segments nothing names.
func (d *driver) Delete(ctx context.Context, path string) error {
	if err := d.writable(ctx); err != nil {
		return err
	}
	name := objectName(path)
	var objects, segs []string
	_, h, err := d.conn.Object(ctx, d.container, name)
	switch {
	case err == nil:
		objects = append(objects, name)
		if h.IsLargeObjectSLO() {
			s, err := d.segments(ctx, name)
			if err != nil {
				return wrap(err, path)
			}
			segs = append(segs, segmentNames(s)...)
		}
	case !isNotFound(err):
		return wrap(err, path)
	}
	under, err := d.conn.ObjectsAll(ctx, d.container, &swift.ObjectsOpts{Prefix: dirPrefix(path)})
	if err != nil {
		return wrap(err, path)
	}
	for _, o := range under {
		objects = append(objects, o.Name)
		if isManifest(o.ContentType) {
			s, err := d.segments(ctx, o.Name)
			if isNotFound(err) {
				continue
			}
			if err != nil {
				return wrap(err, pathOf(o.Name))
			}
			segs = append(segs, segmentNames(s)...)
		}
	}
	if len(objects) == 0 {
		return storagedriver.PathNotFoundError{Path: path, DriverName: driverName}
	}
	if err := d.deleteObjects(ctx, segs); err != nil {
		return wrap(err, path)
	}
	return wrap(d.deleteObjects(ctx, objects), path)
}

// RedirectURL never redirects: Swift's temporary URLs need a key the
// charm has no option for.
func (d *driver) RedirectURL(*http.Request, string) (string, error) { return "", nil }

// Walk is distribution's depth-first walk over List, with the file
// details each listing already carries, so it costs one listing per
// directory instead of a HEAD per file.
func (d *driver) Walk(ctx context.Context, path string, f storagedriver.WalkFn, options ...func(*storagedriver.WalkOptions)) error {
	return storagedriver.WalkFallback(ctx, &listedDriver{driver: d, seen: map[string]storagedriver.FileInfo{}}, path, f, options...)
}

// listedDriver remembers what List saw so that WalkFallback's Stat of
// each child needs no request. One walk, one goroutine: no locking.
type listedDriver struct {
	*driver
	seen map[string]storagedriver.FileInfo
}

func (l *listedDriver) List(ctx context.Context, path string) ([]string, error) {
	entries, err := l.driver.list(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		l.seen[e.Path()] = e
		out[i] = e.Path()
	}
	return out, nil
}

func (l *listedDriver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	if fi, ok := l.seen[path]; ok {
		delete(l.seen, path)
		return fi, nil
	}
	return l.driver.Stat(ctx, path)
}
