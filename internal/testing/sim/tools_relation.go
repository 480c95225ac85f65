package sim

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

var flagRelation = flagDef{short: "r", long: "relation"}

// relation resolves -r, or the hook's own relation. Both failures are
// usage errors: Juju resolves -r while parsing options.
func (c *call) relation() (*relation, error) {
	if c.p.has("relation") {
		v := c.p.get("relation")
		r, err := c.m.relationByArg(v)
		if err != nil {
			return nil, usagef("invalid value %q for option -r: %v", v, err)
		}
		return r, nil
	}
	if c.hc.rel == nil {
		return nil, usagef("no relation id specified")
	}
	return c.hc.rel, nil
}

func tooMany(args []string, max int) error {
	if len(args) > max {
		return usagef("unrecognized args: %q", args[max:])
	}
	return nil
}

// relation-ids [--format] [<endpoint>]
func relationIDs(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	var endpoint string
	switch {
	case len(c.p.args) == 1:
		endpoint = c.p.args[0]
	case c.hc.rel != nil:
		endpoint = c.hc.rel.endpoint
	default:
		return usagef("no relation name specified")
	}
	ids := []string{}
	for _, id := range slices.Sorted(maps.Keys(c.m.relations)) {
		r := c.m.relations[id]
		if r.endpoint == endpoint && r.created[c.hc.unit] && !r.broken[c.hc.unit] && !r.removed {
			ids = append(ids, r.key())
		}
	}
	slices.Sort(ids) // as strings, like jujuc: "website:10" before "website:9"
	return c.emit("smart", ids)
}

// relation-list [-r ID] [--app] [--format]
func relationList(c *call) error {
	r, err := c.relation()
	if err != nil {
		return err
	}
	if err := tooMany(c.p.args, 0); err != nil {
		return err
	}
	if c.p.has("app") {
		return c.emit("smart", r.remoteApp)
	}
	members := r.members(c.hc.unit)
	if members == nil {
		members = []string{}
	}
	return c.emit("smart", members)
}

// relation-get [-r ID] [--app] [--format] [<key>|-] [<unit-or-app>]
func relationGet(c *call) error {
	r, err := c.relation()
	if err != nil {
		return err
	}
	if err := tooMany(c.p.args, 2); err != nil {
		return err
	}
	key := ""
	if len(c.p.args) > 0 && c.p.args[0] != "-" {
		key = c.p.args[0]
	}
	name, app, err := c.unitOrApp()
	if err != nil {
		return err
	}
	bag, err := c.readBag(r, name, app)
	if err != nil {
		return err
	}
	if key == "" {
		return c.emit("smart", bag)
	}
	if v, ok := bag[key]; ok {
		return c.emit("smart", v)
	}
	return c.emit("smart", nil)
}

// unitOrApp decides whose bag relation-get reads (jujuc
// determineUnitOrAppName): the argument, else the remote unit, else the
// remote app when that is all the context has.
func (c *call) unitOrApp() (string, bool, error) {
	app := c.p.has("app")
	if len(c.p.args) == 2 {
		name := c.p.args[1]
		if app {
			return appOf(name), true, nil
		}
		if !strings.Contains(name, "/") {
			// jujuc accepts it and the controller refuses the read.
			return "", false, fmt.Errorf("invalid unit name %q", name)
		}
		return name, false, nil
	}
	// Like Juju, the hook's remote unit or app is the default even when -r
	// names another relation.
	ev := c.hc.ev
	switch {
	case app && ev.RemoteApp != "":
		return ev.RemoteApp, true, nil
	case ev.RemoteUnit != "":
		return ev.RemoteUnit, false, nil
	case ev.RemoteApp != "":
		return ev.RemoteApp, true, nil
	}
	return "", false, usagef("no unit or application specified")
}

// readBag returns a copy of a bag as the calling unit sees it: its own
// unit bag and, for the leader, its own app bag include this hook's
// uncommitted writes.
func (c *call) readBag(r *relation, name string, app bool) (map[string]string, error) {
	if app {
		return c.readAppBag(r, name)
	}
	bag, ok := r.unitData[name]
	if !ok {
		return nil, fmt.Errorf("cannot read settings for unit %q in relation %q: unit %q: settings not found",
			name, r.key(), name)
	}
	bag = maps.Clone(bag)
	if w := c.hc.relWrites[r.id]; name == c.hc.unit && w != nil && w.unit != nil {
		overlay(bag, w.unit)
	}
	return bag, nil
}

func (c *call) readAppBag(r *relation, app string) (map[string]string, error) {
	if app != c.m.app {
		if app != r.remoteApp {
			return nil, fmt.Errorf("cannot read settings for application %q in relation %q: not found", app, r.key())
		}
		return maps.Clone(r.appData[app]), nil
	}
	if !r.peer && !c.isLeader() {
		return nil, fmt.Errorf("permission denied")
	}
	bag := maps.Clone(r.appData[app])
	if bag == nil {
		bag = map[string]string{}
	}
	if w := c.hc.relWrites[r.id]; c.isLeader() && w != nil && w.app != nil {
		overlay(bag, w.app)
	}
	return bag, nil
}

// relation-set [-r ID] [--app] [--file PATH|-] key=value ...
func relationSet(c *call) error {
	r, err := c.relation()
	if err != nil {
		return err
	}
	args, err := parseKeyValues(c.p.args)
	if err != nil {
		return err
	}
	settings, err := c.readSettingsFile()
	if err != nil {
		return err
	}
	maps.Copy(settings, args)
	if c.p.has("app") && !c.isLeader() {
		return fmt.Errorf("cannot write relation settings")
	}
	w := c.hc.relWrites[r.id]
	if w == nil {
		w = &relWrites{}
		c.hc.relWrites[r.id] = w
	}
	dst := &w.unit
	if c.p.has("app") {
		dst = &w.app
	}
	if *dst == nil {
		*dst = map[string]string{}
	}
	maps.Copy(*dst, settings)
	return nil
}

// readSettingsFile reads --file (a YAML or JSON map; "-" is stdin) into
// strings the way Juju does: scalars become their text, null becomes "".
func (c *call) readSettingsFile() (map[string]string, error) {
	out := map[string]string{}
	if !c.p.has("file") {
		return out, nil
	}
	data, err := c.readFileArg(c.p.get("file"))
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("cannot parse settings file: %v", err)
	}
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

func (c *call) readFileArg(name string) ([]byte, error) {
	if name == "-" {
		return c.stdin, nil
	}
	if !filepath.IsAbs(name) && c.cwd != "" {
		name = filepath.Join(c.cwd, name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read settings file: %v", err)
	}
	return data, nil
}

// parseKeyValues parses key=value arguments (juju/utils keyvalues.Parse
// with empty values allowed). Errors are usage errors.
func parseKeyValues(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, usagef("expected \"key=value\", got %q", a)
		}
		if _, dup := out[k]; dup {
			return nil, usagef("key %q specified more than once", k)
		}
		out[k] = v
	}
	return out, nil
}
