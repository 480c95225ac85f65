package machine_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

func TestParseUnit(t *testing.T) {
	u, err := machine.ParseUnit("registry.service", []byte(`# rendered by the charm
[Unit]
Description=Docker registry
After=network-online.target registry.socket
Requires=registry.socket

[Service]
Type=notify
User=registry
Group=registry
Environment="REGISTRY_HTTP_SECRET=a b" PLAIN=1
Environment=OTHER='x y'
EnvironmentFile=-/etc/default/registry
ExecStart=/usr/local/bin/registry serve \
    /etc/docker/registry/config.yml
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=5
TimeoutStopSec=1min 30s
KillSignal=SIGINT
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/srv/registry
ReadWritePaths=/var/log/registry

[Install]
WantedBy=multi-user.target
`))
	if err != nil {
		t.Fatal(err)
	}
	s := u.Service
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("Kind", u.Kind, "service")
	check("Description", u.Description, "Docker registry")
	check("After", u.After, []string{"network-online.target", "registry.socket"})
	check("Requires", u.Requires, []string{"registry.socket"})
	check("Environment", s.Environment, []string{"REGISTRY_HTTP_SECRET=a b", "PLAIN=1", "OTHER=x y"})
	check("EnvironmentFiles", s.EnvironmentFiles, []string{"-/etc/default/registry"})
	check("ExecStart", s.ExecStart[0].Argv, []string{"/usr/local/bin/registry", "serve", "/etc/docker/registry/config.yml"})
	check("ExecReload", s.ExecReload[0].Argv, []string{"/bin/kill", "-HUP", "$MAINPID"})
	check("Restart", s.Restart, "on-failure")
	check("RestartSec", s.RestartSec, 5*time.Second)
	check("TimeoutStopSec", s.TimeoutStopSec, 90*time.Second)
	check("KillSignal", s.KillSignal, "SIGINT")
	check("NoNewPrivileges", s.NoNewPrivileges, true)
	check("WantedBy", u.Install.WantedBy, []string{"multi-user.target"})
	rw, _ := u.Directive("Service.ReadWritePaths")
	check("ReadWritePaths", rw, "/srv/registry /var/log/registry")
	ps, ok := u.Directive("Service.ProtectSystem")
	check("ProtectSystem", ps, "strict")
	check("ProtectSystem set", ok, true)
}

func TestParseSocketUnit(t *testing.T) {
	u, err := machine.ParseUnit("registry.socket", []byte("[Socket]\nListenStream=0.0.0.0:5000\nListenStream=[::1]:5001\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u.ServiceName() != "registry.service" || len(u.Socket.ListenStream) != 2 {
		t.Errorf("socket: %+v", u.Socket)
	}
	u, err = machine.ParseUnit("a.socket", []byte("[Socket]\nListenStream=5000\nService=b.service\n"))
	if err != nil || u.ServiceName() != "b.service" {
		t.Errorf("Service=: %v %v", u, err)
	}
}

func TestParseUnitErrors(t *testing.T) {
	for name, data := range map[string]string{
		"a.service": "[Service]\nExecStart=/bin/true\nRestart=sometimes\n",
		"b.service": "[Service]\nType=forking\nExecStart=/bin/true\n",
		"c.service": "[Service]\nUser=x\n",
		"d.service": "[Service]\nExecStart=/bin/echo 'unbalanced\n",
		"e.service": "ExecStart=/bin/true\n",
		"f.socket":  "[Socket]\nListenStream=5000\nAccept=yes\n",
		"g.service": "[Service]\nExecStart=/bin/true\nKillSignal=SIGNOPE\n",
		"h.timer":   "[Timer]\nOnCalendar=daily\n",
	} {
		if _, err := machine.ParseUnit(name, []byte(data)); err == nil || !strings.HasPrefix(err.Error(), "cannot parse unit") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSplitQuoted(t *testing.T) {
	for in, want := range map[string][]string{
		`a "b c" 'd e' f\ g`:  {"a", "b c", "d e", "f g"},
		`"A=1 2" B=3`:         {"A=1 2", "B=3"},
		`  x  `:               {"x"},
		`sh -c "echo \"hi\""`: {"sh", "-c", `echo "hi"`},
	} {
		got, err := machine.SplitQuoted(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitQuoted(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
