package juju_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

// call is one recorded tool invocation.
type call struct {
	argv  []string
	stdin string
}

// recorder is a Runner that records each call and answers with canned
// stdout per tool, or with an error.
type recorder struct {
	calls []call
	out   map[string]string
	err   error
}

func (r *recorder) Run(_ context.Context, stdin []byte, tool string, args ...string) ([]byte, error) {
	r.calls = append(r.calls, call{argv: append([]string{tool}, args...), stdin: string(stdin)})
	if r.err != nil {
		return nil, r.err
	}
	return []byte(r.out[tool]), nil
}

func newClient(out map[string]string) (*juju.Client, *recorder) {
	r := &recorder{out: out}
	return &juju.Client{Runner: r}, r
}

// only returns the single recorded call, failing the test otherwise.
func (r *recorder) only(t *testing.T) call {
	t.Helper()
	if len(r.calls) != 1 {
		t.Fatalf("got %d tool calls, want 1: %v", len(r.calls), r.calls)
	}
	return r.calls[0]
}

func TestArgv(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		do   func(c *juju.Client) error
		argv string
	}{
		{"config-get", func(c *juju.Client) error { var m map[string]any; return c.ConfigGetAll(ctx, &m) },
			"config-get --all --format=json"},
		{"relation-ids", func(c *juju.Client) error { _, err := c.RelationIDs(ctx, "cert-provider"); return err },
			"relation-ids --format=json cert-provider"},
		{"relation-list", func(c *juju.Client) error { _, err := c.RelationList(ctx, "cert-provider:5"); return err },
			"relation-list -r cert-provider:5 --format=json"},
		{"relation-list current", func(c *juju.Client) error { _, err := c.RelationList(ctx, ""); return err },
			"relation-list --format=json"},
		{"relation-list --app", func(c *juju.Client) error { _, err := c.RelationListApp(ctx, "peer:1"); return err },
			"relation-list -r peer:1 --app --format=json"},
		{"relation-get unit", func(c *juju.Client) error {
			_, err := c.RelationGet(ctx, "cert-provider:5", "easyrsa/0", false)
			return err
		}, "relation-get -r cert-provider:5 --format=json - easyrsa/0"},
		{"relation-get app", func(c *juju.Client) error {
			_, err := c.RelationGet(ctx, "website:3", "haproxy", true)
			return err
		}, "relation-get -r website:3 --app --format=json - haproxy"},
		{"status-set", func(c *juju.Client) error {
			return c.StatusSet(ctx, juju.Status{Name: juju.StatusBlocked, Message: "-x registry service is stopped."})
		}, "status-set -- blocked -x registry service is stopped."},
		{"status-set no message", func(c *juju.Client) error {
			return c.StatusSet(ctx, juju.Status{Name: juju.StatusActive})
		}, "status-set -- active"},
		{"status-set --application", func(c *juju.Client) error {
			return c.ApplicationStatusSet(ctx, juju.Status{Name: juju.StatusWaiting, Message: "w"})
		}, "status-set --application -- waiting w"},
		{"status-get", func(c *juju.Client) error { _, err := c.StatusGet(ctx); return err },
			"status-get --include-data --format=json"},
		{"application-version-set", func(c *juju.Client) error { return c.ApplicationVersionSet(ctx, "3.1.2") },
			"application-version-set -- 3.1.2"},
		{"juju-log", func(c *juju.Client) error { return c.Log(ctx, juju.LevelWarning, "--not a flag") },
			"juju-log -l WARNING -- --not a flag"},
		{"open-port", func(c *juju.Client) error { return c.OpenPort(ctx, juju.Port{Number: 5000}) },
			"open-port 5000/tcp"},
		{"close-port", func(c *juju.Client) error { return c.ClosePort(ctx, juju.Port{Number: 5001, Protocol: "udp"}) },
			"close-port 5001/udp"},
		{"opened-ports", func(c *juju.Client) error { _, err := c.OpenedPorts(ctx); return err },
			"opened-ports --format=json"},
		{"network-get", func(c *juju.Client) error { _, err := c.NetworkGet(ctx, "website", ""); return err },
			"network-get --format=json website"},
		{"network-get -r", func(c *juju.Client) error { _, err := c.NetworkGet(ctx, "website", "website:3"); return err },
			"network-get -r website:3 --format=json website"},
		{"unit-get", func(c *juju.Client) error { _, err := c.UnitGet(ctx, "private-address"); return err },
			"unit-get --format=json private-address"},
		{"is-leader", func(c *juju.Client) error { _, err := c.IsLeader(ctx); return err },
			"is-leader --format=json"},
		{"leader-get", func(c *juju.Client) error { _, err := c.LeaderGet(ctx); return err },
			"leader-get --format=json -"},
		{"leader-set", func(c *juju.Client) error {
			return c.LeaderSet(ctx, map[string]string{"z": "1", "http-secret": "abc", "gone": ""})
		}, "leader-set gone= http-secret=abc z=1"},
		{"action-get", func(c *juju.Client) error { var m map[string]any; return c.ActionGet(ctx, &m) },
			"action-get --format=json"},
		{"action-set", func(c *juju.Client) error {
			return c.ActionSet(ctx, map[string]string{"outcome": "success", "image.digest": "sha256:1"})
		}, "action-set image.digest=sha256:1 outcome=success"},
		{"action-fail", func(c *juju.Client) error { return c.ActionFail(ctx, "not ready") },
			"action-fail -- not ready"},
		{"action-log", func(c *juju.Client) error { return c.ActionLog(ctx, "pulling") },
			"action-log -- pulling"},
		{"storage-get", func(c *juju.Client) error {
			_, err := c.StorageGet(ctx, "registry-data/0", "location")
			return err
		}, "storage-get -s registry-data/0 --format=json location"},
		{"storage-get current", func(c *juju.Client) error { _, err := c.StorageGet(ctx, "", "kind"); return err },
			"storage-get --format=json kind"},
		{"storage-list", func(c *juju.Client) error { _, err := c.StorageList(ctx, "registry-data"); return err },
			"storage-list --format=json registry-data"},
		{"goal-state", func(c *juju.Client) error { _, err := c.GoalState(ctx); return err },
			"goal-state --format=json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r := newClient(nil)
			if err := tt.do(c); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := r.only(t)
			if strings.Join(got.argv, " ") != tt.argv {
				t.Errorf("argv = %q, want %q", strings.Join(got.argv, " "), tt.argv)
			}
			if got.stdin != "" {
				t.Errorf("stdin = %q, want none", got.stdin)
			}
		})
	}
}

