package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/config"
)

// htpasswdCost is the bcrypt cost of new entries. The reference's
// `htpasswd -B` used 5; 10 is bcrypt's default and what we require of an
// existing file before we keep it. The registry pays it once per request
// carrying basic credentials.
const htpasswdCost = bcrypt.DefaultCost

// HtpasswdEntry returns the htpasswd file for one user: a single line
// "user:$2y$10$...\n". $2y$ is what `htpasswd -B` writes; distribution's
// reader (x/crypto/bcrypt) accepts it like $2a$.
func HtpasswdEntry(user, password string) ([]byte, error) {
	if !config.ValidHtpasswdUser(user) {
		return nil, errors.New(`cannot write htpasswd entry: user name is empty or has ":", a line break, a leading "#" or surrounding spaces`)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), htpasswdCost)
	if err != nil {
		// bcrypt's errors name lengths and costs, never the password.
		return nil, fmt.Errorf("cannot hash htpasswd password: %w", err)
	}
	if bytes.HasPrefix(hash, []byte("$2a$")) {
		hash[2] = 'y'
	}
	return []byte(user + ":" + string(hash) + "\n"), nil
}

// HtpasswdUpToDate reports whether existing already grants exactly user
// with password, hashed at our cost or more, so the charm rewrites the file
// only when something changed (every rewrite re-salts the hash). A file
// from the reference charm (cost 5) is rewritten once.
func HtpasswdUpToDate(existing []byte, user, password string) bool {
	entries := htpasswdEntries(existing)
	if len(entries) != 1 {
		return false
	}
	hash, ok := entries[user]
	if !ok {
		return false
	}
	if cost, err := bcrypt.Cost(hash); err != nil || cost < htpasswdCost {
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// htpasswdEntries reads a file the way distribution's htpasswd reader does:
// blank lines and "#" comments skipped, name up to the first ":". A line
// without ":" gets an empty hash and a repeated name an extra "" entry, so
// neither kind of file is ever up to date.
func htpasswdEntries(b []byte) map[string][]byte {
	entries := map[string][]byte{}
	scanner := bufio.NewScanner(bytes.NewReader(b))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, _ := strings.Cut(line, ":")
		if _, dup := entries[user]; dup {
			entries[""] = nil
		}
		entries[user] = []byte(hash)
	}
	return entries
}
