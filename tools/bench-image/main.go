// Command bench compares our push (internal/image) with `skopeo copy --all`
// on the same endpoints: a ~300 MB two-platform image from a plain local
// source registry into a TLS + basic-auth target, fresh target each round,
// both registries the upstream `registry` binary on 127.0.0.1. It also
// measures the machine's limit for the same bytes (sha256 + write + fsync
// to the same disk) and the re-push of an image already present.
//
//	go run ./tools/bench-image -registry .cache/tools/registry
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

type config struct {
	registry string
	work     string
	rounds   int
	layers   int
	layerMB  int
}

func main() {
	if os.Getenv(childEnv) != "" {
		os.Exit(pushOnce())
	}
	var c config
	flag.StringVar(&c.registry, "registry", ".cache/tools/registry", "upstream registry binary")
	flag.StringVar(&c.work, "work", ".cache/bench-image", "scratch directory (emptied)")
	flag.IntVar(&c.rounds, "rounds", 5, "rounds per contestant")
	flag.IntVar(&c.layers, "layers", 5, "layers per platform")
	flag.IntVar(&c.layerMB, "layer-mb", 30, "MiB per layer")
	flag.Parse()
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	work, err := filepath.Abs(c.work)
	if err != nil {
		return err
	}
	os.RemoveAll(work)
	defer os.RemoveAll(work) // registries' storage: hundreds of MB
	env, err := setup(ctx, c, work)
	if err != nil {
		return err
	}
	defer env.close()
	limit, err := machineLimit(env.blobs, filepath.Join(work, "limit"))
	if err != nil {
		return err
	}
	var rs []round
	for i := 0; i < c.rounds; i++ {
		r, err := env.round(ctx, i)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "round %d: ours %s (cpu %s), skopeo %s (cpu %s), re-push %s (wall %s)\n", i+1,
			r.ours.Round(time.Millisecond), r.oursCPU.Round(time.Millisecond), r.skopeo.Round(time.Millisecond),
			r.skopeoCPU.Round(time.Millisecond), r.repush.Round(100*time.Microsecond), r.repushWall.Round(time.Millisecond))
		rs = append(rs, r)
	}
	report(os.Stdout, c, env, limit, rs)
	return nil
}
