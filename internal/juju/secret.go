package juju

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// SecretGetOptions choose the secret and the revision secret-get reads.
//
// Juju pins a revision per unit: the first read of a secret tracks its
// latest revision, later reads return that same revision until the unit
// reads with Refresh (read the latest and track it from now on) or Peek
// (read the latest this once, keep tracking the old one). secret-changed
// tells a unit that a newer revision than the one it tracks exists.
type SecretGetOptions struct {
	ID      string // "secret:cn4m…"; may be empty when Label is set
	Label   string // the unit's own label for the secret
	Refresh bool
	Peek    bool
}

// Errors SecretGet wraps, by what Juju's agent answered.
var (
	// ErrSecretNotFound: no such secret (or key), or the label is unknown
	// to this unit. Juju's message: `secret "secret:…" not found`.
	ErrSecretNotFound = errors.New("secret not found")
	// ErrSecretPermission: the secret exists but was not granted to this
	// application. Juju's message: "permission denied".
	ErrSecretPermission = errors.New("secret permission denied")
)

// SecretGet returns the content of a secret as key → value:
// secret-get <ID> [--label L] [--refresh|--peek] --format=json.
//
// The content arrives on stdout only; it is never passed as an argument,
// and no error this returns quotes it (a JSON decoding error could echo
// a character of the value, so its text is dropped).
func (c *Client) SecretGet(ctx context.Context, opts SecretGetOptions) (map[string]string, error) {
	var args []string
	if opts.ID != "" {
		args = append(args, opts.ID)
	}
	if opts.Label != "" {
		args = append(args, "--label", opts.Label)
	}
	if opts.Refresh {
		args = append(args, "--refresh")
	}
	if opts.Peek {
		args = append(args, "--peek")
	}
	args = append(args, "--format=json")
	out, err := c.run(ctx, "secret-get", args...)
	if err != nil {
		return nil, classifySecretError(err)
	}
	var content map[string]string
	if err := json.Unmarshal(bytes.TrimSpace(out), &content); err != nil || content == nil {
		return nil, fmt.Errorf("cannot decode secret-get output for %s: not a JSON object of strings", opts.ID)
	}
	return content, nil
}

// classifySecretError wraps a failed secret-get with ErrSecretNotFound or
// ErrSecretPermission when Juju's message says which; ops tells the first
// the same way ("not found" in the tool's error output).
func classifySecretError(err error) error {
	var te *ToolError
	if !errors.As(err, &te) || te.Code != 1 {
		return err
	}
	msg := strings.ToLower(te.Stderr)
	switch {
	case strings.Contains(msg, "not found"):
		return fmt.Errorf("%w: %w", ErrSecretNotFound, err)
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "unauthorized"):
		return fmt.Errorf("%w: %w", ErrSecretPermission, err)
	}
	return err
}
