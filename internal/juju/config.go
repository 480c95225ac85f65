package juju

import "context"

// ConfigGetAll decodes every option, including those without a default
// (as JSON null), into v: config-get --all --format=json.
func (c *Client) ConfigGetAll(ctx context.Context, v any) error {
	return c.runJSON(ctx, v, "config-get", "--all", "--format=json")
}