func TestRelationSetSendsDataOnStdin(t *testing.T) {
	c, r := newClient(nil)
	data := map[string]string{"basic_password": `"s3cret"`, "tls_ca": ""}
	if err := c.RelationSet(context.Background(), "docker-registry:7", true, data); err != nil {
		t.Fatal(err)
	}
	got := r.only(t)
	if want := "relation-set -r docker-registry:7 --app --file -"; strings.Join(got.argv, " ") != want {
		t.Errorf("argv = %q, want %q", strings.Join(got.argv, " "), want)
	}
	for _, a := range got.argv {
		if strings.Contains(a, "s3cret") {
			t.Errorf("the secret value appears in argv (argument %d of %d)", slices.Index(got.argv, a), len(got.argv))
		}
	}
	var sent map[string]string
	if err := json.Unmarshal([]byte(got.stdin), &sent); err != nil {
		t.Fatalf("stdin is not a JSON map: %v (%q)", err, got.stdin)
	}
	if !reflect.DeepEqual(sent, data) {
		t.Errorf("stdin = %v, want %v (empty values must be kept: they delete)", sent, data)
	}
}

func TestNothingToSetRunsNothing(t *testing.T) {
	ctx := context.Background()
	c, r := newClient(nil)
	if err := c.RelationSet(ctx, "peer:1", false, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.LeaderSet(ctx, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if err := c.ActionSet(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 0 {
		t.Errorf("ran %v, want nothing", r.calls)
	}
}

func TestActionSetRejectsBadKeys(t *testing.T) {
	for _, key := range []string{"Foo", "a..b", "-a", "a-", "a_b", "", "stdout", "x.stderr-encoding", "ok.Bad"} {
		c, r := newClient(nil)
		err := c.ActionSet(context.Background(), map[string]string{"fine": "1", key: "v"})
		if err == nil {
			t.Errorf("key %q accepted", key)
		}
		if len(r.calls) != 0 {
			t.Errorf("key %q: tool ran anyway", key)
		}
	}
	for _, key := range []string{"a", "0", "image-tag", "a.b-c.d9", "stdout1"} {
		if err := juju.ValidActionKey(key); err != nil {
			t.Errorf("key %q rejected: %v", key, err)
		}
	}
}

func TestDecoding(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(map[string]string{
		"config-get":    `{"auth-basic-password":null,"registry-name":"registry","registry-port":5000}` + "\n",
		"relation-ids":  `["cert-provider:5"]` + "\n",
		"relation-list": `["easyrsa/0","easyrsa/1"]` + "\n",
		"relation-get":  `{"ca":"-----BEGIN CERTIFICATE-----\nMII","ingress-address":"10.0.0.9","private-address":"10.0.0.9"}` + "\n",
		"status-get":    `{"message":"Ready","status":"active","status-data":{}}` + "\n",
		"opened-ports":  `["5000/tcp","1000-2000/udp","5001/tcp (website, monitoring)","icmp"]` + "\n",
		"network-get": `{"bind-addresses":[{"mac-address":"00:16:3e:12:34:56","interface-name":"eth0",` +
			`"addresses":[{"hostname":"","value":"10.0.0.5","cidr":"10.0.0.0/24"}]}],` +
			`"egress-subnets":["10.0.0.5/32"],"ingress-addresses":["10.0.0.6"]}` + "\n",
		"unit-get":     `"10.0.0.5"` + "\n",
		"is-leader":    "true\n",
		"leader-get":   `{"http-secret":"c2VjcmV0"}` + "\n",
		"action-get":   `{"image":"busybox:latest","pull":false}` + "\n",
		"storage-get":  `"/srv/registry"` + "\n",
		"storage-list": `["registry-data/0"]` + "\n",
		"goal-state": `{"units":{"docker-registry/0":{"status":"active","since":"2025-01-01T00:00:00Z"}},` +
			`"relations":{"cert-provider":{"easyrsa":{"status":"joined","since":"2025-01-01T00:00:01Z"}}}}` + "\n",
	})

	var cfg struct {
		Name     string  `json:"registry-name"`
		Port     int     `json:"registry-port"`
		Password *string `json:"auth-basic-password"`
	}
	check(t, c.ConfigGetAll(ctx, &cfg))
	if cfg.Name != "registry" || cfg.Port != 5000 || cfg.Password != nil {
		t.Errorf("config = %+v", cfg)
	}

	ids, err := c.RelationIDs(ctx, "cert-provider")
	check(t, err)
	same(t, "relation-ids", ids, []string{"cert-provider:5"})

	units, err := c.RelationList(ctx, "cert-provider:5")
	check(t, err)
	same(t, "relation-list", units, []string{"easyrsa/0", "easyrsa/1"})

	bag, err := c.RelationGet(ctx, "cert-provider:5", "easyrsa/0", false)
	check(t, err)
	same(t, "relation-get", bag, map[string]string{
		"ca": "-----BEGIN CERTIFICATE-----\nMII", "ingress-address": "10.0.0.9", "private-address": "10.0.0.9"})

	st, err := c.StatusGet(ctx)
	check(t, err)
	same(t, "status-get", st, juju.Status{Name: juju.StatusActive, Message: "Ready"})

	ports, err := c.OpenedPorts(ctx)
	check(t, err)
	same(t, "opened-ports", ports, []juju.Port{
		{Number: 5000, Protocol: "tcp"}, {Number: 1000, Protocol: "udp", To: 2000},
		{Number: 5001, Protocol: "tcp"}, {Protocol: "icmp"}})

	n, err := c.NetworkGet(ctx, "website", "")
	check(t, err)
	if n.BindAddress() != "10.0.0.5" || n.IngressAddress() != "10.0.0.6" ||
		n.BindAddresses[0].InterfaceName != "eth0" || n.BindAddresses[0].Addresses[0].CIDR != "10.0.0.0/24" {
		t.Errorf("network-get = %+v", n)
	}
	same(t, "egress-subnets", n.EgressSubnets, []string{"10.0.0.5/32"})

	addr, err := c.UnitGet(ctx, "private-address")
	check(t, err)
	same(t, "unit-get", addr, "10.0.0.5")

	leader, err := c.IsLeader(ctx)
	check(t, err)
	same(t, "is-leader", leader, true)

	ld, err := c.LeaderGet(ctx)
	check(t, err)
	same(t, "leader-get", ld, map[string]string{"http-secret": "c2VjcmV0"})

	var params struct {
		Image string `json:"image"`
		Pull  bool   `json:"pull"`
	}
	check(t, c.ActionGet(ctx, &params))
	if params.Image != "busybox:latest" || params.Pull {
		t.Errorf("action-get = %+v", params)
	}

	loc, err := c.StorageGet(ctx, "registry-data/0", "location")
	check(t, err)
	same(t, "storage-get", loc, "/srv/registry")

	sl, err := c.StorageList(ctx, "")
	check(t, err)
	same(t, "storage-list", sl, []string{"registry-data/0"})

	g, err := c.GoalState(ctx)
	check(t, err)
	same(t, "goal-state unit", g.Units["docker-registry/0"], juju.GoalStatus{Status: "active", Since: "2025-01-01T00:00:00Z"})
	same(t, "goal-state relation", g.Relations["cert-provider"]["easyrsa"].Status, "joined")
}

func TestDecodingEmptyAndLegacyOutputs(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(map[string]string{
		"relation-ids": "",       // smart-style empty output
		"relation-get": "null\n", // nothing at all
		"network-get":  `{"bind-addresses":[{"addresses":[{"address":"10.0.0.7","cidr":"10.0.0.0/24"}]}]}`,
		"is-leader":    "false\n",
	})
	ids, err := c.RelationIDs(ctx, "peer")
	check(t, err)
	if len(ids) != 0 {
		t.Errorf("relation-ids = %v, want none", ids)
	}
	bag, err := c.RelationGet(ctx, "peer:1", "docker-registry/1", false)
	check(t, err)
	if bag == nil || len(bag) != 0 {
		t.Errorf("relation-get = %#v, want an empty, non-nil map", bag)
	}
	n, err := c.NetworkGet(ctx, "peer", "")
	check(t, err)
	same(t, "legacy address", n.BindAddress(), "10.0.0.7")
	leader, err := c.IsLeader(ctx)
	check(t, err)
	same(t, "is-leader", leader, false)
}

func TestDecodeErrorNamesTool(t *testing.T) {
	c, _ := newClient(map[string]string{"is-leader": "True\n"})
	_, err := c.IsLeader(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot decode is-leader output") {
		t.Errorf("err = %v, want a decode error naming is-leader", err)
	}
}

func TestRunnerErrorsPassThrough(t *testing.T) {
	want := juju.NewToolError("relation-get", []string{"-r", "9", "-", "x/0"}, 2, "ERROR invalid relation id\n")
	r := &recorder{err: want}
	c := &juju.Client{Runner: r}
	_, err := c.RelationGet(context.Background(), "9", "x/0", false)
	var te *juju.ToolError
	if !errors.As(err, &te) || te.Code != 2 {
		t.Fatalf("err = %v, want the ToolError with code 2", err)
	}
	if got := err.Error(); got != "cannot run relation-get -r 9 - x/0: invalid relation id" {
		t.Errorf("Error() = %q", got)
	}
}

func TestPortRoundTrip(t *testing.T) {
	for _, s := range []string{"5000/tcp", "53/udp", "1000-2000/tcp", "icmp"} {
		p, err := juju.ParsePort(s)
		check(t, err)
		if p.String() != s {
			t.Errorf("ParsePort(%q).String() = %q", s, p.String())
		}
	}
	for _, s := range []string{"", "abc/tcp", "10-x/udp"} {
		if _, err := juju.ParsePort(s); err == nil {
			t.Errorf("ParsePort(%q) succeeded", s)
		}
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}
