package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// config-get [--all|-a] [--format] [<key>]
func configGet(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	cfg := c.m.effectiveConfig()
	if len(c.p.args) == 1 {
		if c.p.has("all") {
			return usagef("cannot use argument --all together with key %q", c.p.args[0])
		}
		return c.emit("smart", cfg[c.p.args[0]])
	}
	if !c.p.has("all") {
		for k, v := range cfg {
			if v == nil {
				delete(cfg, k)
			}
		}
	}
	return c.emit("smart", cfg)
}

var settableStatus = []string{"maintenance", "blocked", "waiting", "active"}

// status-set [--application] <maintenance|blocked|waiting|active> [<message>]
// Immediate: never rolled back.
func statusSet(c *call) error {
	if len(c.p.args) < 1 {
		return usagef("invalid args, require <status> [message]")
	}
	if err := tooMany(c.p.args, 2); err != nil {
		return err
	}
	name := c.p.args[0]
	if !slices.Contains(settableStatus, name) {
		return usagef("invalid status %q, expected one of %v", name, settableStatus)
	}
	s := Status{Name: name, Since: c.m.opts.Now()}
	if len(c.p.args) == 2 {
		s.Message = c.p.args[1]
	}
	if c.p.has("application") {
		if !c.isLeader() {
			return fmt.Errorf("this unit is not the leader")
		}
		c.m.appStatus = s
		return nil
	}
	c.unit().status = s
	c.unit().charmStatus = true
	return nil
}

func statusDetails(s Status) map[string]any {
	data := s.Data
	if data == nil {
		data = map[string]any{}
	}
	return map[string]any{"status": s.Name, "message": s.Message, "status-data": data}
}

// status-get [--include-data] [--application] [--format]
func statusGet(c *call) error {
	if err := tooMany(c.p.args, 0); err != nil {
		return err
	}
	if c.p.has("application") {
		return c.appStatusGet()
	}
	s := c.m.Unit(c.hc.unit).statusLocked()
	if !c.p.has("include-data") {
		if c.p.get("format") == "json" || c.p.get("format") == "yaml" {
			return c.emit("smart", map[string]any{"status": s.Name})
		}
		return c.emit("smart", s.Name)
	}
	return c.emit("smart", statusDetails(s))
}

func (c *call) appStatusGet() error {
	if !c.isLeader() {
		return fmt.Errorf("this unit is not the leader")
	}
	app := statusDetails(c.m.appStatus)
	units := map[string]any{}
	for _, name := range c.m.liveUnits() {
		units[name] = statusDetails(c.m.Unit(name).statusLocked())
	}
	app["units"] = units
	return c.emit("smart", map[string]any{"application-status": app})
}

// statusLocked is Status for callers that hold the model lock.
func (u Unit) statusLocked() Status {
	st := u.m.units[u.name]
	s := st.status.clone()
	if st.failed != nil {
		s = Status{Name: "error", Message: fmt.Sprintf("hook failed: %q", st.failed.Hook), Since: s.Since}
	}
	return s
}

// application-version-set <version>
func applicationVersionSet(c *call) error {
	if len(c.p.args) == 0 {
		return usagef("no version specified")
	}
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	c.unit().version = c.p.args[0]
	c.m.appVersion = c.p.args[0]
	return nil
}

var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}

// juju-log [-l|--log-level LEVEL] [--debug] <message...>. Immediate.
func jujuLog(c *call) error {
	if len(c.p.args) == 0 {
		return usagef("no message specified")
	}
	level := "INFO"
	if c.p.has("debug") {
		level = "DEBUG"
	}
	if c.p.has("log-level") {
		level = strings.ToUpper(c.p.get("log-level"))
		if level == "WARN" {
			level = "WARNING"
		}
	}
	u := c.unit()
	if !slices.Contains(logLevels, level) {
		u.logs = append(u.logs, LogLine{Level: "WARNING", Hook: c.hc.ev.Name(),
			Message: fmt.Sprintf("Specified log level of %q is not valid", c.p.get("log-level"))})
		level = "INFO"
	}
	msg := strings.Join(c.p.args, " ")
	if c.hc.rel != nil {
		msg = c.hc.rel.key() + ": " + msg
	}
	u.logs = append(u.logs, LogLine{Level: level, Message: msg, Hook: c.hc.ev.Name()})
	return nil
}

// is-leader [--format]
func isLeader(c *call) error {
	if err := tooMany(c.p.args, 0); err != nil {
		return err
	}
	return c.emit("smart", c.isLeader())
}

// leader-get [--format] [<key>|-]
func leaderGet(c *call) error {
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	if len(c.p.args) == 1 && c.p.args[0] != "-" {
		if v, ok := c.m.leaderData[c.p.args[0]]; ok {
			return c.emit("smart", v)
		}
		return c.emit("smart", nil)
	}
	return c.emit("smart", maps.Clone(c.m.leaderData))
}

// leader-set key=value ... Leader only and immediate; an empty value
// deletes. Other units hear of it through leader-settings-changed.
func leaderSet(c *call) error {
	if len(c.p.args) == 0 {
		return usagef("no settings specified")
	}
	kv, err := parseKeyValues(c.p.args)
	if err != nil {
		return err
	}
	if !c.isLeader() {
		return fmt.Errorf("cannot write leadership settings: not the leader")
	}
	before := maps.Clone(c.m.leaderData)
	overlay(c.m.leaderData, kv)
	if !maps.Equal(before, c.m.leaderData) {
		c.hc.leaderChanged = true
	}
	return nil
}

// unit-get private-address|public-address [--format]
func unitGet(c *call) error {
	if len(c.p.args) == 0 {
		return usagef("no setting specified")
	}
	if err := tooMany(c.p.args, 1); err != nil {
		return err
	}
	switch c.p.args[0] {
	case "private-address", "public-address":
		return c.emit("smart", c.unit().address)
	}
	return usagef("unknown setting %q", c.p.args[0])
}
