package juju

import "context"

// StorageGet returns one attribute (location, kind) of a storage instance:
// storage-get [-s ID] --format=json KEY. An empty id means the current
// storage hook's instance.
func (c *Client) StorageGet(ctx context.Context, id, key string) (string, error) {
	var args []string
	if id != "" {
		args = append(args, "-s", id)
	}
	args = append(args, "--format=json", key)
	var v string
	err := c.runJSON(ctx, &v, "storage-get", args...)
	return v, err
}

// StorageList lists the ids ("registry-data/0") of attached storage,
// limited to the storage name when given: storage-list --format=json [NAME].
func (c *Client) StorageList(ctx context.Context, name string) ([]string, error) {
	args := []string{"--format=json"}
	if name != "" {
		args = append(args, name)
	}
	var ids []string
	err := c.runJSON(ctx, &ids, "storage-list", args...)
	return ids, err
}
