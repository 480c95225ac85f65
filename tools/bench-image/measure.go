package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// machineLimit is the best time, over a few tries, to sha256 every layer
// blob and write it to the disk the registries use, with the fsync
// distribution's filesystem driver does on commit; sequentially and with
// one stream per core, whichever is faster.
func machineLimit(blobs [][]byte, dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	best := time.Duration(1<<63 - 1)
	for try := 0; try < 3; try++ {
		for _, streams := range []int{1, runtime.NumCPU()} {
			d, err := hashAndWrite(blobs, dir, streams)
			if err != nil {
				return 0, err
			}
			best = min(best, d)
		}
	}
	return best, nil
}

func hashAndWrite(blobs [][]byte, dir string, streams int) (time.Duration, error) {
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(blobs))
	sem := make(chan struct{}, streams)
	for i, b := range blobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = writeBlob(b, filepath.Join(dir, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	d := time.Since(start)
	os.RemoveAll(dir)
	os.MkdirAll(dir, 0o700)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return d, nil
}

// writeBlob streams b through sha256 into a file in 1 MiB writes, as a
// registry receiving it would.
func writeBlob(b []byte, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	h := sha256.New()
	for off := 0; off < len(b); off += 1 << 20 {
		chunk := b[off:min(off+1<<20, len(b))]
		h.Write(chunk)
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	h.Sum(nil)
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(w io.Writer, c config, e *benchEnv, limit time.Duration, rs []round) {
	pick := func(f func(round) time.Duration) []time.Duration {
		var out []time.Duration
		for _, r := range rs {
			out = append(out, f(r))
		}
		return out
	}
	ours, skopeo := median(pick(func(r round) time.Duration { return r.ours })), median(pick(func(r round) time.Duration { return r.skopeo }))
	repush, repushWall := median(pick(func(r round) time.Duration { return r.repush })), median(pick(func(r round) time.Duration { return r.repushWall }))
	mb := float64(e.total) / (1 << 20)
	mbps := func(d time.Duration) float64 { return mb / d.Seconds() }
	fmt.Fprintf(w, "image: 2 platforms x %d layers x %d MiB, %.1f MiB in all; %d rounds, medians; %d CPUs\n\n", c.layers, c.layerMB, mb, len(rs), runtime.NumCPU())
	oursCPU, skopeoCPU := median(pick(func(r round) time.Duration { return r.oursCPU })), median(pick(func(r round) time.Duration { return r.skopeoCPU }))
	oursSrv, skopeoSrv := median(pick(func(r round) time.Duration { return r.oursSrv })), median(pick(func(r round) time.Duration { return r.skopeoSrv }))
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(w, "| measure | median wall | throughput | client CPU | registries' CPU |\n|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| ours (internal/image Push, own process) | %s | %.0f MiB/s | %s | %s |\n", ms(ours), mbps(ours), ms(oursCPU), ms(oursSrv))
	fmt.Fprintf(w, "| skopeo copy --all | %s | %.0f MiB/s | %s | %s |\n", ms(skopeo), mbps(skopeo), ms(skopeoCPU), ms(skopeoSrv))
	fmt.Fprintf(w, "| machine limit (sha256 + write + fsync, same bytes, same disk) | %s | %.0f MiB/s | | |\n", ms(limit), mbps(limit))
	fmt.Fprintf(w, "| re-push, already present (library call) | %s | | | |\n", repush.Round(100*time.Microsecond))
	fmt.Fprintf(w, "| re-push, already present (process wall) | %s | | | |\n\n", repushWall.Round(100*time.Microsecond))
	fmt.Fprintf(w, "ratio ours/skopeo: %.2f (target <= 0.9)\n", ours.Seconds()/skopeo.Seconds())
	fmt.Fprintf(w, "our throughput / machine limit: %.2f\n", limit.Seconds()/ours.Seconds())
	fmt.Fprintf(w, "load average at the end: %s\n", loadAvg())
	fmt.Fprintf(w, "bytes uploaded by ours per round: %d; skopeo kept the index digest: %t\n", rs[0].oursCopied, rs[0].skopeoKeptDigest)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
