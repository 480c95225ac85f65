package charm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/image"
)

type pushParams struct {
	Image          string `json:"image"`
	Tag            string `json:"tag"`
	Pull           bool   `json:"pull"`
	SourceUsername string `json:"source-username"`
	SourcePassword string `json:"source-password"`
}

// actPush copies one or more images into this registry, registry to
// registry (pull=true) or from a local archive, layout or docker daemon
// (pull=false). A failing image fails the action naming it; the others are
// still copied and reported.
func (c *Charm) actPush(ctx context.Context, env *actionEnv) (map[string]string, error) {
	p := pushParams{Pull: true}
	if err := c.Juju.ActionGet(ctx, &p); err != nil {
		return nil, err
	}
	sources := strings.Fields(p.Image)
	if len(sources) == 0 {
		return nil, errors.New("image: give an image reference (or several separated by spaces)")
	}
	if p.Tag != "" && len(sources) > 1 {
		return nil, errors.New("tag: can only be used when pushing a single image")
	}
	t := env.target
	if n, err := image.CleanTempDir(c.pushTempDir(), env.started); err != nil {
		return nil, err
	} else if n > 0 {
		_ = c.Juju.ActionLog(ctx, fmt.Sprintf("removed %d leftovers of an earlier push that was killed", n))
	}
	reqs := make([]image.PushRequest, 0, len(sources))
	for _, src := range sources {
		reqs = append(reqs, c.pushRequest(env, t, p, src))
	}
	results := image.PushAll(ctx, reqs, logProgress(ctx, c.Juju))
	return pushResults(env.state.Last.Netloc, t.Netloc, results)
}

func (c *Charm) pushRequest(env *actionEnv, t image.Target, p pushParams, src string) image.PushRequest {
	e := c.Juju.Env
	req := image.PushRequest{
		Source:     src,
		Local:      !p.Pull,
		SourceAuth: image.Auth{Username: p.SourceUsername, Password: p.SourcePassword},
		Proxy:      image.Proxy{HTTP: e.CharmHTTPProxy, HTTPS: e.CharmHTTPSProxy, NoProxy: e.CharmNoProxy},
		Target:     t,
		TempDir:    c.pushTempDir(),
	}
	if p.Tag != "" {
		req.Dest = t.Netloc + "/" + stripRegistry(p.Tag)
	}
	return req
}

// pushTempDir is where pushes from archives extract them: the charm's own
// root-only directory, not the shared /tmp, so what a killed push leaves is
// found and removed by the next one (see image.CleanTempDir).
func (c *Charm) pushTempDir() string {
	return filepath.Join(c.Paths.StateDir(), "tmp")
}

// stripRegistry drops a leading registry host from a tag, since the
// reference took tags such as "10.0.0.5:5000/app:1": the image always goes
// into this registry, whatever address the operator wrote.
func stripRegistry(tag string) string {
	first, rest, ok := strings.Cut(tag, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	return tag
}

// pushResults reports each image under push.<n>; the top-level keys keep
// the reference's outcome/raw. Tags are shown with the netloc clients use.
func pushResults(netloc, target string, results []image.PushResult) (map[string]string, error) {
	out := map[string]string{}
	var pushed, failed []string
	for i, r := range results {
		key := fmt.Sprintf("images.%d.", i)
		tag := strings.Replace(r.Dest, target, netloc, 1)
		out[key+"source"] = r.Source
		out[key+"tag"] = tag
		if r.Err != nil {
			out[key+"error"] = r.Err.Error()
			failed = append(failed, fmt.Sprintf("%s: %v", r.Source, r.Err))
			continue
		}
		out[key+"digest"] = r.Digest
		out[key+"platforms"] = strings.Join(r.Platforms, ",")
		out[key+"bytes-copied"] = fmt.Sprint(r.BytesCopied)
		out[key+"seconds"] = fmt.Sprintf("%.3f", r.Duration.Seconds())
		pushed = append(pushed, tag)
	}
	if len(pushed) > 0 {
		out["raw"] = "pushed " + strings.Join(pushed, " ")
	}
	if len(failed) > 0 {
		out["outcome"] = "failure"
		return out, fmt.Errorf("cannot push %d of %d images: %s", len(failed), len(results), strings.Join(failed, "; "))
	}
	out["outcome"] = "success"
	return out, nil
}
