package image

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// registryPart returns the registry host of a reference as the user typed
// it ("" for "nginx:1.25" or "library/nginx"), with Docker's rule: the
// first path component is a registry when it has a dot or a port, or is
// "localhost".
func registryPart(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if !ok {
		return ""
	}
	if strings.ContainsAny(first, ".:") || first == "localhost" {
		return first
	}
	return ""
}

// splitRef splits "host/path:tag@digest" into its path (without the
// registry), tag and digest; either of the last two may be empty.
func splitRef(ref string) (path, tag, digest string) {
	rest := ref
	if reg := registryPart(ref); reg != "" {
		rest = strings.TrimPrefix(ref, reg+"/")
	}
	rest, digest, _ = strings.Cut(rest, "@")
	slash := strings.LastIndex(rest, "/")
	if colon := strings.LastIndex(rest, ":"); colon > slash {
		return rest[:colon], rest[colon+1:], digest
	}
	return rest, "", digest
}

// defaultDest is where an image lands when the caller names no
// destination: the reference charm's `<netloc>/<image as given>` (it ran
// `docker tag <image> <netloc>/<image>`), so the source's registry host
// stays in the path: "k8s.gcr.io/defaultbackend-amd64:1.5" lands at
// "<netloc>/k8s.gcr.io/defaultbackend-amd64:1.5" and "nginx:1.27" at
// "<netloc>/nginx:1.27" (a Docker Hub short name is kept as typed, not
// expanded to docker.io/library/...). A port in the source's host cannot
// be part of a path, so it is dropped: "rocks.canonical.com:443/cdk/pause:3.9"
// lands at "<netloc>/rocks.canonical.com/cdk/pause:3.9". A tag wins over a
// digest; with neither, the tag is "latest".
func defaultDest(netloc, source string) (string, error) {
	path, tag, digest := splitRef(source)
	if reg := registryPart(source); reg != "" {
		path = hostForPath(reg) + "/" + path
	}
	var dest string
	switch {
	case tag != "":
		dest = netloc + "/" + path + ":" + tag
	case digest != "":
		dest = netloc + "/" + path + "@" + digest
	default:
		dest = netloc + "/" + path + ":latest"
	}
	if _, err := name.ParseReference(dest); err != nil {
		return "", fmt.Errorf("cannot make a destination for %s (%s is not a valid reference): give one with tag", source, dest)
	}
	return dest, nil
}

// hostForPath turns a registry host into a repository path component:
// without its port, and in lower case (hosts are case-insensitive,
// repository paths must be lower case).
func hostForPath(reg string) string {
	if h, _, err := net.SplitHostPort(reg); err == nil {
		reg = h
	}
	return strings.ToLower(reg)
}
