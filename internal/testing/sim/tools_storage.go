package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// storage-list [--format] [<name>]
func storageList(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	ids := []string{}
	for _, id := range c.unit().storage {
		if len(c.p.args) == 0 || c.m.storage[id].name == c.p.args[0] {
			ids = append(ids, id)
		}
	}
	return c.emit("smart", ids)
}

// storage-get [-s <id>] [--format] [<key>]. -s defaults to the hook's
// storage; it is resolved while parsing, so a bad id is a usage error.
func storageGet(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	id := c.hc.ev.Storage
	if c.p.has("s") {
		id = c.p.get("s")
	}
	if id == "" {
		return usagef("no storage instance specified")
	}
	s := c.m.storage[id]
	if s == nil || s.unit != c.hc.unit {
		return usagef("invalid value %q for option -s: storage instance %q not found", id, id)
	}
	v := map[string]string{"kind": s.kind, "location": s.location}
	if len(c.p.args) == 1 {
		val, ok := v[c.p.args[0]]
		if !ok {
			return fmt.Errorf("invalid storage attribute %q", c.p.args[0])
		}
		return c.emit("smart", val)
	}
	return c.emit("smart", v)
}

type goalStatus struct {
	Status string    `json:"status" yaml:"status"`
	Since  time.Time `json:"since" yaml:"since"`
}

// goal-state [--format yaml|json]: the units and relations Juju means to
// have; yaml by default.
func goalState(c *call) error {
	if err := tooMany(c.p.args, 0); err != nil {
		return err
	}
	units := map[string]goalStatus{}
	for _, name := range c.m.liveUnits() {
		u := c.m.units[name]
		st := "active"
		if u.failed != nil {
			st = "error"
		}
		units[name] = goalStatus{st, u.status.Since.UTC()}
	}
	rels := map[string]map[string]goalStatus{}
	for _, id := range slices.Sorted(maps.Keys(c.m.relations)) {
		r := c.m.relations[id]
		if r.removed {
			continue
		}
		if rels[r.endpoint] == nil {
			rels[r.endpoint] = map[string]goalStatus{}
		}
		info := r.info(c.m)
		since := r.since.UTC()
		if !r.peer {
			rels[r.endpoint][r.remoteApp] = goalStatus{"joined", since}
		}
		for _, ru := range info.RemoteUnits {
			rels[r.endpoint][ru] = goalStatus{"active", since}
		}
	}
	return c.emit("yaml", map[string]any{"units": units, "relations": rels})
}

// state-get [--strict] [--format] [<key>|-]: this hook's own writes are
// visible, as the uniter keeps charm state in a cache until commit.
func stateGet(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	state := c.currentState()
	if len(c.p.args) == 0 || c.p.args[0] == "-" {
		return c.emit("smart", state)
	}
	v, ok := state[c.p.args[0]]
	if !ok {
		if c.p.has("strict") {
			return fmt.Errorf("%q not found", c.p.args[0])
		}
		return c.emit("smart", nil)
	}
	return c.emit("smart", v)
}

func (c *call) currentState() map[string]string {
	state := maps.Clone(c.unit().state)
	if state == nil {
		state = map[string]string{}
	}
	for k, v := range c.hc.stateSet {
		if v == nil {
			delete(state, k)
		} else {
			state[k] = *v
		}
	}
	return state
}

// state-set [--file F] key=value ...; committed when the hook exits 0.
func stateSet(c *call) error {
	kv, err := parseKeyValues(c.p.args)
	if err != nil {
		return err
	}
	settings, err := c.readSettingsFile()
	if err != nil {
		return err
	}
	maps.Copy(settings, kv)
	for k, v := range settings {
		if strings.TrimSpace(v) == "" {
			c.hc.stateSet[k] = nil
			continue
		}
		c.hc.stateSet[k] = &v
	}
	return nil
}

// state-delete <key>
func stateDelete(c *call) error {
	if len(c.p.args) != 1 {
		return usagef("specify a key")
	}
	c.hc.stateSet[c.p.args[0]] = nil
	return nil
}
