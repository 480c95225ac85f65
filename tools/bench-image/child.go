package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/canonical/docker-registry-charm/internal/image"
)

// The push runs in a child process, like the charm's action and like
// skopeo: both walls include starting a process. Its parameters travel in
// the environment, so the password is not in any argument list.
const childEnv = "BENCH_IMAGE_CHILD"

type childResult struct {
	Digest      string
	BytesCopied int64
	Duration    time.Duration
	Err         string
}

func (e *benchEnv) child(ctx context.Context, t *upstream) (res childResult, wall, cpu time.Duration, err error) {
	self, err := os.Executable()
	if err != nil {
		return res, 0, 0, err
	}
	caFile := filepath.Join(e.certDir, "ca.crt")
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"BENCH_SRC="+e.source.Netloc+"/"+benchRepo, "BENCH_NETLOC="+t.Netloc,
		"BENCH_CA="+caFile, "BENCH_USER="+benchUser, "BENCH_PASSWORD="+e.password)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		return res, wall, 0, fmt.Errorf("our push: %w", err)
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, wall, cpu, fmt.Errorf("our push: %w", err)
	}
	if res.Err != "" {
		return res, wall, cpu, fmt.Errorf("our push: %s", res.Err)
	}
	if res.Digest != e.digest.String() {
		return res, wall, cpu, fmt.Errorf("our push landed %s, want %s", res.Digest, e.digest)
	}
	return res, wall, cpu, nil
}

func pushOnce() int {
	ca, err := os.ReadFile(os.Getenv("BENCH_CA"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	res := image.Push(context.Background(), image.PushRequest{
		Source: os.Getenv("BENCH_SRC"),
		Target: image.Target{
			Netloc: os.Getenv("BENCH_NETLOC"), CAPEM: ca,
			Username: os.Getenv("BENCH_USER"), Password: os.Getenv("BENCH_PASSWORD"),
		},
	})
	out := childResult{Digest: res.Digest, BytesCopied: res.BytesCopied, Duration: res.Duration}
	if res.Err != nil {
		out.Err = res.Err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}
