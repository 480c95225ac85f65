package registry

import (
	"bufio"
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/registry/auth"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
)

// This file is the "htpasswd" access controller of our binary. It keeps
// distribution's (registry/auth/htpasswd) options, file format, challenge and
// reload-on-change, so the rendered configuration stays the standard one, and
// differs in three ways:
//
//   - a credential that bcrypt verified is remembered for verifiedTTL, so a
//     client pays the bcrypt cost once, not on every request (distribution
//     verifies every request: ~20 requests/s per core at cost 10);
//   - a missing file is an error; distribution creates one with a random
//     password and logs that password;
//   - an unknown user is checked against a dummy hash of the file's own cost
//     (distribution's dummy is cost 5, so at cost 10 the timing tells known
//     users from unknown ones).

// Cache bounds: a verified credential is trusted for verifiedTTL, and at most
// verifiedMax credentials are remembered (the oldest go first).
const (
	verifiedTTL = 5 * time.Minute
	verifiedMax = 1024
)

// compareHashAndPassword is bcrypt's verification; tests wrap it to count
// the calls.
var compareHashAndPassword = bcrypt.CompareHashAndPassword

// credentialKey keys the cache's HMAC. It is drawn per process and never
// leaves it, so the cache holds nothing that can be tested against a
// password guess outside this process.
var credentialKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("cannot draw the credential cache key: %v", err))
	}
	return k
}()

func init() {
	// A second registration of the name fails. Whichever of ours and
	// distribution's registers first wins, so fail loudly rather than
	// serve distribution's controller (uncached, and it writes a password
	// into the log) without knowing.
	if err := auth.Register("htpasswd", newHtpasswdController); err != nil {
		panic(fmt.Sprintf("cannot register our htpasswd access controller: %v "+
			"(distribution's registry/auth/htpasswd must not be linked into this binary)", err))
	}
}

// htpasswdController authenticates basic-auth requests against an htpasswd
// file of bcrypt hashes. Every authenticated user gets every access, as with
// distribution's.
type htpasswdController struct {
	realm string
	path  string

	mu   sync.Mutex
	file *htpasswdFile // the file as last read

	// verified is nil when caching is off (benchmarks only).
	verified *verifiedCache
}

// htpasswdFile is one version of the htpasswd file.
type htpasswdFile struct {
	info    os.FileInfo
	entries map[string][]byte // user name → bcrypt hash
	// dummy is checked for unknown users, at the cost of the file's hashes.
	dummy []byte
}

var _ auth.AccessController = (*htpasswdController)(nil)

