package machine

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

const servicePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// serviceEnv builds the environment systemd gives a service: a clean
// base, the account variables when User= is set, Environment= then
// EnvironmentFile= (later assignments win).
func serviceEnv(u *Unit, acct *account) ([]string, error) {
	env := []string{"PATH=" + servicePath, "LANG=C.UTF-8"}
	if acct != nil {
		env = append(env, "HOME="+acct.Home, "USER="+acct.Name, "LOGNAME="+acct.Name, "SHELL="+acct.Shell)
	}
	env = append(env, u.Service.Environment...)
	for _, f := range u.Service.EnvironmentFiles {
		vars, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		env = append(env, vars...)
	}
	return env, nil
}

func readEnvFile(name string) ([]string, error) {
	optional := strings.HasPrefix(name, "-")
	name = strings.TrimPrefix(name, "-")
	f, err := os.Open(name)
	if err != nil {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("cannot read EnvironmentFile=%s: %w", name, err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if words, err := SplitQuoted(v); err == nil && len(words) == 1 {
			v = words[0]
		}
		env = append(env, strings.TrimSpace(k)+"="+v)
	}
	return env, sc.Err()
}

var (
	wholeVar = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)$`)
	braceVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
)

// expandArgv applies specifiers (%n, %N, %p, %i, %%) and variables:
// a word that is exactly $VAR splits into the value's words, ${VAR}
// is replaced in place and $$ is a literal $, as systemd.service(5)
// describes.
func expandArgv(c Command, env []string, u *Unit) []string {
	lookup := func(k string) string { return envValue(env, k) }
	var argv []string
	for _, w := range c.Argv {
		w = expandSpecifiers(w, u)
		if m := wholeVar.FindStringSubmatch(w); m != nil {
			argv = append(argv, strings.Fields(lookup(m[1]))...)
			continue
		}
		parts := strings.Split(w, "$$") // "$$" is a literal "$"
		for i, p := range parts {
			parts[i] = braceVar.ReplaceAllStringFunc(p, func(s string) string {
				return lookup(s[2 : len(s)-1])
			})
		}
		argv = append(argv, strings.Join(parts, "$"))
	}
	return argv
}

func expandSpecifiers(w string, u *Unit) string {
	if !strings.Contains(w, "%") {
		return w
	}
	prefix := strings.TrimSuffix(u.Name, "."+u.Kind)
	r := strings.NewReplacer("%%", "%", "%n", u.Name, "%N", prefix, "%p", prefix, "%i", "", "%I", "")
	return r.Replace(w)
}

// wrapperFlags tells the exec wrapper what to apply in the child.
// A "+" command (privileged) gets neither.
func wrapperFlags(u *Unit, acct *account, nfds int, privileged bool) []string {
	svc := &u.Service
	var f []string
	if acct != nil {
		groups := make([]string, len(acct.Groups))
		for i, g := range acct.Groups {
			groups[i] = strconv.Itoa(int(g))
		}
		f = append(f, "--uid="+strconv.Itoa(int(acct.UID)), "--gid="+strconv.Itoa(int(acct.GID)),
			"--groups="+strings.Join(groups, ","))
	}
	if nfds > 0 {
		f = append(f, "--listen-pid")
	}
	if svc.UMask != "" {
		f = append(f, "--umask="+svc.UMask)
	}
	if svc.LimitNOFILE != "" {
		f = append(f, "--nofile="+svc.LimitNOFILE)
	}
	if privileged {
		return f
	}
	if v, ok := u.Directive("Service.AmbientCapabilities"); ok && v != "" {
		f = append(f, "--ambient="+v)
	}
	if v, ok := u.Directive("Service.CapabilityBoundingSet"); ok {
		f = append(f, "--bounding="+v)
	}
	if svc.NoNewPrivileges {
		f = append(f, "--no-new-privs")
	}
	return f
}
