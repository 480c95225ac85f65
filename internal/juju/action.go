package juju

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// ActionGet decodes the action's parameters, with the schema's defaults
// filled in by Juju, into v: action-get --format=json.
func (c *Client) ActionGet(ctx context.Context, v any) error {
	return c.runJSON(ctx, v, "action-get", "--format=json")
}

// actionKeySegment is action-set's rule for each dot-separated key segment.
var actionKeySegment = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)

// reservedActionKeys are set by Juju itself from the process output.
var reservedActionKeys = map[string]bool{
	"stdout": true, "stdout-encoding": true, "stderr": true, "stderr-encoding": true,
}

// ValidActionKey reports why key cannot be an action-set key, or nil.
// Dots nest ("image.digest"); the caller flattens nested maps that way.
func ValidActionKey(key string) error {
	for _, seg := range strings.Split(key, ".") {
		if !actionKeySegment.MatchString(seg) {
			return fmt.Errorf("invalid action result key %q: segments must be lowercase alphanumerics and hyphens, starting and ending with an alphanumeric", key)
		}
		if reservedActionKeys[seg] {
			return fmt.Errorf("invalid action result key %q: %q is reserved by Juju", key, seg)
		}
	}
	return nil
}

// ActionSet adds results to the running action: action-set KEY=VALUE...
// Keys are checked first so that a bad key fails here with a clear error
// rather than as a tool usage error. An empty map runs nothing.
//
// action-set has no --file option, so values pass as process arguments,
// visible in /proc/<pid>/cmdline to processes of the same user while the
// tool runs; results are shown to whoever runs the action anyway. ToolError
// never echoes the values.
func (c *Client) ActionSet(ctx context.Context, results map[string]string) error {
	if len(results) == 0 {
		return nil
	}
	for k := range results {
		if err := ValidActionKey(k); err != nil {
			return fmt.Errorf("cannot set action results: %w", err)
		}
	}
	_, err := c.run(ctx, "action-set", keyValueArgs(results)...)
	return err
}

// ActionFail marks the running action failed with msg; the process goes on
// and its exit code no longer decides the outcome: action-fail -- MSG.
func (c *Client) ActionFail(ctx context.Context, msg string) error {
	_, err := c.run(ctx, "action-fail", "--", msg)
	return err
}

// ActionLog reports progress to the user running the action:
// action-log -- MSG.
func (c *Client) ActionLog(ctx context.Context, msg string) error {
	_, err := c.run(ctx, "action-log", "--", msg)
	return err
}
