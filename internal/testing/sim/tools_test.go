package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

var install = sim.Event{Hook: "install"}

func TestToolExitCodes(t *testing.T) {
	m := deploy(t, &charm{}, 2)
	rel, err := m.Relate(context.Background(), "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	if err != nil {
		t.Fatal(err)
	}
	key := "cert-provider:" + itoa(rel)
	leader, other := "docker-registry/0", "docker-registry/1"
	for _, tc := range []struct {
		unit   string
		ev     sim.Event
		argv   []string
		code   int
		stderr string
	}{
		{leader, install, []string{"config-get", "--bogus"}, 2, "ERROR option provided but not defined: --bogus"},
		{leader, install, []string{"relation-get", "-x"}, 2, "ERROR option provided but not defined: -x"},
		{leader, install, []string{"relation-get"}, 2, "ERROR no relation id specified"},
		{leader, install, []string{"relation-set", "a=b"}, 2, "ERROR no relation id specified"},
		{leader, install, []string{"relation-list"}, 2, "ERROR no relation id specified"},
		{leader, install, []string{"relation-get", "-r", "nope", "-", "easyrsa/0"}, 2,
			`ERROR invalid value "nope" for option -r: invalid relation id`},
		{leader, install, []string{"relation-get", "-r", "99", "-", "easyrsa/0"}, 2,
			`ERROR invalid value "99" for option -r: relation not found`},
		{leader, install, []string{"relation-get", "-r", key}, 2, "ERROR no unit or application specified"},
		{leader, install, []string{"relation-get", "-r", key, "-", "easyrsa"}, 1, `ERROR invalid unit name "easyrsa"`},
		{leader, install, []string{"relation-set", "-r", key, "a=1", "a=2"}, 2, `ERROR key "a" specified more than once`},
		{leader, install, []string{"relation-set", "-r", key, "novalue"}, 2, `ERROR expected "key=value", got "novalue"`},
		{other, install, []string{"relation-set", "-r", key, "--app", "a=1"}, 1, "ERROR cannot write relation settings"},
		{other, install, []string{"relation-get", "-r", key, "--app", "-", "docker-registry"}, 1, "ERROR permission denied"},
		{other, install, []string{"leader-set", "a=1"}, 1, "ERROR cannot write leadership settings: not the leader"},
		{leader, install, []string{"leader-set"}, 2, "ERROR no settings specified"},
		{other, install, []string{"status-set", "--application", "active"}, 1, "ERROR this unit is not the leader"},
		{leader, install, []string{"status-set", "error"}, 2,
			`ERROR invalid status "error", expected one of [maintenance blocked waiting active]`},
		{leader, install, []string{"action-get"}, 1, "ERROR not running an action"},
		{leader, install, []string{"action-set", "a=b"}, 1, "ERROR not running an action"},
		{leader, install, []string{"action-fail"}, 1, "ERROR not running an action"},
		{leader, install, []string{"action-log", "hi"}, 1, "ERROR not running an action"},
		{leader, install, []string{"juju-log"}, 2, "ERROR no message specified"},
		{leader, install, []string{"open-port"}, 2, "ERROR no port or range specified"},
		{leader, install, []string{"open-port", "70000"}, 2, `ERROR port must be in the range [1, 65535]; got "70000"`},
		{leader, install, []string{"open-port", "http"}, 2,
			`ERROR expected <port>[/<protocol>] or <from>-<to>[/<protocol>] or icmp; got "http"`},
		{leader, install, []string{"open-port", "80/sctp"}, 2, `ERROR protocol must be "tcp", "udp", or "icmp"; got "sctp"`},
		{leader, install, []string{"close-port", "90-80"}, 2, `ERROR invalid port range 90-80/tcp; expected fromPort <= toPort`},
		{leader, install, []string{"network-get"}, 2, "ERROR no arguments specified"},
		{leader, install, []string{"network-get", "nope"}, 1, `ERROR no network config found for binding "nope"`},
		{leader, install, []string{"config-get", "--format", "xml"}, 2,
			`ERROR invalid value "xml" for option --format: unknown format "xml"`},
		{leader, install, []string{"config-get", "--all", "registry-port"}, 2,
			`ERROR cannot use argument --all together with key "registry-port"`},
		{leader, install, []string{"storage-get"}, 2, "ERROR no storage instance specified"},
		{leader, install, []string{"no-such-tool"}, 1, `ERROR bad request: unknown command: no-such-tool`},
		{leader, install, []string{"relation-get", "-r", key, "-", "easyrsa/0"}, 0, ""},
		{leader, install, []string{"relation-set", "-r", key, "--app", "a=1"}, 0, ""},
	} {
		_, stderr, code := execIn(t, m, tc.unit, tc.ev, "", tc.argv...)
		if code != tc.code || stderr != tc.stderr {
			t.Errorf("%s %v: exit %d %q, want %d %q", tc.unit, tc.argv, code, stderr, tc.code, tc.stderr)
		}
	}
}

