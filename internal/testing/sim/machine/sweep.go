package machine

import (
	"os"
	"regexp"
)

var ownedNetns = regexp.MustCompile(`^sm(\d+)-\d+-`)

// sweepStale deletes namespaces left by test processes that died before
// their cleanup ran (a killed "go test"). A namespace is only taken when
// the process that named it no longer exists.
func sweepStale() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		m := ownedNetns.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if _, err := os.Stat("/proc/" + m[1]); os.IsNotExist(err) {
			ip("", "netns del "+e.Name())
		}
	}
}
