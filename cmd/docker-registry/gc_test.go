package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/initgc"
)

// This test binary links every package the charm binary does, so Go
// initialised them here in the same order, the AWS SDK's 2.2 MB endpoint
// tables included. Were internal/initgc initialised after them, or unable
// to turn the collector off, that would have crossed the first heap goal
// and run a collection before any test.
func TestNoCollectionWhilePackagesInitialise(t *testing.T) {
	if afterInit.numGC != 0 {
		t.Errorf("%d garbage collections ran while packages initialised, want 0", afterInit.numGC)
	}
	if afterInit.percent != -1 {
		t.Errorf("collector percent after initialisation = %d, want -1 (off)", afterInit.percent)
	}
	if os.Getenv("GOGC") == "" && initgc.StartPercent() != 100 {
		t.Errorf("StartPercent = %d, want 100 (GOGC unset)", initgc.StartPercent())
	}
}

// afterInit is read when package main initialises: after every package it
// imports, before any test (in whatever order they run) changes anything.
var afterInit = func() (s struct {
	numGC   uint32
	percent int
}) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.numGC = ms.NumGC
	s.percent = debug.SetGCPercent(-1)
	return s
}()

func TestShortLivedProcessesCollectOnlyNearLimit(t *testing.T) {
	t.Cleanup(restoreCollectorAfter(t))
	collectOnlyNearLimit()
	if got := debug.SetMemoryLimit(-1); got != shortLivedMemoryLimit {
		t.Errorf("memory limit = %d, want %d", got, shortLivedMemoryLimit)
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("collector percent = %d, want -1 (off)", got)
	}
}

func TestServeCollectsAsUsual(t *testing.T) {
	t.Cleanup(restoreCollectorAfter(t))
	collectOnlyNearLimit()
	collectAsUsual()
	if got := debug.SetMemoryLimit(-1); got != startMemoryLimit {
		t.Errorf("memory limit = %d, want %d, as the process started", got, startMemoryLimit)
	}
	if got := debug.SetGCPercent(-1); got != initgc.StartPercent() {
		t.Errorf("collector percent = %d, want %d, as the process started", got, initgc.StartPercent())
	}
	if os.Getenv("GOMEMLIMIT") == "" && startMemoryLimit != math.MaxInt64 {
		t.Errorf("start memory limit = %d, want none (GOMEMLIMIT unset)", startMemoryLimit)
	}
}

// restoreCollectorAfter returns a func that puts back the collector
// settings in effect now, so tests do not leak them into each other.
func restoreCollectorAfter(t *testing.T) func() {
	t.Helper()
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