func TestToolFormats(t *testing.T) {
	m := deploy(t, &charm{}, 2)
	if err := m.SetConfig(context.Background(), map[string]any{"registry-name": "reg"}); err != nil {
		t.Fatal(err)
	}
	rel, err := m.Relate(context.Background(), "website", "haproxy")
	if err != nil {
		t.Fatal(err)
	}
	key := "website:" + itoa(rel)
	leader, other := "docker-registry/0", "docker-registry/1"
	for _, tc := range []struct {
		unit string
		argv []string
		want string
	}{
		{leader, []string{"config-get", "--format=json"},
			`{"prometheus-metrics":false,"registry-name":"reg","registry-port":5000}` + "\n"},
		{leader, []string{"config-get", "--all", "--format", "json"},
			`{"auth-basic-user":null,"db-password":null,"prometheus-metrics":false,"registry-name":"reg","registry-port":5000}` + "\n"},
		{leader, []string{"config-get", "registry-port"}, "5000\n"},
		{leader, []string{"config-get", "registry-name"}, "reg\n"},
		{leader, []string{"config-get", "nope", "--format=json"}, "null\n"},
		{leader, []string{"config-get", "nope"}, ""},
		{leader, []string{"config-get", "-a", "--format=yaml"}, "auth-basic-user: null\ndb-password: null\nprometheus-metrics: false\nregistry-name: reg\nregistry-port: 5000\n"},
		{leader, []string{"is-leader"}, "True\n"},
		{other, []string{"is-leader"}, "False\n"},
		{leader, []string{"is-leader", "--format=json"}, "true\n"},
		{leader, []string{"relation-ids", "website", "--format=json"}, `["` + key + `"]` + "\n"},
		{leader, []string{"relation-ids", "peer"}, "peer:0\n"},
		{leader, []string{"relation-ids", "cert-provider", "--format=json"}, "[]\n"},
		{leader, []string{"relation-ids", "cert-provider"}, ""},
		{leader, []string{"relation-list", "-r", key, "--format=json"}, "[]\n"},
		{leader, []string{"relation-list", "-r", "peer:0", "--format=json"}, `["docker-registry/1"]` + "\n"},
		{leader, []string{"relation-list", "-r", key, "--app"}, "haproxy\n"},
		{leader, []string{"relation-get", "--format=json", "-r", key, "-", leader},
			`{"egress-subnets":"127.0.10.1/32","ingress-address":"127.0.10.1","private-address":"127.0.10.1"}` + "\n"},
		{leader, []string{"relation-get", "-r", key, "private-address", leader}, "127.0.10.1\n"},
		{leader, []string{"relation-get", "-r", key, "--format=json", "missing", leader}, "null\n"},
		{leader, []string{"relation-get", "-r", key, "--app", "--format=json", "-", "haproxy"}, "{}\n"},
		{leader, []string{"unit-get", "private-address", "--format=json"}, `"127.0.10.1"` + "\n"},
		{leader, []string{"network-get", "website", "--ingress-address", "--format=json"}, `"127.0.10.1"` + "\n"},
		{leader, []string{"network-get", "website", "--bind-address"}, "127.0.10.1\n"},
		{leader, []string{"network-get", "website", "--format=json"},
			`{"bind-addresses":[{"addresses":[{"cidr":"127.0.10.0/24","hostname":"","value":"127.0.10.1"}],` +
				`"interface-name":"eth0","mac-address":"00:16:3e:00:00:01"}],` +
				`"egress-subnets":["127.0.10.1/32"],"ingress-addresses":["127.0.10.1"]}` + "\n"},
		{leader, []string{"storage-list", "--format=json"}, `["registry-data/0"]` + "\n"},
		{leader, []string{"storage-get", "-s", "registry-data/0", "--format=json"},
			`{"kind":"filesystem","location":"/srv/registry"}` + "\n"},
		{leader, []string{"storage-get", "-s", "registry-data/0", "location"}, "/srv/registry\n"},
		{leader, []string{"status-get"}, "unknown\n"},
		{leader, []string{"status-get", "--format=json"}, `{"status":"unknown"}` + "\n"},
		{leader, []string{"status-get", "--include-data", "--format=json"},
			`{"message":"","status":"unknown","status-data":{}}` + "\n"},
		{leader, []string{"leader-get", "--format=json"}, "{}\n"},
		{leader, []string{"opened-ports", "--format=json"}, "[]\n"},
		{leader, []string{"state-get", "--format=json"}, "{}\n"},
	} {
		out, stderr, code := execIn(t, m, tc.unit, install, "", tc.argv...)
		if code != 0 || out != tc.want {
			t.Errorf("%s %v: exit %d %q\n got %q\nwant %q", tc.unit, tc.argv, code, stderr, out, tc.want)
		}
	}
}

