// Package charmhtpasswd is the "charm-htpasswd" access controller: basic
// auth against an htpasswd file, registered by import as distribution
// registers its own backends. It keeps distribution's registry/auth/htpasswd
// options (realm, path), file format (internal/htpasswd), challenge and
// re-read of a changed file, and differs in three ways:
//
//   - a credential that bcrypt verified is remembered for verifiedTTL, so a
//     client pays the bcrypt cost once, not on every request (distribution
//     verifies every request: ~20 requests/s per core at cost 10);
//   - a missing file is an error; distribution creates one with a random
//     password and logs that password;
//   - an unknown user is checked against a dummy hash of the file's own cost
//     (distribution's dummy is cost 5, so at cost 10 the timing tells known
//     users from unknown ones).
//
// It has a name of its own so that it never competes with distribution's
// for "htpasswd": a configuration says which one it means.
package charmhtpasswd

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/htpasswd"
)

// Name is what a registry configuration's auth section calls this
// controller.
const Name = "charm-htpasswd"

func init() {
	if err := auth.Register(Name, newController); err != nil {
		panic(fmt.Sprintf("cannot register the %s access controller: %v", Name, err))
	}
}

// compareHashAndPassword is bcrypt's verification; tests wrap it to count
// the calls.
var compareHashAndPassword = bcrypt.CompareHashAndPassword

// controller authenticates basic-auth requests against an htpasswd file of
// bcrypt hashes. Every authenticated user gets every access, as with
// distribution's.
type controller struct {
	realm string
	path  string

	mu   sync.Mutex
	file *file // the file as last read

	// verified is nil when caching is off (benchmarks only).
	verified *verifiedCache
}

// file is one version of the htpasswd file.
type file struct {
	info  os.FileInfo
	users map[string][]byte // user name → bcrypt hash
	// dummy is checked for unknown users, at the cost of the file's hashes.
	dummy []byte
}

var _ auth.AccessController = (*controller)(nil)

// newController builds the controller from its auth options: realm and
// path, both strings, as distribution's requires. The file is read now, so
// a missing or malformed file refuses the configuration.
func newController(options map[string]any) (auth.AccessController, error) {
	realm, ok := options["realm"].(string)
	if !ok {
		return nil, fmt.Errorf(`%s access controller: "realm" must be set (a string)`, Name)
	}
	path, ok := options["path"].(string)
	if !ok || path == "" {
		return nil, fmt.Errorf(`%s access controller: "path" must be set (a string)`, Name)
	}
	c := &controller{realm: realm, path: path, verified: newVerifiedCache(verifiedTTL, verifiedMax)}
	f, err := readFile(path)
	if err != nil {
		// Never create the file: distribution would, with a random
		// password that it logs.
		return nil, err
	}
	c.file = f
	return c, nil
}

// Authorized grants access to a request whose basic credentials match the
// file; any other request gets a basic challenge for the realm. The access
// asked for is not looked at: every user may do everything.
func (c *controller) Authorized(req *http.Request, _ ...auth.Access) (*auth.Grant, error) {
	user, password, ok := req.BasicAuth()
	if !ok {
		return nil, basicChallenge{realm: c.realm, err: auth.ErrInvalidCredential}
	}
	f, err := c.current()
	if err != nil {
		// Not a challenge: distribution's App answers 400 and logs it.
		return nil, err
	}
	if err := c.authenticate(f, user, password); err != nil {
		return nil, basicChallenge{realm: c.realm, err: err}
	}
	return &auth.Grant{User: auth.UserInfo{Name: user}}, nil
}

// current returns the file as it is on disk now. Like distribution, it
// stats the file on every request and re-reads it when its modification
// time changed; a change of size or a replacement by another file (the
// charm writes and renames) counts too, in case two writes share a
// timestamp. A file that cannot be read or parsed fails the request and is
// tried again on the next one.
func (c *controller) current() (*file, error) {
	info, err := os.Stat(c.path)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", c.path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil && sameFileVersion(c.file.info, info) {
		return c.file, nil
	}
	f, err := readFile(c.path)
	if err != nil {
		return nil, err
	}
	c.file = f
	return f, nil
}

func sameFileVersion(a, b os.FileInfo) bool {
	return a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size() && os.SameFile(a, b)
}

// authenticate checks user's password: from the cache when this exact
// credential (and stored hash) was verified recently, with bcrypt otherwise.
// Failures are not remembered.
func (c *controller) authenticate(f *file, user, password string) error {
	hash, known := f.users[user]
	if !known {
		// Spend what a known user costs, so timing does not tell which
		// users exist.
		_ = compareHashAndPassword(f.dummy, []byte(password))
		return auth.ErrAuthenticationFailure
	}
	verify := func() error { return compareHashAndPassword(hash, []byte(password)) }
	var err error
	if c.verified == nil {
		err = verify()
	} else {
		err = c.verified.check(credentialMAC(user, password, hash), verify)
	}
	if err != nil {
		l := logrus.WithField("username", user)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			l.Info("user failed to authenticate")
		} else {
			l.WithError(err).Error("error authenticating user")
		}
		return auth.ErrAuthenticationFailure
	}
	return nil
}

// basicChallenge is the 401 answer: distribution's App sets its headers and
// the status.
type basicChallenge struct {
	realm string
	err   error
}

var _ auth.Challenge = basicChallenge{}

// SetHeaders asks for basic credentials for the realm.
func (ch basicChallenge) SetHeaders(_ *http.Request, w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", ch.realm))
}

func (ch basicChallenge) Error() string {
	return fmt.Sprintf("basic authentication challenge for realm %q: %v", ch.realm, ch.err)
}

func (ch basicChallenge) Unwrap() error { return ch.err }

// readFile reads and parses path. The FileInfo comes from the open file,
// so it describes the content read even if the path is replaced meanwhile.
func readFile(path string) (*file, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	entries, err := htpasswd.Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	users := htpasswd.Users(entries)
	dummy, err := dummyHash(usersCost(users))
	if err != nil {
		return nil, err
	}
	return &file{info: info, users: users, dummy: dummy}, nil
}
