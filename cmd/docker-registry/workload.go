package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/canonical/docker-registry-charm/internal/registry"
)

// workloadCommands are the subcommands the registry service runs, as
// opposed to the hooks and actions Juju runs.
var workloadCommands = map[string]func(args []string) int{
	"serve": serve,
}

// serve runs the registry (the service's ExecStart). Signals are handled
// by registry.Serve: SIGHUP reloads, SIGTERM drains and exits.
func serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := fs.String("config", "/etc/docker/registry/config.yml", "registry configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := registry.Serve(context.Background(), registry.ServeOptions{ConfigPath: *cfg}); err != nil {
		fmt.Fprintf(os.Stderr, "docker-registry serve: %v\n", err)
		return 1
	}
	return 0
}
