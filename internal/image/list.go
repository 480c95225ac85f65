package image

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Repo is one repository of the registry and its tags.
type Repo struct {
	Name string
	Tags []Tag
}

// Tag is one tag; the details are filled only when asked for.
type Tag struct {
	Name      string
	Digest    string
	MediaType string
	Platforms []string
	Size      int64 // config and layer blobs of every platform, each counted once
	Err       error // the details could not be read
}

// pageSize is how many names a catalog or tags page asks for (a variable
// so tests can force several pages). distribution refuses a catalog page
// larger than its catalog.maxentries (default 1000), so stay well below.
var pageSize = 100

// List reads the catalog (every page) and the tags of each repository.
// filter is REPOSITORY[:TAG], each part a shell glob ("team/*:1.*"); empty
// lists everything. Manifests no tag points to are not listed: the
// registry API has no way to enumerate them.
func List(ctx context.Context, t Target, filter string, details bool) ([]Repo, error) {
	reg, err := t.Registry()
	if err != nil {
		return nil, err
	}
	opts, err := t.Options(ctx)
	if err != nil {
		return nil, err
	}
	repoGlob, tagGlob, err := parseFilter(t, filter)
	if err != nil {
		return nil, err
	}
	names, err := remote.Catalog(ctx, reg, append(opts, remote.WithPageSize(pageSize))...)
	if err != nil {
		return nil, fmt.Errorf("cannot read the catalog of %s: %w", t.Netloc, err)
	}
	var repos []Repo
	for _, n := range names {
		if repoGlob != "" && !globMatch(repoGlob, n) {
			continue
		}
		repo, err := listRepo(ctx, reg.Repo(n), tagGlob, details, opts)
		if err != nil {
			return repos, err
		}
		if len(repo.Tags) > 0 {
			repos = append(repos, repo)
		}
	}
	return repos, nil
}

// parseFilter splits REPOSITORY[:TAG], dropping our own netloc (or an
// alias) if given.
func parseFilter(t Target, filter string) (repo, tag string, err error) {
	if filter != "" {
		filter = strings.TrimPrefix(t.own(filter), t.Netloc+"/")
	}
	repo, tag = "", "*"
	if filter == "" {
		return repo, tag, nil // "" matches every repository, slashes and all
	}
	slash := strings.LastIndex(filter, "/")
	if colon := strings.LastIndex(filter, ":"); colon > slash {
		filter, tag = filter[:colon], filter[colon+1:]
	}
	repo = filter
	for _, g := range []string{repo, tag} {
		if _, err := path.Match(g, ""); err != nil {
			return "", "", fmt.Errorf("cannot use filter %q: %w", g, err)
		}
	}
	return repo, tag, nil
}

// globMatch is path.Match where "*" also crosses "/": "*:1" means any
// repository, however deep.
func globMatch(pattern, s string) bool {
	const sep = "\x1f"
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(s, "/", sep))
	return ok
}

func listRepo(ctx context.Context, repo name.Repository, tagGlob string, details bool, opts []remote.Option) (Repo, error) {
	out := Repo{Name: repo.RepositoryStr()}
	tags, err := remote.List(repo, append(opts, remote.WithPageSize(pageSize))...)
	if err != nil {
		return out, fmt.Errorf("cannot list the tags of %s: %w", out.Name, err)
	}
	sort.Strings(tags)
	for _, tg := range tags {
		if globMatch(tagGlob, tg) {
			out.Tags = append(out.Tags, Tag{Name: tg})
		}
	}
	if details {
		describeTags(repo, out.Tags, opts)
	}
	return out, nil
}

// describeTags reads the manifests of the tags, a few at a time.
func describeTags(repo name.Repository, tags []Tag, opts []remote.Option) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	for i := range tags {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			describeTag(repo, &tags[i], opts)
		}()
	}
	wg.Wait()
}

func describeTag(repo name.Repository, tag *Tag, opts []remote.Option) {
	desc, err := remote.Get(repo.Tag(tag.Name), opts...)
	if err != nil {
		tag.Err = fmt.Errorf("cannot read %s:%s: %w", repo.RepositoryStr(), tag.Name, err)
		return
	}
	tag.Digest, tag.MediaType = desc.Digest.String(), string(desc.MediaType)
	seen := map[v1.Hash]bool{}
	if desc.MediaType.IsIndex() {
		tag.Err = describeIndex(desc, tag, seen)
		return
	}
	img, err := desc.Image()
	if err == nil {
		tag.Platforms = platformsOf(nil, img)
		tag.Size, err = imageSize(img, seen)
	}
	tag.Err = err
}

func describeIndex(desc *remote.Descriptor, tag *Tag, seen map[v1.Hash]bool) error {
	idx, err := desc.ImageIndex()
	if err != nil {
		return err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	tag.Platforms = platformsOf(idx, nil)
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		n, err := imageSize(img, seen)
		if err != nil {
			return err
		}
		tag.Size += n
	}
	return nil
}

// imageSize adds the config and layers not counted yet.
func imageSize(img v1.Image, seen map[v1.Hash]bool) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			n += d.Size
		}
	}
	return n, nil
}
