package charmhtpasswd

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache bounds: a verified credential is trusted for verifiedTTL, and at most
// verifiedMax credentials are remembered (the least recently used go first).
const (
	verifiedTTL = 5 * time.Minute
	verifiedMax = 1024
)

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

// verifiedCache remembers credentials that bcrypt verified, by their
// credentialMAC, for ttl, at most max of them. Concurrent checks of the
// same credential share one bcrypt run.
type verifiedCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	// expiry holds when each remembered credential stops being trusted.
	// Expired ones are dropped when next looked up, or as the least
	// recently used once the cache is full; a lookup does not extend them.
	expiry  *simplelru.LRU[[sha256.Size]byte, time.Time]
	flights map[[sha256.Size]byte]*verifyFlight
}

// verifyFlight is one bcrypt run that concurrent checks of the same
// credential wait for.
type verifyFlight struct {
	done chan struct{}
	err  error
}

func newVerifiedCache(ttl time.Duration, max int) *verifiedCache {
	expiry, err := simplelru.NewLRU[[sha256.Size]byte, time.Time](max, nil)
	if err != nil {
		// Only a size below 1 fails, and max is a constant.
		panic(fmt.Sprintf("cannot make the credential cache: %v", err))
	}
	return &verifiedCache{ttl: ttl, now: time.Now, expiry: expiry, flights: map[[sha256.Size]byte]*verifyFlight{}}
}

// check returns nil if mac was verified less than ttl ago; otherwise it
// runs verify (or waits for a concurrent run of it for the same mac) and
// remembers a success.
func (v *verifiedCache) check(mac [sha256.Size]byte, verify func() error) error {
	v.mu.Lock()
	if expires, ok := v.expiry.Get(mac); ok {
		if v.now().Before(expires) {
			v.mu.Unlock()
			return nil
		}
		v.expiry.Remove(mac)
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
			v.expiry.Add(mac, v.now().Add(v.ttl))
		}
		v.mu.Unlock()
		close(f.done)
	}()
	f.err = verify()
	return f.err
}

var errVerifyAborted = errors.New("credential verification aborted")

// size is the number of credentials remembered, expired or not.
func (v *verifiedCache) size() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.expiry.Len()
}