func TestRelationSetFileFromStdin(t *testing.T) {
	c := &charm{}
	m := deploy(t, c, 1)
	rel, err := m.Relate(context.Background(), "cert-provider", "easyrsa", sim.RemoteUnit{Name: "easyrsa/0"})
	if err != nil {
		t.Fatal(err)
	}
	key := "cert-provider:" + itoa(rel)
	u := "docker-registry/0"
	run := func(stdin string, argv ...string) {
		t.Helper()
		hc, err := m.NewHookContext(u, sim.Event{Hook: "update-status"})
		if err != nil {
			t.Fatal(err)
		}
		if _, stderr, code := m.Exec(hc, argv, []byte(stdin)); code != 0 {
			t.Fatalf("%v: %s", argv, stderr)
		}
		hc.Commit()
	}
	run(`{"common_name":"10.0.0.5","sans":"[\"10.0.0.5\"]","unit_name":"docker-registry_0"}`,
		"relation-set", "-r", key, "--file", "-")
	// YAML too; an empty value deletes; arguments win over the file.
	run("sans: ''\ncertificate_name: abc\nnum: 5\n", "relation-set", "--file=-", "-r", key, "certificate_name=xyz")
	got := m.RelationData(rel, u)
	want := map[string]string{"common_name": "10.0.0.5", "unit_name": "docker-registry_0",
		"certificate_name": "xyz", "num": "5", "private-address": "127.0.10.1",
		"ingress-address": "127.0.10.1", "egress-subnets": "127.0.10.1/32"}
	if len(got) != len(want) {
		t.Fatalf("bag = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("bag[%s] = %q, want %q (bag %v)", k, got[k], v, got)
		}
	}
	// The file form from a path, relative to nothing: absolute.
	f := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(f, []byte("unit_name: ''\n"), 0o600)
	run("", "relation-set", "-r", key, "--file", f)
	if _, ok := m.RelationData(rel, u)["unit_name"]; ok {
		t.Fatal("unit_name not deleted by an empty value in --file")
	}
	calls := m.ToolCalls(0)
	last := calls[len(calls)-1]
	if last.Tool != "relation-set" || strings.Contains(strings.Join(last.Args, " "), "xyz") {
		t.Fatalf("recorded call %v", last)
	}
}

func TestDiscardedContextRefusesTools(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	hc, err := m.NewHookContext("docker-registry/0", install)
	if err != nil {
		t.Fatal(err)
	}
	hc.Commit()
	_, stderr, code := m.Exec(hc, []string{"is-leader"}, nil)
	if code != 1 || !strings.Contains(string(stderr), "unknown context id") {
		t.Fatalf("exit %d %q", code, stderr)
	}
	_, stderr, code = m.ExecContext("nope", "", []string{"is-leader"}, nil)
	if code != 1 || string(stderr) != "ERROR bad request: unknown context id \"nope\"\n" {
		t.Fatalf("exit %d %q", code, stderr)
	}
}
