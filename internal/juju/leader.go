package juju

import "context"

// IsLeader reports whether this unit is the leader; a true answer holds
// for about 30 seconds: is-leader --format=json.
func (c *Client) IsLeader(ctx context.Context) (bool, error) {
	var leader bool
	err := c.runJSON(ctx, &leader, "is-leader", "--format=json")
	return leader, err
}

// LeaderGet returns all leader settings: leader-get --format=json -.
func (c *Client) LeaderGet(ctx context.Context) (map[string]string, error) {
	var data map[string]string
	if err := c.runJSON(ctx, &data, "leader-get", "--format=json", "-"); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]string{} // the tool printed null: an empty bag
	}
	return data, nil
}

// LeaderSet writes leader settings at once (leader only); an empty value
// deletes the key: leader-set KEY=VALUE... An empty map runs nothing, since
// leader-set refuses to run without arguments.
//
// leader-set has no --file option, so values pass as process arguments and
// are visible in /proc/<pid>/cmdline to other processes of the same user for
// the tool's short life. On a machine charm that user is root, which can
// read the leader data anyway; ToolError never echoes the values.
func (c *Client) LeaderSet(ctx context.Context, data map[string]string) error {
	if len(data) == 0 {
		return nil
	}
	_, err := c.run(ctx, "leader-set", keyValueArgs(data)...)
	return err
}
