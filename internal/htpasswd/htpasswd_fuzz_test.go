package htpasswd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to the parser both the hooks and the
// access controller use: it never panics, what it accepts holds no line
// break and survives being written back out, and a user name the writer
// accepts is one the parser reads back unchanged.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"admin:$2y$10$abcdefghijklmnopqrstuuvwxyz0123456789ABCDEFGHIJKLMNOPQ\n",
		"# comment\n\n  u:h  \r\nu:h2\n",
		"no colon here\n",
		":\n::\n#:\n \t:x\n",
		"a:b\x00c\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") && !strings.HasPrefix(err.Error(), "cannot read htpasswd") {
				t.Fatalf("error %q does not name a line", err)
			}
			return
		}
		var out bytes.Buffer
		for _, e := range entries {
			if strings.ContainsAny(e.User, ":\n") || bytes.ContainsAny(e.Hash, "\n") {
				t.Fatalf("entry %q holds a separator", e)
			}
			fmt.Fprintf(&out, "%s:%s\n", e.User, e.Hash)
		}
		again, err := Parse(&out)
		if err != nil {
			t.Fatalf("written back, the entries do not parse: %v", err)
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries written back read as %d", len(entries), len(again))
		}
		for i, e := range entries {
			if ValidUser(e.User) && (again[i].User != e.User || !bytes.Equal(again[i].Hash, e.Hash)) {
				t.Fatalf("entry %d %q read back as %q", i, e, again[i])
			}
		}
	})
}
