package image

import (
	"context"
	"fmt"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushRequest is one image to copy into the target registry.
type PushRequest struct {
	// Source is an image reference ("nginx:1.25", "quay.io/x/y@sha256:...")
	// or, when Local, a path (OCI layout directory, oci-archive or
	// docker-archive tarball) or a name in the local docker daemon.
	Source string
	Local  bool
	// Pick chooses one image from a local source holding several (a
	// docker-archive RepoTag such as "nginx:1.25", an OCI ref.name
	// annotation or io.containerd.image.name). Empty: the only image.
	Pick string
	// Dest is the target reference "<netloc>/<repo>:<tag>" ("<repo>:<tag>"
	// or an alias host means on the target). Empty: "<netloc>/<source as
	// given>", its registry host kept in the path without a port
	// ("registry.k8s.io/pause:3.6" lands as "<netloc>/registry.k8s.io/pause:3.6";
	// "nginx" as "<netloc>/nginx:latest"); see defaultDest.
	Dest string
	// TempDir is where a local archive is extracted (and a docker daemon's
	// image saved) while it is pushed; empty means os.TempDir(). The charm
	// gives a directory of its own that CleanTempDir empties of what a
	// killed push left.
	TempDir     string
	SourceAuth  Auth
	SourceCAPEM []byte // extra CAs for a source mirror with a private CA
	Proxy       Proxy  // for the source only
	Target      Target
	// Progress receives a handful of summary lines; nil discards them.
	Progress func(string)
}

// PushResult says what one push did. Err is nil on success.
type PushResult struct {
	Source      string
	Dest        string
	Digest      string // the digest of what Dest now points to
	MediaType   string
	Platforms   []string // "linux/amd64", ... (one entry for a single image)
	BytesCopied int64    // blob bytes uploaded; blobs already present are skipped
	Duration    time.Duration
	Err         error
}

// PushAll pushes each request in turn and carries on after a failure: one
// bad reference in a list must not cost the operator the rest.
func PushAll(ctx context.Context, reqs []PushRequest, progress func(string)) []PushResult {
	results := make([]PushResult, 0, len(reqs))
	for i, req := range reqs {
		if req.Progress == nil {
			req.Progress = progress
		}
		say(progress, "[%d/%d] pushing %s", i+1, len(reqs), req.Source)
		res := Push(ctx, req)
		if res.Err != nil {
			say(progress, "[%d/%d] %s failed: %v", i+1, len(reqs), req.Source, res.Err)
		} else {
			say(progress, "[%d/%d] %s -> %s@%s (%s copied in %s)", i+1, len(reqs),
				res.Source, res.Dest, res.Digest, humanBytes(res.BytesCopied), res.Duration.Round(time.Millisecond))
		}
		results = append(results, res)
	}
	return results
}

// Push copies one image (every platform of an index) into the target,
// registry to registry with no daemon and nothing staged on disk.
func Push(ctx context.Context, req PushRequest) PushResult {
	start := time.Now()
	res := PushResult{Source: req.Source}
	src, err := openSource(ctx, req)
	if err == nil {
		defer src.cleanup()
		res.Dest, err = chooseDest(req, src)
	}
	if err == nil {
		err = push(ctx, req, src, &res)
	}
	res.Duration = time.Since(start)
	if err != nil {
		res.Err = fmt.Errorf("cannot push %s: %w", req.Source, err)
	}
	return res
}

func push(ctx context.Context, req PushRequest, src *source, res *PushResult) error {
	dst, err := name.ParseReference(res.Dest, req.Target.nameOpts()...)
	if err != nil {
		return fmt.Errorf("cannot parse destination %q: %w", res.Dest, err)
	}
	if dst.Context().RegistryStr() != req.Target.Netloc {
		return fmt.Errorf("cannot push to %s: it is not this registry (%s)", res.Dest, req.Target.Netloc)
	}
	tr, err := req.Target.transport(&res.BytesCopied)
	if err != nil {
		return err
	}
	opts := req.Target.options(ctx, tr)
	stop := watchProgress(req.Progress, res.Dest, &opts)
	err = remote.Push(dst, src.taggable, opts...)
	stop()
	if err != nil {
		return writeError(err)
	}
	return describe(ctx, dst, src, opts, res)
}

// describe fills the result from what the target now holds, and checks that
// a digest we promise to keep was kept.
func describe(ctx context.Context, dst name.Reference, src *source, opts []remote.Option, res *PushResult) error {
	got, err := remote.Head(dst, opts...)
	if err != nil {
		return fmt.Errorf("cannot check the pushed image: %w", err)
	}
	if src.keepsDigest && got.Digest != src.digest {
		return fmt.Errorf("cannot keep the digest: source %s, target %s", src.digest, got.Digest)
	}
	res.Digest = got.Digest.String()
	res.MediaType = string(got.MediaType)
	res.Platforms = src.platforms
	return nil
}

func chooseDest(req PushRequest, src *source) (string, error) {
	if req.Dest != "" {
		return req.Target.own(req.Dest), nil
	}
	if src.name == "" {
		return "", fmt.Errorf("cannot choose a destination for %s: it names no image; give one", req.Source)
	}
	return defaultDest(req.Target.Netloc, src.name)
}
