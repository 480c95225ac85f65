package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrDeleteDisabled is returned (wrapped) when the registry refuses
// deletes because storage.delete is off (or it is a pull-through cache).
var ErrDeleteDisabled = errors.New("the registry refuses deletes: set the charm option storage-delete=true (a pull-through cache, cache-remoteurl, never deletes)")

// ErrReadOnly is returned (wrapped) by Push and Delete when the registry
// is in read-only maintenance mode: storage-read-only, or a garbage
// collection under way.
var ErrReadOnly = errors.New("the registry is read-only (storage-read-only is set, or a garbage collection is running)")

// Deleted is one manifest removed from the registry.
type Deleted struct {
	Ref        string // the reference as asked
	Repository string
	Digest     string
	// Tags are every tag of the repository that pointed to Digest: the
	// registry deletes by digest, so they all went with it.
	Tags []string
}

// Delete removes each reference (repo:tag or repo@digest, with or without
// our netloc). A tag is resolved to its digest first. It carries on after a
// failure and returns what it deleted with the failures joined; it stops at
// once when deletes are disabled or the registry is read-only. Blobs are
// freed only by GarbageCollect.
func Delete(ctx context.Context, t Target, refs []string) ([]Deleted, error) {
	opts, err := t.Options(ctx)
	if err != nil {
		return nil, err
	}
	var done []Deleted
	var errs []error
	for _, ref := range refs {
		if d, ok := alreadyDeleted(done, ref, t); ok {
			done = append(done, d)
			continue
		}
		d, err := deleteOne(t, ref, opts)
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrDeleteDisabled) || errors.Is(err, ErrReadOnly) {
				break
			}
			continue
		}
		done = append(done, d)
	}
	return done, errors.Join(errs...)
}

func deleteOne(t Target, ref string, opts []remote.Option) (Deleted, error) {
	r, err := t.ref(ref)
	if err != nil {
		return Deleted{}, err
	}
	h, err := resolve(r, opts)
	if err != nil {
		return Deleted{}, fmt.Errorf("cannot delete %s: %w", ref, err)
	}
	repo := r.Context()
	tags := tagsPointingTo(repo, h, opts)
	if err := remote.Delete(repo.Digest(h.String()), opts...); err != nil {
		return Deleted{}, fmt.Errorf("cannot delete %s (%s): %w", ref, h, deleteError(err))
	}
	return Deleted{Ref: ref, Repository: repo.RepositoryStr(), Digest: h.String(), Tags: tags}, nil
}

func resolve(r name.Reference, opts []remote.Option) (v1.Hash, error) {
	if d, ok := r.(name.Digest); ok {
		return v1.NewHash(d.DigestStr())
	}
	// GET rather than HEAD: a HEAD 404 has no body to say why.
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

// tagsPointingTo lists the tags that will go with the digest. It is a
// report, not a precondition: a failure leaves the list short, not the
// delete undone.
func tagsPointingTo(repo name.Repository, h v1.Hash, opts []remote.Option) []string {
	tags, err := remote.List(repo, opts...)
	if err != nil {
		return nil
	}
	var out []string
	for _, tag := range tags {
		desc, err := remote.Head(repo.Tag(tag), opts...)
		if err == nil && desc.Digest == h {
			out = append(out, tag)
		}
	}
	return out
}

// deleteError names the fix for distribution's two refusals, both 405:
// with the UNSUPPORTED code when deletes are off, bare when read-only
// (the method is not routed at all).
func deleteError(err error) error {
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusMethodNotAllowed {
		return err
	}
	for _, d := range terr.Errors {
		if d.Code == transport.UnsupportedErrorCode {
			return fmt.Errorf("%w (%v)", ErrDeleteDisabled, err)
		}
	}
	return fmt.Errorf("%w (%v)", ErrReadOnly, err)
}

// writeError explains a push the registry refused with a bare 405.
func writeError(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("%w (%v)", ErrReadOnly, err)
	}
	return err
}

// alreadyDeleted: a tag that went with an earlier delete in the same call.
func alreadyDeleted(done []Deleted, ref string, t Target) (Deleted, bool) {
	r, err := t.ref(ref)
	if err != nil {
		return Deleted{}, false
	}
	tag, ok := r.(name.Tag)
	if !ok {
		return Deleted{}, false
	}
	for _, d := range done {
		if d.Repository == tag.RepositoryStr() && slices.Contains(d.Tags, tag.TagStr()) {
			d.Ref = ref
			return d, true
		}
	}
	return Deleted{}, false
}
