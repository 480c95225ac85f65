package machine

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// There are no cgroups here; a service's processes are found by the
// INVOCATION_ID systemd puts in their environment, which children keep
// even when they leave the process group (setsid, double fork). This is
// how KillMode=control-group (the default) and mixed are approximated.

func newInvocationID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// invocationPIDs lists the processes of the machine carrying id, and
// those still in the process group pgid (which may have cleared their
// environment).
func invocationPIDs(id string, pgid int) []int {
	if id == "" {
		return nil
	}
	tag := []byte("INVOCATION_ID=" + id + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, tag) || pgid > 0 && processGroup(pid) == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

func processGroup(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	fields := bytes.Fields(stat[i+1:])
	if len(fields) < 3 {
		return 0
	}
	pgrp, _ := strconv.Atoi(string(fields[2]))
	return pgrp
}

// killInvocation signals every process of the invocation.
func killInvocation(id string, pgid int, sig unix.Signal) {
	for _, pid := range invocationPIDs(id, pgid) {
		unix.Kill(pid, sig)
	}
}

// signalStop sends the stop signal once to each process KillMode= names:
// the main process only (process, mixed) or all of the invocation.
func signalStop(main *proc, id string, sig unix.Signal, mode string) {
	if mode == "process" || mode == "mixed" || mode == "none" {
		if mode != "none" {
			main.signal(sig, false)
		}
		return
	}
	pids := invocationPIDs(id, main.pid)
	found := false
	for _, pid := range pids {
		found = found || pid == main.pid
		unix.Kill(pid, sig)
	}
	if !found {
		main.signal(sig, false)
	}
}

// reapInvocation signals what is left of an invocation, waits up to
// timeout for it to exit, then kills it.
func reapInvocation(id string, pgid int, sig unix.Signal, timeout time.Duration) {
	killInvocation(id, pgid, sig)
	waitInvocation(id, pgid, timeout)
}

// waitInvocation waits up to timeout for the invocation's processes to
// exit, then kills what is left.
func waitInvocation(id string, pgid int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for len(invocationPIDs(id, pgid)) > 0 {
		if time.Now().After(deadline) {
			killInvocation(id, pgid, unix.SIGKILL)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
