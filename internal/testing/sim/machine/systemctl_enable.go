package machine

import (
	"fmt"
	"os"
	"path/filepath"
)

// enable links the unit into the .wants/.requires directories of its
// [Install] targets, on disk, so that the next boot starts it.
func (m *manager) verbEnable(o *systemctlOut, units []string) {
	for _, u := range units {
		if err := m.enable(unitName(u), o, map[string]bool{}); err != nil {
			o.failf(1, "Failed to enable unit: %v", err)
			return
		}
	}
	if o.now {
		jobVerb((*manager).jobStart)(m, o, units)
	}
}

func (m *manager) enable(name string, o *systemctlOut, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	u, err := loadUnit(name)
	if err != nil {
		return fmt.Errorf("Unit file %s does not exist.", name)
	}
	target := filepath.Join(unitDir, name)
	link := func(dir string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		l := filepath.Join(dir, name)
		if _, err := os.Lstat(l); err == nil {
			return nil
		}
		fmt.Fprintf(&o.stderr, "Created symlink %s → %s.\n", l, target)
		return os.Symlink(target, l)
	}
	for _, t := range u.Install.WantedBy {
		if err := link(filepath.Join(unitDir, t+".wants")); err != nil {
			return err
		}
	}
	for _, t := range u.Install.RequiredBy {
		if err := link(filepath.Join(unitDir, t+".requires")); err != nil {
			return err
		}
	}
	for _, a := range u.Install.Also {
		if err := m.enable(unitName(a), o, seen); err != nil {
			return err
		}
	}
	return nil
}

func (m *manager) verbDisable(o *systemctlOut, units []string) {
	for _, u := range units {
		links := enableLinks(unitName(u))
		if _, err := loadUnit(unitName(u)); os.IsNotExist(err) && len(links) == 0 {
			o.failf(1, "Failed to disable unit: Unit file %s does not exist.", unitName(u))
			return
		}
		for _, l := range links {
			fmt.Fprintf(&o.stderr, "Removed %s.\n", l)
			os.Remove(l)
		}
	}
	if o.now {
		jobVerb((*manager).jobStop)(m, o, units)
	}
}

func enableLinks(name string) []string {
	a, _ := filepath.Glob(filepath.Join(unitDir, "*.wants", name))
	b, _ := filepath.Glob(filepath.Join(unitDir, "*.requires", name))
	return append(a, b...)
}

// unitFileState is what is-enabled prints.
func unitFileState(name string) string {
	u, err := loadUnit(name)
	if err != nil {
		if os.IsNotExist(err) {
			return ""
		}
		return "bad"
	}
	if len(enableLinks(name)) > 0 {
		return "enabled"
	}
	if len(u.Install.WantedBy)+len(u.Install.RequiredBy)+len(u.Install.Also) == 0 {
		return "static"
	}
	return "disabled"
}

func (m *manager) verbIsEnabled(o *systemctlOut, units []string) {
	ok := false
	for _, u := range units {
		name := unitName(u)
		state := unitFileState(name)
		if state == "" {
			o.failf(1, "Failed to get unit file state for %s: No such file or directory", name)
			continue
		}
		if !o.quiet {
			fmt.Fprintln(&o.stdout, state)
		}
		ok = ok || state == "enabled" || state == "static"
	}
	if !ok && o.code == 0 {
		o.code = 1
	}
}
