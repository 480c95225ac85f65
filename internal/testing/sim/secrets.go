package sim

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/juju/charm/v12"
)

// Juju user secrets (Juju ≥ 3.3), as Juju documents them and its code
// implements them (docs/reference/secret.md; worker/uniter/runner/jujuc/
// secret-get.go; apiserver/facades/agent/secretsmanager getSecretContent
// and getConsumedRevision; core/secrets ParseURI):
//
//   - an operator adds a secret (juju add-secret NAME key=value ...),
//     grants it to an application (juju grant-secret, no hook) and sets a
//     `type: secret` option to its URI (config-changed);
//   - a unit's first secret-get tracks the latest revision; later reads
//     return the tracked revision unless --refresh (read the latest and
//     track it) or --peek (read the latest this once);
//   - juju update-secret adds a revision and runs secret-changed on every
//     unit that reads the secret (it has a consumer record) and tracks an
//     older revision; a user secret's observer gets no other secret hook.

// userSecret is one user secret: owned by the model, shared by grants.
type userSecret struct {
	id        string
	name      string
	revisions []map[string]string // revision n is revisions[n-1]
	grants    map[string]bool     // application names
}

func (s *userSecret) uri() string { return "secret:" + s.id }

// secretConsumer is one unit's tracking record of a secret.
type secretConsumer struct {
	current int // the revision the unit reads
	label   string
}

// secretStore holds the model's secrets and who consumes which revision.
type secretStore struct {
	byID      map[string]*userSecret
	consumers map[string]map[string]*secretConsumer // secret id → unit → record
}

func (st *secretStore) init() {
	if st.byID == nil {
		st.byID = map[string]*userSecret{}
		st.consumers = map[string]map[string]*secretConsumer{}
	}
}

// secretKey is Juju's rule for content keys: a lowercase letter first,
// then letters, digits and single dashes, at least three characters.
var secretKey = regexp.MustCompile(`^[a-z](?:-?[a-z0-9]){2,}$`)

// secretID is an xid as Juju prints it: 20 characters of base32hex.
var secretID = regexp.MustCompile(`^[0-9a-v]{20}$`)

// parseSecretURI returns the secret id of "secret:<id>",
// "secret://<model-uuid>/<id>" or a bare id, with Juju's errors.
func parseSecretURI(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("secret URI %q not valid", s)
	}
	if u.Scheme != "" && u.Scheme != "secret" {
		return "", fmt.Errorf("secret URI scheme %q not valid", u.Scheme)
	}
	id := strings.TrimLeft(u.Path, "/")
	if id == "" {
		id = u.Opaque
	}
	if !secretID.MatchString(id) {
		return "", fmt.Errorf("secret URI %q not valid", s)
	}
	return id, nil
}

func newSecretID() string {
	const digits = "0123456789abcdefghijklmnopqrstuv"
	b := make([]byte, 20)
	for i := range b {
		b[i] = digits[rand.IntN(len(digits))]
	}
	b[19] = "0g"[rand.IntN(2)] // 96 bits in 100: the last 4 are zero
	return string(b)
}

func checkContent(content map[string]string) error {
	if len(content) == 0 {
		return errors.New("empty secret value")
	}
	for k := range content {
		if !secretKey.MatchString(k) {
			return fmt.Errorf("key %q not valid", k)
		}
	}
	return nil
}

// lookupSecret finds a secret by URI or name, as the juju CLI accepts
// either; the lock is held.
func (m *Model) lookupSecret(ref string) (*userSecret, error) {
	m.secrets.init()
	if id, err := parseSecretURI(ref); err == nil && m.secrets.byID[id] != nil {
		return m.secrets.byID[id], nil
	}
	for _, s := range m.secrets.byID {
		if s.name == ref {
			return s, nil
		}
	}
	return nil, fmt.Errorf("secret %q not found", ref)
}

// AddSecret adds a user secret, like `juju add-secret NAME key=value...`,
// and returns its URI ("secret:<id>"). Nothing is granted yet.
func (m *Model) AddSecret(name string, content map[string]string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets.init()
	if err := checkContent(content); err != nil {
		return "", fmt.Errorf("cannot add secret %q: %w", name, err)
	}
	for _, s := range m.secrets.byID {
		if s.name == name {
			return "", fmt.Errorf("cannot add secret %q: secret with label %q already exists", name, name)
		}
	}
	s := &userSecret{id: newSecretID(), name: name, grants: map[string]bool{},
		revisions: []map[string]string{cloneStrings(content)}}
	m.secrets.byID[s.id] = s
	return s.uri(), nil
}

// GrantSecret lets app read the secret (`juju grant-secret REF APP`); it
// fires no hook.
func (m *Model) GrantSecret(ref, app string) error {
	return m.setGrant(ref, app, true)
}

// RevokeSecret withdraws app's access (`juju revoke-secret REF APP`); its
// units' next secret-get is refused. It fires no hook.
func (m *Model) RevokeSecret(ref, app string) error {
	return m.setGrant(ref, app, false)
}

