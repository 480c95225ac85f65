// Package htpasswd is the htpasswd file format the registry's basic auth
// reads: one "user:bcrypt-hash" per line. One parser serves both ends,
// the hooks that write and keep the file and the access controller that
// reads it, so they never disagree on what a file grants.
package htpasswd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of new entries. The reference's `htpasswd -B`
// used 5; 10 is bcrypt's default and what UpToDate requires of an
// existing file before it is kept. The registry pays it once per
// credential (the access controller remembers what it verified).
const Cost = bcrypt.DefaultCost

// Entry is one line of the file.
type Entry struct {
	User string
	Hash []byte
}

// Parse reads the format distribution reads: one "user:hash" per line,
// surrounding space trimmed, blank lines and lines starting with "#"
// skipped, the name ending at the first ":". Entries come in file order;
// a later one for the same user wins where that matters (Users).
//
// A line without ":" is an error, as in distribution: it is no entry
// anyone meant to skip (a password pasted in, a truncated write), and a
// file that silently grants less than it says would hide that. The error
// names the line number only: the line may hold a secret.
func Parse(r io.Reader) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d is not \"user:hash\"", n)
		}
		entries = append(entries, Entry{User: user, Hash: []byte(hash)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read htpasswd: %w", err)
	}
	return entries, nil
}

// Users maps each user to its hash, a later line replacing an earlier one.
func Users(entries []Entry) map[string][]byte {
	users := make(map[string][]byte, len(entries))
	for _, e := range entries {
		users[e.User] = e.Hash
	}
	return users
}

// ValidUser reports whether user can be written as an entry that Parse
// reads back as the same name: not empty, no ":" or line break, no
// leading "#" (a comment) and no surrounding space (trimmed).
func ValidUser(user string) bool {
	return user != "" &&
		!strings.ContainsAny(user, ":\r\n") &&
		!strings.HasPrefix(user, "#") &&
		strings.TrimSpace(user) == user
}

// OneUser returns the htpasswd file for one user: a single line
// "user:$2y$10$...\n". $2y$ is what `htpasswd -B` writes;
// x/crypto/bcrypt, which verifies it, accepts it like $2a$.
func OneUser(user, password string) ([]byte, error) {
	if !ValidUser(user) {
		return nil, errors.New(`cannot write htpasswd entry: user name is empty or has ":", a line break, a leading "#" or surrounding spaces`)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		// bcrypt's errors name lengths and costs, never the password.
		return nil, fmt.Errorf("cannot hash htpasswd password: %w", err)
	}
	if bytes.HasPrefix(hash, []byte("$2a$")) {
		hash[2] = 'y'
	}
	return []byte(user + ":" + string(hash) + "\n"), nil
}

// UpToDate reports whether existing already grants exactly user with
// password, hashed at Cost or more, so the charm rewrites the file only
// when something changed (every rewrite re-salts the hash). A file from
// the reference charm (cost 5), one that does not parse, or one with a
// second line for any user is rewritten.
func UpToDate(existing []byte, user, password string) bool {
	entries, err := Parse(bytes.NewReader(existing))
	if err != nil || len(entries) != 1 || entries[0].User != user {
		return false
	}
	hash := entries[0].Hash
	if cost, err := bcrypt.Cost(hash); err != nil || cost < Cost {
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