// newHtpasswdController builds the controller from the "htpasswd" auth
// options: realm and path, both strings, as distribution requires. The file
// is read now, so a missing or malformed file refuses the configuration.
func newHtpasswdController(options map[string]any) (auth.AccessController, error) {
	realm, ok := options["realm"].(string)
	if !ok {
		return nil, errors.New(`htpasswd access controller: "realm" must be set (a string)`)
	}
	path, ok := options["path"].(string)
	if !ok || path == "" {
		return nil, errors.New(`htpasswd access controller: "path" must be set (a string)`)
	}
	c := &htpasswdController{realm: realm, path: path, verified: newVerifiedCache(verifiedTTL, verifiedMax)}
	f, err := readHtpasswdFile(path)
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
func (c *htpasswdController) Authorized(req *http.Request, _ ...auth.Access) (*auth.Grant, error) {
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
func (c *htpasswdController) current() (*htpasswdFile, error) {
	info, err := os.Stat(c.path)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", c.path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil && sameFileVersion(c.file.info, info) {
		return c.file, nil
	}
	f, err := readHtpasswdFile(c.path)
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
func (c *htpasswdController) authenticate(f *htpasswdFile, user, password string) error {
	hash, known := f.entries[user]
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

// credentialMAC is HMAC-SHA256 under the process key of the user, the
// password and the stored hash, each length-prefixed so no two different
// triples share an input. A new hash for the user (a changed file) gives new
// keys, so what was verified against the old hash is never found again.
func credentialMAC(user, password string, hash []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, credentialKey)
	var n [8]byte
	for _, field := range [][]byte{[]byte(user), []byte(password), hash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		m.Write(n[:])
		m.Write(field)
	}
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
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

// readHtpasswdFile reads and parses path. The FileInfo comes from the open
// file, so it describes the content read even if the path is replaced
// meanwhile.
func readHtpasswdFile(path string) (*htpasswdFile, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	entries, err := parseHtpasswd(fh)
	if err != nil {
		return nil, fmt.Errorf("cannot use htpasswd file %q: %w", path, err)
	}
	dummy, err := dummyHash(entriesCost(entries))
	if err != nil {
		return nil, err
	}
	return &htpasswdFile{info: info, entries: entries, dummy: dummy}, nil
}

// parseHtpasswd reads the format distribution reads: one "user:hash" per
// line, surrounding space trimmed, blank lines and lines starting with "#"
// skipped, the name ending at the first ":", a later line for the same user
// replacing an earlier one. A line without ":" is an error that names the
// line number only (the line may hold a secret).
func parseHtpasswd(r io.Reader) (map[string][]byte, error) {
	entries := map[string][]byte{}
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
		entries[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return entries, nil
}

// entriesCost is the highest bcrypt cost among the entries, htpasswdCost
// when none is a bcrypt hash.
func entriesCost(entries map[string][]byte) int {
	cost := 0
	for _, h := range entries {
		if c, err := bcrypt.Cost(h); err == nil && c > cost {
			cost = c
		}
	}
	if cost == 0 {
		cost = htpasswdCost
	}
	return cost
}

var dummyHashes struct {
	sync.Mutex
	byCost map[int][]byte
}

// dummyHash returns a bcrypt hash of the given cost of a random password
// nobody knows, made once per cost in the process.
func dummyHash(cost int) ([]byte, error) {
	dummyHashes.Lock()
	defer dummyHashes.Unlock()
	if h, ok := dummyHashes.byCost[cost]; ok {
		return h, nil
	}
	pw := make([]byte, 24)
	if _, err := rand.Read(pw); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		return nil, fmt.Errorf("cannot make a bcrypt hash of cost %d: %w", cost, err)
	}
	if dummyHashes.byCost == nil {
		dummyHashes.byCost = map[int][]byte{}
	}
	dummyHashes.byCost[cost] = h
	return h, nil
}

// verifiedCache remembers credentials that bcrypt verified, by their
// credentialMAC, for ttl, at most max of them (the oldest are dropped
// first). Concurrent checks of the same credential share one bcrypt run.
type verifiedCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]*list.Element // of verifiedEntry
	order   *list.List                          // oldest first
	flights map[[sha256.Size]byte]*verifyFlight
}

type verifiedEntry struct {
	mac     [sha256.Size]byte
	expires time.Time
}

// verifyFlight is one bcrypt run that concurrent checks of the same
// credential wait for.
type verifyFlight struct {
	done chan struct{}
	err  error
}

func newVerifiedCache(ttl time.Duration, max int) *verifiedCache {
	return &verifiedCache{
		ttl:     ttl,
		max:     max,
		now:     time.Now,
		entries: map[[sha256.Size]byte]*list.Element{},
		order:   list.New(),
		flights: map[[sha256.Size]byte]*verifyFlight{},
	}
}

// check returns nil if mac was verified less than ttl ago; otherwise it
// runs verify (or waits for a concurrent run of it for the same mac) and
// remembers a success.
func (v *verifiedCache) check(mac [sha256.Size]byte, verify func() error) error {
	v.mu.Lock()
	now := v.now()
	if e, ok := v.entries[mac]; ok {
		if now.Before(e.Value.(*verifiedEntry).expires) {
			v.mu.Unlock()
			return nil
		}
		v.remove(e)
	}
	if f, ok := v.flights[mac]; ok {
		v.mu.Unlock()
		<-f.done
		return f.err
	}
	// A verify that panics leaves errVerifyAborted for the waiters.
	f := &verifyFlight{done: make(chan struct{}), err: errVerifyAborted}
	v.flights[mac] = f
	v.mu.Unlock()

	defer func() {
		v.mu.Lock()
		delete(v.flights, mac)
		if f.err == nil {
			v.add(mac, v.now().Add(v.ttl))
		}
		v.mu.Unlock()
		close(f.done)
	}()
	f.err = verify()
	return f.err
}

var errVerifyAborted = errors.New("credential verification aborted")

// add remembers mac until expires; v.mu is held.
func (v *verifiedCache) add(mac [sha256.Size]byte, expires time.Time) {
	if e, ok := v.entries[mac]; ok {
		v.remove(e)
	}
	// Entries are added in time order with one ttl, so the oldest is the
	// first to expire: drop the expired ones, then the oldest over max.
	now := v.now()
	for e := v.order.Front(); e != nil && !now.Before(e.Value.(*verifiedEntry).expires); e = v.order.Front() {
		v.remove(e)
	}
	for v.order.Len() >= v.max && v.order.Len() > 0 {
		v.remove(v.order.Front())
	}
	if v.max <= 0 {
		return
	}
	v.entries[mac] = v.order.PushBack(&verifiedEntry{mac: mac, expires: expires})
}

func (v *verifiedCache) remove(e *list.Element) {
	delete(v.entries, e.Value.(*verifiedEntry).mac)
	v.order.Remove(e)
}

// size is the number of credentials remembered, expired or not.
func (v *verifiedCache) size() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.order.Len()
}
