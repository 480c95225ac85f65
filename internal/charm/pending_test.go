package charm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPendingRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pending")
	if got := readPending(path); got != (Changes{}) {
		t.Errorf("no record: %+v", got)
	}
	for _, ch := range []Changes{{Served: true}, {Binary: true, Env: true}, {Units: true, Socket: true}, {}} {
		if err := writePending(path, ch); err != nil {
			t.Fatal(err)
		}
		if got := readPending(path); got != ch {
			t.Errorf("wrote %+v, read %+v", ch, got)
		}
	}
	// Anything but the five flags asks for everything.
	all := Changes{Binary: true, Units: true, Socket: true, Env: true, Served: true}
	for _, garbage := range []string{"", "0000", "000000", "0x000", "{}\n"} {
		if err := os.WriteFile(path, []byte(garbage), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := readPending(path); got != all {
			t.Errorf("%q read as %+v, want everything", garbage, got)
		}
	}
}
