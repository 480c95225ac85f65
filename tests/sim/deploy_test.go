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
