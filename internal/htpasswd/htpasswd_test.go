package htpasswd

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestOneUserParsesBack(t *testing.T) {
	file, err := OneUser("admin", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(file), "admin:$2y$10$") || !strings.HasSuffix(string(file), "\n") {
		t.Fatalf("entry has the wrong shape: %q", file)
	}
	entries, err := Parse(bytes.NewReader(file))
	if err != nil || len(entries) != 1 || entries[0].User != "admin" {
		t.Fatalf("Parse(OneUser) = %v, %v; want one entry for admin", entries, err)
	}
	if err := bcrypt.CompareHashAndPassword(entries[0].Hash, []byte("correct horse")); err != nil {
		t.Errorf("the written hash does not verify the password: %v", err)
	}
}

func TestOneUserRefuses(t *testing.T) {
	for _, user := range []string{"", "a:b", "#admin", " admin", "ad\nmin"} {
		if _, err := OneUser(user, "pw"); err == nil {
			t.Errorf("user %q: want error", user)
		}
	}
	_, err := OneUser("admin", strings.Repeat("s", 73))
	if err == nil || strings.Contains(err.Error(), "sss") {
		t.Errorf("long password: got %v", err)
	}
}

func TestUpToDate(t *testing.T) {
	current, err := OneUser("admin", "pw")
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
		{"a line without a colon besides the entry", string(current) + "garbage\n", "admin", "pw", false},
		{"plain-text password", "admin:pw\n", "admin", "pw", false},
	}
	for _, tt := range tests {
		if got := UpToDate([]byte(tt.existing), tt.user, tt.pw); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	entries, err := Parse(strings.NewReader("# comment\n\n  u:h1  \nv::x\nu:h2\n:empty\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"u", []byte("h1")}, {"v", []byte(":x")}, {"u", []byte("h2")}, {"", []byte("empty")}}
	if len(entries) != len(want) {
		t.Fatalf("Parse = %q, want %q", entries, want)
	}
	for i := range want {
		if entries[i].User != want[i].User || !bytes.Equal(entries[i].Hash, want[i].Hash) {
			t.Errorf("entry %d = %q, want %q", i, entries[i], want[i])
		}
	}
	if users := Users(entries); string(users["u"]) != "h2" || len(users) != 3 {
		t.Errorf("Users = %q, want the later line for u to win", users)
	}
}

// A line without ":" refuses the whole file, naming the line but never
// quoting it (it may be a password pasted in).
func TestParseRefusesALineWithoutColon(t *testing.T) {
	_, err := Parse(strings.NewReader("# users\nu:h\nplaintext-secret-line\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("Parse = %v, want an error naming line 3", err)
	}
	if strings.Contains(err.Error(), "plaintext-secret-line") {
		t.Errorf("the error quotes the file's content: %v", err)
	}
}

func TestValidUser(t *testing.T) {
	for user, want := range map[string]bool{
		"admin": true, "a b": true, "a#": true,
		"": false, "a:b": false, "#a": false, " a": false, "a ": false, "a\rb": false, "a\nb": false,
	} {
		if got := ValidUser(user); got != want {
			t.Errorf("ValidUser(%q) = %v, want %v", user, got, want)
		}
	}
}
