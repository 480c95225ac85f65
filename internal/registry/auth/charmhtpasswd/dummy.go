package charmhtpasswd

import (
	"crypto/rand"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/canonical/docker-registry-charm/internal/htpasswd"
)

// usersCost is the highest bcrypt cost among the hashes, htpasswd.Cost
// when none is a bcrypt hash.
func usersCost(users map[string][]byte) int {
	cost := 0
	for _, h := range users {
		if c, err := bcrypt.Cost(h); err == nil && c > cost {
			cost = c
		}
	}
	if cost == 0 {
		cost = htpasswd.Cost
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
		return nil, fmt.Errorf("cannot draw a dummy password: %w", err)
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
