package sim_test

import (
	"testing"
)

func TestDeployOneUnitRunsJujuOrder(t *testing.T) {
	m := deploy(t, &charm{}, 1)
	equal(t, "hooks", hookNames(m, "docker-registry/0"), []string{
		"registry-data-storage-attached", "install", "peer-relation-created",
		"leader-elected", "config-changed", "start",
	})
	if m.Leader() != "docker-registry/0" {
		t.Fatalf("leader = %q", m.Leader())
	}
}

func TestDeployTwoUnitsJoinsPeersAfterStart(t *testing.T) {
	m := deploy(t, &charm{}, 2)
	equal(t, "leader hooks", hookNames(m, "docker-registry/0"), []string{
		"registry-data-storage-attached", "install", "peer-relation-created",
		"leader-elected", "config-changed", "start",
		"peer-relation-joined (docker-registry/1)", "peer-relation-changed (docker-registry/1)",
	})
	equal(t, "non-leader hooks", hookNames(m, "docker-registry/1"), []string{
		"registry-data-storage-attached", "install", "peer-relation-created",
		"leader-settings-changed", "config-changed", "start",
		"peer-relation-joined (docker-registry/0)", "peer-relation-changed (docker-registry/0)",
	})
	equal(t, "storage", m.Unit("docker-registry/1").Storage(), []string{"registry-data/1"})
}

// The agent's own workload statuses: "installing charm software" during
// install and "unknown" after start, unless the charm set one itself.
func TestAgentSetsStatusUntilTheCharmDoes(t *testing.T) {
	var during string
	c := &charm{fn: func(h *hook) int {
		if h.event() == "install" {
			during, _ = h.tool("status-get", "--include-data", "--format=json")
		}
		return 0
	}}
	m := deploy(t, c, 1)
	if during != `{"message":"installing charm software","status":"maintenance","status-data":{}}`+"\n" {
		t.Errorf("status during install = %q", during)
	}
	if st := m.Unit("docker-registry/0").Status(); st.Name != "unknown" || st.Message != "" {
		t.Errorf("status after start = %+v", st)
	}

	c2 := &charm{fn: func(h *hook) int {
		if h.event() == "registry-data-storage-attached" {
			h.tool("status-set", "waiting", "preparing storage")
		}
		return 0
	}}
	m = deploy(t, c2, 1)
	if st := m.Unit("docker-registry/0").Status(); st.Name != "waiting" || st.Message != "preparing storage" {
		t.Errorf("status set by the charm = %+v", st)
	}
}
