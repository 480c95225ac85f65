package machine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// systemctlOut collects what one systemctl invocation prints.
type systemctlOut struct {
	stdout, stderr bytes.Buffer
	code           int
	quiet, value   bool
	now            bool
	props          []string
	all            bool
}

func (o *systemctlOut) failf(code int, format string, args ...any) {
	fmt.Fprintf(&o.stderr, format+"\n", args...)
	if o.code == 0 {
		o.code = code
	}
}

// systemctl runs one systemctl command line against the manager. Exit
// codes follow systemctl(1): 0 ok, 1 failure, 3 inactive, 4 no such unit,
// 5 unit not found on start.
func (m *manager) systemctl(args []string) runResponse {
	o := &systemctlOut{}
	if len(args) > 0 && args[0] == journalVerb {
		m.verbJournal(o, args[1:])
		return runResponse{ExitCode: o.code, Stdout: o.stdout.Bytes(), Stderr: o.stderr.Bytes()}
	}
	verb, units := o.parseFlags(args)
	if fn, ok := systemctlVerbs[verb]; ok {
		fn(m, o, units)
	} else {
		o.failf(1, "Unknown command verb %s.", verb)
	}
	return runResponse{ExitCode: o.code, Stdout: o.stdout.Bytes(), Stderr: o.stderr.Bytes()}
}

func (o *systemctlOut) parseFlags(args []string) (string, []string) {
	var verb string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-q" || a == "--quiet":
			o.quiet = true
		case a == "--value":
			o.value = true
		case a == "--now":
			o.now = true
		case a == "-a" || a == "--all":
			o.all = true
		case a == "-p" || a == "--property":
			if i+1 < len(args) {
				i++
				o.props = append(o.props, strings.Split(args[i], ",")...)
			}
		case strings.HasPrefix(a, "--property="):
			o.props = append(o.props, strings.Split(strings.TrimPrefix(a, "--property="), ",")...)
		case strings.HasPrefix(a, "-p") && len(a) > 2:
			o.props = append(o.props, strings.Split(a[2:], ",")...)
		case strings.HasPrefix(a, "-"):
			// --no-pager, --no-block, --system, --no-legend, --plain...: no effect here
		case verb == "":
			verb = a
		default:
			rest = append(rest, a)
		}
	}
	return verb, rest
}

type verbFunc func(m *manager, o *systemctlOut, units []string)

var systemctlVerbs map[string]verbFunc

func init() {
	systemctlVerbs = map[string]verbFunc{
		"daemon-reload":     func(m *manager, o *systemctlOut, _ []string) { m.daemonReload() },
		"start":             jobVerb((*manager).jobStart),
		"stop":              jobVerb((*manager).jobStop),
		"restart":           jobVerb((*manager).restart),
		"reload":            jobVerb((*manager).reload),
		"try-restart":       jobVerb((*manager).tryRestart),
		"reload-or-restart": jobVerb((*manager).reloadOrRestart),
		"enable":            (*manager).verbEnable,
		"disable":           (*manager).verbDisable,
		"is-active":         (*manager).verbIsActive,
		"is-failed":         (*manager).verbIsFailed,
		"is-enabled":        (*manager).verbIsEnabled,
		"show":              (*manager).verbShow,
		"status":            (*manager).verbStatus,
		"list-units":        (*manager).verbListUnits,
		"cat":               (*manager).verbCat,
		"reset-failed":      (*manager).verbResetFailed,
	}
}

// jobVerb applies one job to each named unit, as one systemctl call.
func jobVerb(job func(*manager, string) error) verbFunc {
	return func(m *manager, o *systemctlOut, units []string) {
		if len(units) == 0 {
			o.failf(1, "Too few arguments.")
			return
		}
		m.jobs.Lock()
		defer m.jobs.Unlock()
		for _, u := range units {
			if err := job(m, unitName(u)); err != nil {
				code := 1
				if strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "not loaded") {
					code = 5
				}
				o.failf(code, "Failed to run job on %s: %v", unitName(u), err)
			}
		}
	}
}

func (m *manager) jobStart(name string) error { return m.start(name, map[string]bool{}) }
func (m *manager) jobStop(name string) error  { return m.stop(name) }

func (m *manager) tryRestart(name string) error {
	if !m.isActive(name) {
		return nil
	}
	return m.restart(name)
}

func (m *manager) reloadOrRestart(name string) error {
	us := m.get(name)
	if us.unit != nil && len(us.unit.Service.ExecReload) > 0 && m.isActive(name) {
		return m.reload(name)
	}
	return m.restart(name)
}

func (m *manager) isActive(name string) bool {
	us := m.get(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	return us.active == "active" || us.active == "reloading"
}

func (m *manager) verbIsActive(o *systemctlOut, units []string) {
	m.verbState(o, units, 3, func(s string) bool { return s == "active" || s == "reloading" })
}

func (m *manager) verbIsFailed(o *systemctlOut, units []string) {
	m.verbState(o, units, 1, func(s string) bool { return s == "failed" })
}

// verbState prints each unit's ActiveState; exit 0 if any matched.
func (m *manager) verbState(o *systemctlOut, units []string, failCode int, match func(string) bool) {
	any := false
	for _, u := range units {
		us := m.get(unitName(u))
		m.mu.Lock()
		state := us.active
		m.mu.Unlock()
		if !o.quiet {
			fmt.Fprintln(&o.stdout, state)
		}
		any = any || match(state)
	}
	if !any {
		o.code = failCode
	}
}

func (m *manager) verbCat(o *systemctlOut, units []string) {
	for _, u := range units {
		name := unitName(u)
		p := filepath.Join(unitDir, name)
		data, err := os.ReadFile(p)
		if err != nil {
			o.failf(1, "No files found for %s.", name)
			continue
		}
		fmt.Fprintf(&o.stdout, "# %s\n%s", p, data)
	}
}

func (m *manager) verbResetFailed(o *systemctlOut, units []string) {
	for _, u := range units {
		us := m.get(unitName(u))
		m.mu.Lock()
		if us.active == "failed" {
			us.active, us.sub = "inactive", "dead"
		}
		us.nrestarts, us.starts = 0, nil
		m.mu.Unlock()
	}
}
