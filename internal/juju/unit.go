package juju

import "context"

// UnitGet returns private-address or public-address:
// unit-get --format=json KEY.
func (c *Client) UnitGet(ctx context.Context, key string) (string, error) {
	var v string
	err := c.runJSON(ctx, &v, "unit-get", "--format=json", key)
	return v, err
}
