package machine

import (
	"context"
	"fmt"
	"path"
	"strings"
)

// CharmDir is where the unit agent of unit ("docker-registry/0") keeps
// the charm: /var/lib/juju/agents/unit-docker-registry-0/charm.
func CharmDir(unit string) string {
	return path.Join(AgentDir(unit), "charm")
}

// AgentDir is the unit agent's directory.
func AgentDir(unit string) string {
	return "/var/lib/juju/agents/unit-" + strings.ReplaceAll(unit, "/", "-")
}

// DeployCharm unpacks the packed charm at charmPath (a host path outside
// the overlaid directories, e.g. under /tmp) into the unit's charm dir,
// with juju/charm's ReadCharmArchive and ExpandTo as the unit agent does.
func (m *Machine) DeployCharm(unit, charmPath string) (string, error) {
	dir := CharmDir(unit)
	if err := m.client.call(context.Background(), "/deploy", deployRequest{Charm: charmPath, Dir: dir}, nil); err != nil {
		return "", fmt.Errorf("cannot deploy charm for %s: %w", unit, err)
	}
	return dir, nil
}

// UpgradeCharm replaces the unit's charm: the files of the old archive
// go, the new archive is expanded, files the charm made itself stay.
func (m *Machine) UpgradeCharm(unit, charmPath string) error {
	req := deployRequest{Charm: charmPath, Dir: CharmDir(unit), Upgrade: true}
	if err := m.client.call(context.Background(), "/deploy", req, nil); err != nil {
		return fmt.Errorf("cannot upgrade charm for %s: %w", unit, err)
	}
	return nil
}

// Dispatch runs one hook or action of unit the way the unit agent does:
// <charm dir>/dispatch, no arguments, working dir the charm dir, and
// exactly env. PATH is env's PATH (the hook tools dir) followed by the
// machine's bin dir (systemctl) and /usr/sbin:/usr/bin:/sbin:/bin.
//
// A dispatch that cannot be executed fails the hook as in Juju: exit
// code 126 (not executable) or 127 (missing), with the reason on stderr.
// err is only for failures to reach the machine.
func (m *Machine) Dispatch(ctx context.Context, unit string, env []string) (Result, error) {
	dir := CharmDir(unit)
	req := runRequest{Argv: []string{dir + "/dispatch"}, Env: m.hookEnv(env), Dir: dir}
	var resp runResponse
	err := m.client.call(ctx, "/run", req, &resp)
	return Result(resp), err
}

func (m *Machine) hookEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	tools := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			tools = strings.TrimPrefix(kv, "PATH=")
			continue
		}
		out = append(out, kv)
	}
	p := m.BinDir() + ":/usr/sbin:/usr/bin:/sbin:/bin"
	if tools != "" {
		p = tools + ":" + p
	}
	return append(out, "PATH="+p)
}
