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
	"serve":  serve,
	"reload": reload,
}

// serve runs the registry (the service's ExecStart). Signals are handled
// by registry.Serve: SIGHUP reloads, SIGTERM drains and exits.
func serve(args []string) int {
	collectAsUsual()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := fs.String("config", "/etc/docker/registry/config.yml", "registry configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := registry.ServeOptions{ConfigPath: *cfg, Ready: func(s *registry.Server) {
		if err := registry.ListenControl(ctx, *cfg, s); err != nil {
			// SIGHUP still reloads; only the synchronous answer is lost.
			fmt.Fprintf(os.Stderr, "docker-registry serve: %v\n", err)
		}
	}}
	if err := registry.Serve(ctx, opts); err != nil {
		fmt.Fprintf(os.Stderr, "docker-registry serve: %v\n", err)
		return 1
	}
	return 0
}

// reload asks the running registry to reload its configuration and waits
// until it serves it (the service's ExecReload, so `systemctl reload`
// returns only then, or fails with the reason).
func reload(args []string) int {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	cfg := fs.String("config", "/etc/docker/registry/config.yml", "registry configuration file")
	drain := fs.Bool("drain", false, "also wait for requests on the previous configuration to finish")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := registry.RequestReload(context.Background(), *cfg, *drain); err != nil {
		fmt.Fprintf(os.Stderr, "docker-registry reload: %v\n", err)
		return 1
	}
	return 0
}
