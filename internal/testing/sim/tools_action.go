package sim

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var errNotAction = errors.New("not running an action")

// action-get [--format] [<key>[.<key>...]]
func actionGet(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	if c.hc.ev.Action == "" {
		return errNotAction
	}
	params := map[string]any(c.hc.ev.ActionParams)
	if params == nil {
		params = map[string]any{}
	}
	if len(c.p.args) == 0 {
		return c.emit("smart", params)
	}
	var v any = params
	for _, k := range strings.Split(c.p.args[0], ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return c.emit("smart", nil)
		}
		v = m[k]
	}
	return c.emit("smart", v)
}

var actionKeyRule = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

var reservedActionKeys = []string{"stdout", "stdout-encoding", "stderr", "stderr-encoding"}

// action-set <key>=<value> ... Dots nest; values are strings. Juju
// reports the results when the action finishes.
func actionSet(c *call) error {
	type kv struct {
		path []string
		val  string
	}
	var sets []kv
	for _, a := range c.p.args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return usagef("argument %q must be of the form key...=value", a)
		}
		path := strings.Split(k, ".")
		for _, seg := range path {
			if !actionKeyRule.MatchString(seg) {
				return usagef("key %q must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods", seg)
			}
			if slices.Contains(reservedActionKeys, seg) {
				return usagef("cannot set reserved action key %q", seg)
			}
		}
		sets = append(sets, kv{path, v})
	}
	if c.hc.ev.Action == "" {
		return errNotAction
	}
	for _, s := range sets {
		setNested(c.hc.results, s.path, s.val)
	}
	return nil
}

func setNested(m map[string]any, path []string, v string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// action-fail ["<message>"]: the action ends failed whatever the exit code.
func actionFail(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	if c.hc.ev.Action == "" {
		return errNotAction
	}
	c.hc.failed = true
	c.hc.failMsg = "action failed without reason given, check action for errors"
	if len(c.p.args) == 1 {
		c.hc.failMsg = c.p.args[0]
	}
	return nil
}

// action-log <message>: progress, shown at once.
func actionLog(c *call) error {
	if len(c.p.args) == 0 {
		return usagef("no message specified")
	}
	if c.hc.ev.Action == "" {
		return errNotAction
	}
	c.hc.actionLogs = append(c.hc.actionLogs, strings.Join(c.p.args, " "))
	return nil
}

// ActionResult is a finished (or refused) action, as `juju show-task`
// reports it.
type ActionResult struct {
	ID      string
	Unit    string
	Name    string
	Params  map[string]any // validated, with defaults
	Status  string         // completed or failed
	Message string
	Results map[string]any // action-set values plus return-code, stdout, stderr
	Logs    []string       // action-log messages
}

// Failed says whether the action failed.
func (r ActionResult) Failed() bool { return r.Status == "failed" }

func (r ActionResult) String() string {
	return fmt.Sprintf("%s %s on %s: %s %s", r.ID, r.Name, r.Unit, r.Status, r.Message)
}
