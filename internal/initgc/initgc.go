// Package initgc keeps the garbage collector off while Go initialises the
// packages the registry brings in; main decides what happens after.
//
// Every hook is a fresh process, and distribution's dependencies allocate
// about 3.5 MB while their packages initialise (the AWS SDK's endpoint
// tables alone 2.2 MB). That crosses the runtime's first 4 MB heap goal,
// so every hook paid for a collection before main ran: about 5 ms of a
// 21 ms update-status (BENCHMARKS.md). GOGC=off in the environment would
// avoid it, but Juju gives a hook no way to set its environment.
//
// runtime/debug.SetGCPercent is the API for this, but importing
// runtime/debug would not help: Go initialises ready packages in
// import-path order, so runtime/debug, and anything importing it, comes
// after nearly every github.com/... package, the AWS SDK's included. This
// package imports nothing, so it initialises right after the runtime, and
// reaches the runtime's collector setting through the same linkname that
// runtime/debug uses. Were a Go release to refuse that link, the build
// fails; deleting this package then costs hooks those 5 ms and nothing
// else.
package initgc

import _ "unsafe" // for go:linkname

// setGCPercent is the runtime's implementation of debug.SetGCPercent.
//
//go:linkname setGCPercent runtime/debug.setGCPercent
func setGCPercent(percent int32) (previous int32)

// startPercent is the collector setting the process started with (GOGC).
var startPercent int32

func init() {
	startPercent = setGCPercent(-1)
}

// StartPercent is the GOGC percentage the process started with, for
// debug.SetGCPercent to restore normal collection (100 unless GOGC says
// otherwise; negative if GOGC=off).
func StartPercent() int {
	return int(startPercent)
}
