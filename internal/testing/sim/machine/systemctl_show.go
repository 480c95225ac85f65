package machine

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// properties returns what show prints for a unit: the runtime state
// and every directive of its file under its own name.
func (m *manager) properties(name string) map[string]string {
	us := m.get(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	p := map[string]string{
		"Id":             name,
		"Names":          name,
		"ActiveState":    us.active,
		"SubState":       us.sub,
		"MainPID":        "0",
		"NRestarts":      strconv.Itoa(us.nrestarts),
		"Result":         orDefault(us.result, "success"),
		"ExecMainStatus": strconv.Itoa(us.exitCode),
		"LoadState":      "loaded",
		"StatusText":     us.status,
		"UnitFileState":  unitFileState(name),
	}
	if us.main != nil {
		p["MainPID"] = strconv.Itoa(us.main.pid)
	}
	switch {
	case us.unit == nil && us.loadErr != nil && !strings.Contains(us.loadErr.Error(), "no such file"):
		p["LoadState"] = "bad-setting"
	case us.unit == nil:
		p["LoadState"] = "not-found"
	default:
		p["FragmentPath"] = filepath.Join(unitDir, name)
		p["Description"] = us.unit.Description
		for k, v := range us.unit.Directives {
			_, key, _ := strings.Cut(k, ".")
			p[key] = strings.Join(v, " ")
		}
		if us.unit.Kind == "service" {
			p["Type"] = us.unit.Service.Type
			p["Restart"] = us.unit.Service.Restart
			p["NoNewPrivileges"] = yesNo(us.unit.Service.NoNewPrivileges)
		}
	}
	return p
}

func (m *manager) verbShow(o *systemctlOut, units []string) {
	for i, u := range units {
		if i > 0 && !o.value {
			fmt.Fprintln(&o.stdout)
		}
		props := m.properties(unitName(u))
		keys := o.props
		if len(keys) == 0 {
			for k := range props {
				keys = append(keys, k)
			}
			sort.Strings(keys)
		}
		for _, k := range keys {
			if o.value {
				fmt.Fprintln(&o.stdout, props[k])
			} else {
				fmt.Fprintf(&o.stdout, "%s=%s\n", k, props[k])
			}
		}
	}
}

func (m *manager) verbStatus(o *systemctlOut, units []string) {
	if len(units) == 0 {
		fmt.Fprintln(&o.stdout, "● simmachine\n    State: running")
		return
	}
	code := 0
	for _, u := range units {
		name := unitName(u)
		p := m.properties(name)
		if p["LoadState"] == "not-found" {
			o.failf(4, "Unit %s could not be found.", name)
			continue
		}
		fmt.Fprintf(&o.stdout, "● %s - %s\n", name, p["Description"])
		fmt.Fprintf(&o.stdout, "     Loaded: %s (%s; %s)\n", p["LoadState"], p["FragmentPath"], p["UnitFileState"])
		fmt.Fprintf(&o.stdout, "     Active: %s (%s)\n", p["ActiveState"], p["SubState"])
		if p["MainPID"] != "0" {
			fmt.Fprintf(&o.stdout, "   Main PID: %s\n", p["MainPID"])
		}
		if p["ActiveState"] != "active" && code == 0 {
			code = 3
		}
	}
	if o.code == 0 {
		o.code = code
	}
}

func (m *manager) verbListUnits(o *systemctlOut, _ []string) {
	m.mu.Lock()
	var names []string
	for n, us := range m.units {
		if us.unit != nil && (o.all || us.active != "inactive") {
			names = append(names, n)
		}
	}
	m.mu.Unlock()
	sort.Strings(names)
	fmt.Fprintf(&o.stdout, "%-40s %-8s %-10s %-12s %s\n", "UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION")
	for _, n := range names {
		p := m.properties(n)
		fmt.Fprintf(&o.stdout, "%-40s %-8s %-10s %-12s %s\n", n, p["LoadState"], p["ActiveState"], p["SubState"], p["Description"])
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
