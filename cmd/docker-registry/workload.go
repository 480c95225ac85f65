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
	ctl := fs.String("control", registry.DefaultControlSocket, "control socket (reload, health)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Bound first: a registry that cannot be reloaded or asked about its
	// health must not pretend to serve; systemd restarts it and its
	// journal says why.
	control, err := registry.ListenControl(*ctl)
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker-registry serve: %v\n", err)
		return 1
	}
	opts := registry.ServeOptions{ConfigPath: *cfg, Ready: func(s *registry.Server) {
		control.Serve(ctx, s)
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
	// --config is accepted, unused: units written by earlier versions
	// pass it, and the control socket now says which registry to ask.
	fs.String("config", "/etc/docker/registry/config.yml", "registry configuration file (unused)")
	ctl := fs.String("control", registry.DefaultControlSocket, "control socket of the running registry")
	drain := fs.Bool("drain", false, "also wait for requests on the previous configuration to finish")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := registry.RequestReload(context.Background(), *ctl, *drain); err != nil {
		fmt.Fprintf(os.Stderr, "docker-registry reload: %v\n", err)
		return 1
	}
	return 0
}
