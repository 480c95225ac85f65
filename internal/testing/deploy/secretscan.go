package deploy

import (
	"strings"
	"sync"
	"testing"
)

// Every secret a test hands to the charm (passwords, storage keys) is
// remembered, and when the test ends its model is scanned for them:
// every hook tool's arguments (status-set, juju-log, action-set, and all
// the rest: what `ps` would show), the juju-log lines, the action results
// and logs, and the registry service's journal on every machine. A hit
// fails the test, naming where, never the value.
var secrets = struct {
	sync.Mutex
	byTest map[testing.TB][]string
}{byTest: map[testing.TB][]string{}}

// RememberSecret marks s as a value that must never show up in t's model;
// it returns s.
func RememberSecret(t testing.TB, s string) string {
	secrets.Lock()
	defer secrets.Unlock()
	secrets.byTest[t] = append(secrets.byTest[t], s)
	return s
}

func testSecrets(t testing.TB) []string {
	secrets.Lock()
	defer secrets.Unlock()
	return secrets.byTest[t]
}

// scanSecrets looks for this test's secrets everywhere they must not be.
func (e *Env) scanSecrets(t testing.TB) {
	want := testSecrets(t)
	secrets.Lock()
	delete(secrets.byTest, t)
	secrets.Unlock()
	if len(want) == 0 {
		return
	}
	places := 0
	check := func(where, text string) {
		places++
		for i, s := range want {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("secret scan: secret #%d (%d bytes) found in %s", i+1, len(s), where)
			}
		}
	}
	for _, c := range e.Model.ToolCalls(0) {
		check("the arguments of "+c.Tool+" in "+c.Event+" on "+c.Unit, strings.Join(c.Args, " "))
	}
	for _, u := range e.Model.Units() {
		for _, l := range e.Model.Unit(u).Logs() {
			check("juju-log in "+l.Hook+" on "+u, l.Message)
		}
		check("the status of "+u, e.Model.Unit(u).Status().Message)
	}
	for _, a := range e.Model.Actions() {
		check("the action "+a.Name+" on "+a.Unit, a.Message+" "+strings.Join(a.Logs, "\n")+" "+stringify(a.Results))
	}
	e.mu.Lock()
	for unit, m := range e.machines {
		check("the registry's journal on "+unit, m.ServiceLog(charmServiceUnit))
	}
	e.mu.Unlock()
	t.Logf("secret scan: %d secrets, %d places, no hit unless reported above", len(want), places)
}

// charmServiceUnit is the registry's systemd unit.
const charmServiceUnit = "docker-registry.service"

func stringify(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString("=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		} else if mm, ok := v.(map[string]any); ok {
			b.WriteString(stringify(mm))
		}
		b.WriteString("\n")
	}
	return b.String()
}
