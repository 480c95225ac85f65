package main

import (
	"math"
	"runtime/debug"

	"github.com/canonical/docker-registry-charm/internal/initgc"
)

// Package initialisation ran with the garbage collector off
// (internal/initgc): every hook is a new process, and a collection during
// initialisation was a quarter of update-status's cost. What the process
// does next decides how it collects from here on.

// shortLivedMemoryLimit bounds the heap of a process that runs with the
// collector off. No hook or action comes near it (a config-changed peaks
// at a few MB); it only keeps a pathological one from growing without end.
const shortLivedMemoryLimit = 128 << 20

// startMemoryLimit is GOMEMLIMIT, or math.MaxInt64 when it is not set
// (a negative argument reads the limit without changing it).
var startMemoryLimit = debug.SetMemoryLimit(-1)

// collectOnlyNearLimit is for hooks, actions and `reload`: they exit within
// seconds, so garbage costs nothing until the heap nears the limit, and
// then the collector runs as often as it must to hold it.
func collectOnlyNearLimit() {
	if startMemoryLimit == math.MaxInt64 {
		debug.SetMemoryLimit(shortLivedMemoryLimit)
	}
}

// collectAsUsual is for the long-running registry: the collector runs as
// GOGC and GOMEMLIMIT said when the process started.
func collectAsUsual() {
	debug.SetMemoryLimit(startMemoryLimit)
	debug.SetGCPercent(initgc.StartPercent())
}
