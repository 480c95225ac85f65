package charm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/canonical/docker-registry-charm/internal/image"
	"github.com/canonical/docker-registry-charm/internal/juju"
)

// paramsRunner answers action-get with the fuzzed output, as Juju's
// action-get --format=json prints the parameters (defaults filled in).
type paramsRunner struct{ out []byte }

func (r paramsRunner) Run(_ context.Context, _ []byte, tool string, _ ...string) ([]byte, error) {
	if tool != "action-get" {
		return nil, errors.New("unexpected tool " + tool)
	}
	return r.out, nil
}

// FuzzActionParams parses any action-get output through the same path the
// actions take (juju.Client.ActionGet into each action's parameter struct,
// then the parsing each does) and checks: an image list splits into words
// without whitespace; a tag's destination is always in this registry
// (netloc + "/" + the tag without any registry host the operator wrote);
// the options flags of images are read without panicking; and the result
// keys push reports for any number of images are keys action-set takes.
// Seeds are the parameters actions.yaml documents and the reference charm
// took (push image/tag/pull, images repository/options, rmi image).
func FuzzActionParams(f *testing.F) {
	for _, s := range []string{
		`{"image": "rocks.canonical.com:443/cdk/pause:3.6", "tag": "pause:3.6", "pull": true}`,
		`{"image": "registry.k8s.io/pause:3.6 docker.io/library/nginx:1.27", "pull": true}`,
		`{"image": "/root/hello.tar", "pull": false, "tag": "10.0.0.5:5000/app:1"}`,
		`{"image": "nginx", "source-username": "u", "source-password": "p"}`,
		`{"repository": "cdk", "options": "--digests -a", "details": false}`,
		`{"image": "pause:3.6 localhost/x@sha256:abc", "options": ""}`,
		`{"image": "a\u2028b\u0085c\nd", "tag": "/", "pull": "yes"}`,
		`{"tag": "localhost"}`, ``, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		c := &Charm{Juju: &juju.Client{Runner: paramsRunner{out}}}
		p := pushParams{Pull: true}
		if err := c.Juju.ActionGet(context.Background(), &p); err != nil {
			return
		}
		var q struct {
			Repository string `json:"repository"`
			Options    string `json:"options"`
			Details    bool   `json:"details"`
		}
		_ = c.Juju.ActionGet(context.Background(), &q)
		_ = wantsDetails(q.Options)

		const netloc = "10.0.0.5:5000"
		env := &actionEnv{}
		sources := strings.Fields(p.Image)
		results := make([]image.PushResult, 0, len(sources))
		for _, src := range sources {
			if strings.ContainsFunc(src, unicode.IsSpace) {
				t.Fatalf("source %q holds a space", src)
			}
			req := c.pushRequest(env, image.Target{Netloc: netloc}, p, src)
			if p.Tag != "" {
				stripped := stripRegistry(p.Tag)
				if !strings.HasSuffix(p.Tag, stripped) || req.Dest != netloc+"/"+stripped {
					t.Fatalf("tag %q lands at %q", p.Tag, req.Dest)
				}
			}
			if req.Source != src || req.Local == p.Pull {
				t.Fatalf("request %+v from %q", req, src)
			}
			results = append(results, image.PushResult{Source: src, Dest: req.Dest, Err: errors.New("x")})
		}
		res, _ := pushResults(netloc, netloc, results)
		for k := range res {
			if err := juju.ValidActionKey(k); err != nil {
				t.Fatal(err)
			}
		}
	})
}
