package main

// workloadCommands are the subcommands the registry service runs, as
// opposed to the hooks and actions Juju runs.
var workloadCommands = map[string]func(args []string) int{}
