// Package registryconf is the distribution configuration the charm renders
// and checks in hooks, and the material that configuration points to. It
// is pure data plus the checks observe and plan run; the process that
// serves it is internal/registry, which this package does not import.
//
//   - Render builds a configuration.Configuration value from the charm
//     config and the unit's facts (RenderInput); Marshal turns it into the
//     config.yml bytes, deterministically, checked with distribution's own
//     parser. The charm compares those bytes with the file on disk and
//     writes (and reloads) only on change.
//   - ObjectStorage and CheckStorage ask the object storage the options
//     name (S3, Swift) before the registry is moved onto it.
//   - CheckServing, NormalizePEM, DecodeBlob and TokenRootCertBundle vet and
//     clean the TLS and token-auth PEM material before it reaches disk, so
//     the registry is never restarted onto a certificate it cannot serve.
//
// The htpasswd file itself is internal/htpasswd's.
package registryconf
