package sim

import (
	"fmt"
	"strconv"
	"strings"
)

// flagDef declares one option of a hook tool. Juju's tools use gnuflag:
// one-letter names take one dash, longer names two; options and arguments
// may be interspersed; "--" ends the options.
type flagDef struct {
	short, long string
	isBool      bool
	check       func(string) error // validates a value while parsing (exit 2)
}

func (d flagDef) key() string {
	if d.long != "" {
		return d.long
	}
	return d.short
}

// parsedArgs is a tool's command line after option parsing.
type parsedArgs struct {
	vals map[string]string // by long name (short when there is none)
	set  map[string]bool
	args []string
	help bool
}

func (p *parsedArgs) has(name string) bool   { return p.set[name] }
func (p *parsedArgs) get(name string) string { return p.vals[name] }

// parseFlags parses args against defs. Every error is a usage error.
func parseFlags(defs []flagDef, args []string) (*parsedArgs, error) {
	p := &parsedArgs{vals: map[string]string{}, set: map[string]bool{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			p.args = append(p.args, args[i+1:]...)
			return p, nil
		case a == "-h" || a == "--help":
			p.help = true
		case strings.HasPrefix(a, "--"):
			next, err := p.long(defs, a, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += next
		case strings.HasPrefix(a, "-") && len(a) > 1:
			next, err := p.short(defs, a, args[i+1:])
			if err != nil {
				return nil, err
			}
			i += next
		default:
			p.args = append(p.args, a)
		}
	}
	return p, nil
}

// long parses "--name" or "--name=value"; it returns how many of the
// following arguments it consumed.
func (p *parsedArgs) long(defs []flagDef, a string, rest []string) (int, error) {
	name, val, hasVal := strings.Cut(a[2:], "=")
	if name == "" {
		return 0, fmt.Errorf("empty flag in argument %q", a)
	}
	// gnuflag accepts any defined name after "--", one letter too (--r 5).
	d, ok := findFlag(defs, name)
	if !ok {
		return 0, fmt.Errorf("option provided but not defined: --%s", name)
	}
	return p.assign(d, "--"+name, val, hasVal, rest)
}

// short parses "-x", "-xvalue", "-x value" and bundled booleans "-ab".
func (p *parsedArgs) short(defs []flagDef, a string, rest []string) (int, error) {
	for j := 1; j < len(a); j++ {
		name := a[j : j+1]
		d, ok := findFlag(defs, name)
		if !ok || len(d.short) == 0 {
			return 0, fmt.Errorf("option provided but not defined: -%s", name)
		}
		if d.isBool {
			p.set[d.key()] = true
			continue
		}
		// The rest of the argument is the value, "=" included (-r=5 is "=5").
		return p.assign(d, "-"+name, a[j+1:], j+1 < len(a), rest)
	}
	return 0, nil
}

func (p *parsedArgs) assign(d flagDef, shown, val string, hasVal bool, rest []string) (int, error) {
	used := 0
	if d.isBool {
		b := true
		if hasVal {
			// gnuflag reads booleans with strconv: ops sends --application=True.
			var err error
			if b, err = strconv.ParseBool(val); err != nil {
				return 0, fmt.Errorf("invalid value %q for option %s: %v", val, shown, err)
			}
		}
		p.set[d.key()] = b
		return 0, nil
	}
	if !hasVal {
		if len(rest) == 0 {
			return 0, fmt.Errorf("option needs an argument: %s", shown)
		}
		val, used = rest[0], 1
	}
	if d.check != nil {
		if err := d.check(val); err != nil {
			return 0, fmt.Errorf("invalid value %q for option %s: %v", val, shown, err)
		}
	}
	p.vals[d.key()], p.set[d.key()] = val, true
	return used, nil
}

// findFlag looks a name up among long and short names alike, as gnuflag
// keeps them in one table.
func findFlag(defs []flagDef, name string) (flagDef, bool) {
	for _, d := range defs {
		if d.short == name || d.long == name {
			return d, true
		}
	}
	return flagDef{}, false
}

// Options shared by many tools.
var (
	flagOutput = flagDef{short: "o", long: "output"}
	flagApp    = flagDef{long: "app", isBool: true}
)

func formatFlag(allowed ...string) flagDef {
	if len(allowed) == 0 {
		allowed = []string{"smart", "yaml", "json"}
	}
	return flagDef{long: "format", check: func(v string) error {
		for _, a := range allowed {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("unknown format %q", v)
	}}
}
