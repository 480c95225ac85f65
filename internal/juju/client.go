package juju

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Client runs hook tools for one hook or action. Each method runs one tool
// and is named after its verb; none of them retries or caches.
type Client struct {
	Runner Runner
	Env    Env
}

// NewClient returns a Client that execs the real hook tools.
func NewClient(env Env) *Client {
	return &Client{Runner: ExecRunner{}, Env: env}
}

// run runs a tool with no stdin.
func (c *Client) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	return c.Runner.Run(ctx, nil, tool, args...)
}

// runJSON runs a tool that was asked for --format=json and decodes its
// output into v. Empty output (some tools print nothing for an empty
// result) leaves v untouched.
func (c *Client) runJSON(ctx context.Context, v any, tool string, args ...string) error {
	out, err := c.run(ctx, tool, args...)
	if err != nil {
		return err
	}
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("cannot decode %s output: %w", tool, err)
	}
	return nil
}

// relationArgs returns "-r ID" when an id is given; inside a relation hook
// the tools default to the hook's own relation.
func relationArgs(relID string) []string {
	if relID == "" {
		return nil
	}
	return []string{"-r", relID}
}

// keyValueArgs renders a map as sorted key=value arguments, so the same
// data always produces the same command line.
func keyValueArgs(data map[string]string) []string {
	args := make([]string, 0, len(data))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		args = append(args, k+"="+data[k])
	}
	return args
}
