package e2e

// BenchmarkScaleOut (make bench-scale-out): pulls through haproxy from 1,
// 2 and 3 units on one S3 bucket (SeaweedFS), without and with a shared
// redis cache, each unit on its own simulated machine. Every round is a
// fixed number of pulls (bounded), all to the simulated hosts. Reported:
// aggregate throughput, p50/p99 pull latency, the ratio to one unit, and
// the CPU each machine's processes used (from /proc, by network
// namespace), to say what limits it on the host.

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	benchWorkers = 8
	benchPulls   = 24 // per worker and round
	benchImages  = 6
)

func BenchmarkScaleOut(b *testing.B) {
	for _, withRedis := range []bool{false, true} {
		name := "s3"
		if withRedis {
			name = "s3+redis"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchScaleOut(b, withRedis)
			}
		})
	}
}

func benchScaleOut(b *testing.B, withRedis bool) {
	sc := newScale(b, 3, withRedis)
	images := sc.pushPullables(b, benchImages)
	machines := map[string]string{"s3": sc.s.m.Netns(), "haproxy": sc.px.m.Netns()}
	if sc.rd != nil {
		machines["redis"] = sc.rd.m.Netns()
	}
	for _, u := range sc.units {
		machines[u] = sc.e.Machine(u).Netns()
	}
	var base float64
	b.Logf("| units | pulls | MB/s | pulls/s | ratio | p50 | p99 | failed | CPU (cores) per machine; the whole host's busy cores |")
	for n := 1; n <= len(sc.units); n++ {
		sc.balance(b, sc.units[:n]...)
		// Warm: every unit has served each image once (caches filled).
		pullLoad(sc.e, sc.Proxied, images, n*len(images), 1, nil)
		cpu0, self0, host0 := machineCPU(machines), selfCPU(), hostBusy()
		start := time.Now()
		ops := pullLoad(sc.e, sc.Proxied, images, benchWorkers, benchPulls, nil)
		wall := time.Since(start)
		cpu1, self1, host1 := machineCPU(machines), selfCPU(), hostBusy()
		var bytes int64
		failed := 0
		for _, op := range ops {
			bytes += op.Bytes
			if op.Err != nil {
				failed++
			}
		}
		mbps := float64(bytes) / 1e6 / wall.Seconds()
		if n == 1 {
			base = mbps
		}
		var use []string
		for _, m := range sortedKeys(cpu1) {
			use = append(use, fmt.Sprintf("%s %.2f", strings.TrimPrefix(m, "docker-registry/"), (cpu1[m]-cpu0[m])/wall.Seconds()))
		}
		use = append(use, fmt.Sprintf("client %.2f; host busy %.2f", (self1-self0)/wall.Seconds(), (host1-host0)/wall.Seconds()))
		b.Logf("| %d | %d | %.1f | %.1f | %.2f | %s | %s | %d | %s |", n, len(ops), mbps,
			float64(len(ops))/wall.Seconds(), mbps/base, opsPercentile(ops, 0.50).Round(time.Millisecond),
			opsPercentile(ops, 0.99).Round(time.Millisecond), failed, strings.Join(use, ", "))
		if failed > 0 {
			b.Errorf("%d pulls failed with %d units", failed, n)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

// machineCPU is the CPU seconds (user+system) used so far by the processes
// in each machine's network namespace: machine name → seconds.
func machineCPU(netns map[string]string) map[string]float64 {
	byInode := map[uint64]string{}
	for name, ns := range netns {
		if fi, err := os.Stat("/run/netns/" + ns); err == nil {
			byInode[fi.Sys().(*syscall.Stat_t).Ino] = name
		}
	}
	out := map[string]float64{}
	for name := range netns {
		out[name] = 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fi, err := os.Stat(p + "/ns/net")
		if err != nil {
			continue
		}
		name, ok := byInode[fi.Sys().(*syscall.Stat_t).Ino]
		if !ok {
			continue
		}
		out[name] += procCPU(p)
	}
	return out
}

// procCPU is utime+stime of /proc/<pid>/stat in seconds (USER_HZ 100).
func procCPU(dir string) float64 {
	data, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	// The command name is in parentheses and may hold spaces.
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100
}

func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// hostBusy is the CPU seconds all of the host's cores spent not idle
// (/proc/stat): other work on the host shows here.
func hostBusy() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		x, _ := strconv.ParseFloat(v, 64)
		busy += x
	}
	return busy / 100
}
