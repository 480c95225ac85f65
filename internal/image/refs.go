package image

import "strings"

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
// destination: the reference charm's "<netloc>/<image>", without the
// source's registry host, so "registry.k8s.io/pause:3.6" becomes
// "<netloc>/pause:3.6" (what containerd asks for as its sandbox image).
func defaultDest(netloc, source string) string {
	path, tag, digest := splitRef(source)
	switch {
	case tag != "":
		return netloc + "/" + path + ":" + tag
	case digest != "":
		return netloc + "/" + path + "@" + digest
	default:
		return netloc + "/" + path + ":latest"
	}
}
