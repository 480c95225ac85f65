// Command docker-registry is the docker-registry charm. Juju runs it as
// `dispatch` for every hook and action; the same binary runs the registry
// itself (`docker-registry serve`), so a unit downloads nothing.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/canonical/docker-registry-charm/internal/charm"
	"github.com/canonical/docker-registry-charm/internal/juju"
)

func main() {
	os.Exit(run(os.Args))
}

func run(args []string) int {
	collectOnlyNearLimit()
	if len(args) > 1 {
		if cmd, ok := workloadCommands[args[1]]; ok {
			return cmd(args[2:])
		}
	}
	env := juju.LoadEnv(os.Getenv, args[0])
	ev := env.Event()
	if ev.Kind == juju.KindNone {
		fmt.Fprintf(os.Stderr, "usage: %s serve --config FILE | reload\n"+
			"(as the charm's dispatch, Juju runs it with JUJU_DISPATCH_PATH set)\n", filepath.Base(args[0]))
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	c := newCharm(env)
	if err := c.Dispatch(ctx, ev); err != nil {
		// Only bugs and broken machines get here: Juju shows the hook as
		// failed and retries it on `juju resolve`.
		fmt.Fprintf(os.Stderr, "%s: %v\n", ev.Name, err)
		_ = c.Juju.Log(ctx, juju.LevelError, fmt.Sprintf("%s failed: %v", ev.Name, err))
		return 1
	}
	return 0
}

func newCharm(env juju.Env) *charm.Charm {
	self, _ := os.Executable()
	return charm.New(env, self, distributionVersion())
}

// distributionVersion is the version of the embedded registry, read from
// the build information so it can never disagree with go.mod.
func distributionVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/distribution/distribution/v3" {
			return dep.Version
		}
	}
	return ""
}
