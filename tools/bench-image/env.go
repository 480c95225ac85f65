package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/canonical/docker-registry-charm/internal/image"
	"github.com/canonical/docker-registry-charm/internal/testing/images"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	benchUser = "bench"
	benchRepo = "bench/app:1"
)

type benchEnv struct {
	c        config
	work     string
	source   *upstream
	certDir  string // skopeo --dest-cert-dir: ca.crt
	tlsDir   string // server.crt, server.key
	htpasswd string
	authFile string // skopeo --dest-authfile
	password string
	caPEM    []byte
	digest   v1.Hash
	blobs    [][]byte
	total    int64 // bytes of every blob of the image
}

func setup(ctx context.Context, c config, work string) (*benchEnv, error) {
	e := &benchEnv{c: c, work: work, password: randomPassword()}
	e.certDir, e.tlsDir = filepath.Join(work, "certs"), filepath.Join(work, "tls")
	for _, d := range []string{e.certDir, e.tlsDir, filepath.Join(work, "source")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	var err error
	if e.caPEM, err = writeCerts(e.tlsDir, e.certDir); err != nil {
		return nil, err
	}
	e.htpasswd = filepath.Join(work, "htpasswd")
	if err := writeHtpasswd(e.htpasswd, benchUser, e.password); err != nil {
		return nil, err
	}
	if e.source, err = startRegistry(c.registry, serveOpts{dir: filepath.Join(work, "source")}); err != nil {
		return nil, err
	}
	if err := e.seed(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// seed builds the image and writes it to the source registry.
func (e *benchEnv) seed(ctx context.Context) error {
	idx, blobs, err := benchIndex(e.c.layers, int64(e.c.layerMB)<<20)
	if err != nil {
		return err
	}
	e.blobs = blobs
	ref, _ := name.ParseReference(e.source.Netloc+"/"+benchRepo, name.Insecure)
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("cannot seed the source registry: %w", err)
	}
	e.digest, _ = idx.Digest()
	if e.total, err = images.Size(idx); err != nil {
		return fmt.Errorf("cannot size the image: %w", err)
	}
	return nil
}

func (e *benchEnv) close() { e.source.Stop() }

// freshTarget starts a TLS + basic-auth target on empty storage.
func (e *benchEnv) freshTarget(tag string) (*upstream, error) {
	dir := filepath.Join(e.work, "target-"+tag)
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, f := range []string{"server.crt", "server.key"} {
		b, _ := os.ReadFile(filepath.Join(e.tlsDir, f))
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return nil, err
		}
	}
	return startRegistry(e.c.registry, serveOpts{dir: dir, tls: true, htpasswd: e.htpasswd})
}

type round struct {
	ours, skopeo       time.Duration // wall, process start to exit
	oursCPU, skopeoCPU time.Duration // user + system time of the process
	oursSrv, skopeoSrv time.Duration // CPU of both registries during the copy
	repush, repushWall time.Duration // library time and process wall
	oursCopied         int64
	skopeoKeptDigest   bool
}

// round runs both contestants, each on a fresh target; the order
// alternates so neither always finds the source's pages warmer.
func (e *benchEnv) round(ctx context.Context, i int) (round, error) {
	var r round
	steps := []func(context.Context, *round) error{e.runOurs, e.runSkopeo}
	if i%2 == 1 {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(ctx, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

func (e *benchEnv) runOurs(ctx context.Context, r *round) error {
	t, err := e.freshTarget("ours")
	if err != nil {
		return err
	}
	defer t.Stop()
	srv0 := t.cpu() + e.source.cpu()
	first, wall, cpu, err := e.child(ctx, t)
	if err != nil {
		return err
	}
	r.oursSrv = t.cpu() + e.source.cpu() - srv0
	r.ours, r.oursCopied, r.oursCPU = wall, first.BytesCopied, cpu
	again, wall, _, err := e.child(ctx, t)
	if err != nil {
		return err
	}
	if again.BytesCopied != 0 {
		return fmt.Errorf("re-push copied %d bytes", again.BytesCopied)
	}
	r.repush, r.repushWall = again.Duration, wall
	return nil
}

func (e *benchEnv) runSkopeo(ctx context.Context, r *round) error {
	t, err := e.freshTarget("skopeo")
	if err != nil {
		return err
	}
	defer t.Stop()
	if err := e.writeAuthFile(t.Netloc); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "skopeo", "copy", "--all", "--quiet",
		"--src-tls-verify=false", "--dest-cert-dir", e.certDir, "--dest-authfile", e.authFile,
		"docker://"+e.source.Netloc+"/"+benchRepo, "docker://"+t.Netloc+"/"+benchRepo)
	srv0 := t.cpu() + e.source.cpu()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r.skopeo = time.Since(start)
	r.skopeoSrv = t.cpu() + e.source.cpu() - srv0
	if err != nil {
		return fmt.Errorf("skopeo: %w: %s", err, out)
	}
	r.skopeoCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	got, err := e.targetDigest(ctx, t)
	r.skopeoKeptDigest = err == nil && got == e.digest
	return err
}

// writeAuthFile gives skopeo the target's credentials in a 0600 file, so
// the password never shows in a process listing.
func (e *benchEnv) writeAuthFile(netloc string) error {
	e.authFile = filepath.Join(e.work, "auth.json")
	auth := base64.StdEncoding.EncodeToString([]byte(benchUser + ":" + e.password))
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{netloc: map[string]string{"auth": auth}}})
	return os.WriteFile(e.authFile, b, 0o600)
}

func (e *benchEnv) target(t *upstream) image.Target {
	return image.Target{Netloc: t.Netloc, Username: benchUser, Password: e.password, CAPEM: e.caPEM}
}

func (e *benchEnv) targetDigest(ctx context.Context, t *upstream) (v1.Hash, error) {
	opts, err := e.target(t).Options(ctx)
	if err != nil {
		return v1.Hash{}, err
	}
	ref, _ := name.ParseReference(t.Netloc + "/" + benchRepo)
	d, err := remote.Head(ref, opts...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("cannot check the target: %w", err)
	}
	return d.Digest, nil
}
