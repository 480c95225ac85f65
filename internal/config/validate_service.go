package config

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxRegistryName bounds registry-name: it is a label in status messages
// and the unit's Description=, not a place for data.
const maxRegistryName = 256

// Bounds of the service's resource limits. Below them the registry (a Go
// process with a few dozen threads and a heap of tens of MiB at rest)
// cannot start or serve a push; an operator who wants no limit says
// "infinity" (memory) or 0 (tasks).
const (
	minServiceMemory = 64 << 20
	minServiceTasks  = 64
	maxServiceTasks  = 4194304 // the kernel's largest pid_max
)

// checkService checks what reaches the registry's systemd unit.
func (c Config) checkService(v *validator) {
	if v.singleLine("registry-name", c.RegistryName) && len(c.RegistryName) > maxRegistryName {
		v.add("registry-name", "must be at most %d bytes long (got %d)", maxRegistryName, len(c.RegistryName))
	}
	if _, ok := MemoryBytes(c.ServiceMemoryMax); !ok {
		v.add("service-memory-max", `must be a size of at least 64M such as 512M, 2G or 1073741824 (suffixes K, M, G, T: powers of 1024), a share of the machine's memory such as 50%%, or "infinity" (got %q)`, c.ServiceMemoryMax)
	}
	if t := c.ServiceTasksMax; t != 0 && (t < minServiceTasks || t > maxServiceTasks) {
		v.add("service-tasks-max", "must be 0 (no limit) or between %d and %d (got %d)", minServiceTasks, maxServiceTasks, t)
	}
}

// singleLine reports whether value can be written on one line of a
// systemd unit or environment file: valid UTF-8 without control
// characters (line breaks, tabs, escape sequences) or Unicode line
// separators. The value itself is never quoted back: proxy URLs carry
// credentials.
func (v *validator) singleLine(option, value string) bool {
	if IsSingleLine(value) {
		return true
	}
	v.add(option, "must be one line of printable text: remove the line breaks and other control characters (or invalid UTF-8) from it")
	return false
}

// IsSingleLine reports whether s holds only printable text on one line.
func IsSingleLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

var memorySize = regexp.MustCompile(`^([0-9]{1,13})([KMGT]?)$`)

// MemoryBytes parses service-memory-max the way systemd reads MemoryMax=
// (the subset the option documents). It returns the limit in bytes, 0 when
// the value is not an absolute size ("infinity", a percentage, or empty:
// unset, no limit), and whether the value is valid.
func MemoryBytes(s string) (int64, bool) {
	if s == "infinity" || s == "" {
		return 0, true
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		n, err := strconv.Atoi(pct)
		return 0, err == nil && n >= 1 && n <= 100 && pct == strconv.Itoa(n)
	}
	m := memorySize.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	shift := map[string]uint{"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m[2]]
	if n > 1<<(62-shift) {
		return 0, false
	}
	n <<= shift
	return n, n >= minServiceMemory
}
