package registry

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/auth"
)

// distribution's "htpasswd" creates a missing file with a random password
// and logs that password; the registry links charm-htpasswd instead and
// must not link it (checkSupported relies on it).
func TestDistributionHtpasswdIsNotLinked(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "htpasswd")
	_, err := auth.GetAccessController("htpasswd", map[string]any{"realm": "r", "path": missing})
	if err == nil || !strings.Contains(err.Error(), "no access controller registered") {
		t.Fatalf(`"htpasswd" access controller: %v, want none registered`, err)
	}
	_, err = auth.GetAccessController("charm-htpasswd", map[string]any{"realm": "r", "path": missing})
	if err == nil || strings.Contains(err.Error(), "no access controller registered") {
		t.Fatalf(`"charm-htpasswd" access controller: %v, want it registered and refusing the missing file`, err)
	}
}
