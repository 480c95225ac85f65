package sim_test

import (
	"context"
	"fmt"

	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/testing/sim"
)

// A charm written as a function runs in-process; the test reads the model
// afterwards.
func Example() {
	registry := func(ctx context.Context, env map[string]string, r juju.Runner) int {
		if env["JUJU_DISPATCH_PATH"] == "hooks/start" {
			port, _ := r.Run(ctx, nil, "config-get", "registry-port")
			r.Run(ctx, nil, "open-port", string(port[:len(port)-1])+"/tcp")
			r.Run(ctx, nil, "status-set", "active", "Ready")
		}
		return 0
	}
	m := sim.MustNewModel(sim.Options{CharmDir: "testdata/charm", Executor: sim.FuncExecutor(registry)})
	if err := m.Deploy(context.Background(), 1); err != nil {
		fmt.Println(err)
		return
	}
	u := m.Unit("docker-registry/0")
	fmt.Println(u.Status().Name, u.Status().Message, u.OpenedPorts())
	fmt.Println(sim.HookNames(m.Hooks(0), u.Name()))
	for _, c := range m.ToolCalls(0) {
		fmt.Println(c)
	}
	// Output:
	// active Ready [5000/tcp]
	// [registry-data-storage-attached install peer-relation-created leader-elected config-changed start]
	// config-get registry-port → 0
	// open-port 5000/tcp → 0
	// status-set active Ready → 0
}
