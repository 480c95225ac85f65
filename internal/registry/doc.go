// Package registry is the registry workload: "docker-registry serve".
// It embeds distribution's handlers.NewApp behind our own listener
// (socket-activated or bound), reloads the configuration in place on
// SIGHUP or a request on its control socket, and reports its health
// checks there. The storage drivers and access controllers it supports
// are exactly those imported in drivers.go.
//
// The control socket's client (RequestReload, RequestFailingChecks) lives
// here too, beside the server end: the hooks call it, and both ends of
// one line-based protocol and its peer checks change together.
//
// What hooks render for it is internal/registryconf's.
package registry
