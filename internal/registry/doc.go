// Package registry holds everything about the registry workload itself:
// the desired distribution configuration, the files it reads, and the
// process that serves it.
//
// The charm side is pure data, computed in hooks:
//
//   - Render builds a configuration.Configuration value from the charm
//     config and the unit's facts (RenderInput); Marshal turns it into the
//     config.yml bytes, deterministically, checked with distribution's own
//     parser. The charm compares those bytes with the file on disk and
//     writes (and reloads) only on change.
//   - HtpasswdEntry and HtpasswdUpToDate write and keep the basic-auth file
//     without re-hashing it on every hook.
//   - CheckServing, NormalizePEM, DecodeBlob and TokenRootCertBundle vet and
//     clean the TLS and token-auth PEM material before it reaches disk, so
//     the registry is never restarted onto a certificate it cannot serve.
//
// The workload side ("docker-registry serve") embeds distribution's
// handlers.NewApp behind our own listener and reloads the configuration
// in place; the storage drivers and access controllers it supports are
// exactly those imported in drivers.go.
package registry
