package registry

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/auth"
	"golang.org/x/crypto/bcrypt"
)

// TestHtpasswdEntryWithDistribution checks our file with the htpasswd access
// controller registered in the registry binary (ours, which caches verified
// credentials; see htpasswdauth.go), the code that reads it in production.
func TestHtpasswdEntryWithDistribution(t *testing.T) {
	entry, err := HtpasswdEntry("admin", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(entry), "admin:$2y$10$") || !strings.HasSuffix(string(entry), "\n") {
		t.Fatalf("entry has the wrong shape: %q", entry)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, entry, 0o600); err != nil {
		t.Fatal(err)
	}
	ac, err := auth.GetAccessController("htpasswd", map[string]any{"realm": "docker-registry", "path": path})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"admin", "correct horse", true},
		{"admin", "wrong", false},
		{"root", "correct horse", false},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/v2/", nil)
		req.SetBasicAuth(tt.user, tt.password)
		_, err := ac.Authorized(req)
		if ok := err == nil; ok != tt.ok {
			t.Errorf("%s with password ok=%v: got err %v", tt.user, tt.ok, err)
		}
		var ch auth.Challenge
		if err != nil && !errors.As(err, &ch) {
			t.Errorf("%s: want an auth challenge, got %v", tt.user, err)
		}
	}
}

func TestHtpasswdEntryRefuses(t *testing.T) {
	for _, user := range []string{"", "a:b", "#admin", " admin", "ad\nmin"} {
		if _, err := HtpasswdEntry(user, "pw"); err == nil {
			t.Errorf("user %q: want error", user)
		}
	}
	_, err := HtpasswdEntry("admin", strings.Repeat("s", 73))
	if err == nil || strings.Contains(err.Error(), "sss") {
		t.Errorf("long password: got %v", err)
	}
}

func TestHtpasswdUpToDate(t *testing.T) {
	current, err := HtpasswdEntry("admin", "pw")
	if err != nil {
		t.Fatal(err)
	}
	lowCost, err := bcrypt.GenerateFromPassword([]byte("pw"), 5)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		existing string
		user, pw string
		want     bool
	}{
		{"same user and password", string(current), "admin", "pw", true},
		{"with comments and blanks", "# charm\n\n" + string(current), "admin", "pw", true},
		{"password changed", string(current), "admin", "pw2", false},
		{"user changed", string(current), "root", "pw", false},
		{"extra user", string(current) + "other:" + string(lowCost) + "\n", "admin", "pw", false},
		{"duplicate user", string(current) + string(current), "admin", "pw", false},
		{"reference cost 5", "admin:" + string(lowCost) + "\n", "admin", "pw", false},
		{"empty file", "", "admin", "pw", false},
		{"not htpasswd", "garbage\n", "admin", "pw", false},
		{"plain-text password", "admin:pw\n", "admin", "pw", false},
	}
	for _, tt := range tests {
		if got := HtpasswdUpToDate([]byte(tt.existing), tt.user, tt.pw); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