func (m *Model) setGrant(ref, app string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookupSecret(ref)
	if err != nil {
		return err
	}
	if app != m.app && m.remoteApps[app] == nil {
		return fmt.Errorf("application %q not found", app)
	}
	if on {
		s.grants[app] = true
	} else {
		delete(s.grants, app)
	}
	return nil
}

// UpdateSecret publishes a new revision (`juju update-secret REF
// key=value...`), then runs secret-changed on every unit of ours that
// reads the secret and tracks an older revision.
func (m *Model) UpdateSecret(ctx context.Context, ref string, content map[string]string) error {
	m.mu.Lock()
	s, err := m.lookupSecret(ref)
	if err == nil {
		err = checkContent(content)
	}
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("cannot update secret %q: %w", ref, err)
	}
	s.revisions = append(s.revisions, cloneStrings(content))
	latest := len(s.revisions)
	for _, u := range m.liveUnits() {
		rec := m.secrets.consumers[s.id][u]
		if rec != nil && s.grants[m.app] && rec.current < latest {
			m.enqueue(u, Event{Hook: "secret-changed", SecretID: s.uri(), SecretLabel: rec.label})
		}
	}
	m.mu.Unlock()
	return m.run(ctx)
}

// RemoveSecret removes the secret and every revision (`juju
// remove-secret REF`); readers get "not found" from then on.
func (m *Model) RemoveSecret(ref string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookupSecret(ref)
	if err != nil {
		return err
	}
	delete(m.secrets.byID, s.id)
	delete(m.secrets.consumers, s.id)
	return nil
}

// SecretRevision is the revision unit tracks of the secret (0: it never
// read it), and the latest revision.
func (m *Model) SecretRevision(ref, unit string) (tracked, latest int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookupSecret(ref)
	if err != nil {
		return 0, 0
	}
	if rec := m.secrets.consumers[s.id][unit]; rec != nil {
		tracked = rec.current
	}
	return tracked, len(s.revisions)
}

// checkSecretOptions rejects a `type: secret` option whose value is not
// a secret URI, as Juju's application facade does (validateSecretConfig).
func checkSecretOptions(cfg *charm.Config, settings charm.Settings) error {
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		s, ok := settings[name].(string)
		if cfg.Options[name].Type != "secret" || !ok || s == "" {
			continue
		}
		if _, err := parseSecretURI(s); err != nil {
			return fmt.Errorf("invalid secret URI for option %q: %w", name, err)
		}
	}
	return nil
}

// secret-get [--format yaml|json] [-o FILE] [--label L] [--peek|--refresh] [<ID>] [key[#base64]]
func secretGet(c *call) error {
	args := c.p.args
	var id string
	if len(args) > 0 {
		var err error
		if id, err = parseSecretURI(args[0]); err != nil {
			return usageError{err}
		}
		args = args[1:]
	}
	label := c.p.get("label")
	if id == "" && label == "" {
		return usagef("require either a secret URI or label")
	}
	refresh, peek := c.p.has("refresh"), c.p.has("peek")
	if refresh && peek {
		return usagef("specify one of --peek or --refresh but not both")
	}
	if err := tooMany(args, 1); err != nil {
		return err
	}
	content, err := c.readSecret(id, label, refresh, peek)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return c.emit("yaml", content)
	}
	key, asBase64 := strings.CutSuffix(args[0], "#base64")
	v, ok := content[key]
	if !ok {
		return fmt.Errorf("secret key %q not found", key)
	}
	if asBase64 {
		v = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return c.emit("yaml", v)
}

// readSecret is the agent's side of secret-get: permission, then the
// revision the unit reads, saving its tracking record at once (it is an
// API call, not part of the hook's commit).
func (c *call) readSecret(id, label string, refresh, peek bool) (map[string]string, error) {
	st := &c.m.secrets
	st.init()
	if id == "" {
		for sid, units := range st.consumers {
			if rec := units[c.hc.unit]; rec != nil && rec.label == label {
				id = sid
			}
		}
		if id == "" {
			return nil, fmt.Errorf("consumer label %q not found", label)
		}
	}
	s := st.byID[id]
	if s == nil {
		return nil, fmt.Errorf("secret %q not found", "secret:"+id)
	}
	if !s.grants[appOf(c.hc.unit)] {
		return nil, errors.New("permission denied")
	}
	if st.consumers[id] == nil {
		st.consumers[id] = map[string]*secretConsumer{}
	}
	rec := st.consumers[id][c.hc.unit]
	if rec == nil {
		// First read: track the latest revision.
		rec, refresh = &secretConsumer{}, true
		st.consumers[id][c.hc.unit] = rec
	}
	want := rec.current
	if refresh || peek {
		want = len(s.revisions)
	}
	if refresh {
		rec.current = want
	}
	if label != "" {
		rec.label = label
	}
	return cloneStrings(s.revisions[want-1]), nil
}

func cloneStrings(m map[string]string) map[string]string { return maps.Clone(m) }
