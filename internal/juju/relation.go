package juju

import (
	"context"
	"encoding/json"
	"fmt"
)

// RelationIDs lists the ids ("cert-provider:5") of the live relations on
// endpoint: relation-ids --format=json ENDPOINT.
func (c *Client) RelationIDs(ctx context.Context, endpoint string) ([]string, error) {
	var ids []string
	err := c.runJSON(ctx, &ids, "relation-ids", "--format=json", endpoint)
	return ids, err
}

// RelationList lists the remote units of a relation: relation-list -r ID
// --format=json. An empty relID means the current hook's relation.
func (c *Client) RelationList(ctx context.Context, relID string) ([]string, error) {
	var units []string
	args := append(relationArgs(relID), "--format=json")
	err := c.runJSON(ctx, &units, "relation-list", args...)
	return units, err
}

// RelationListApp returns the remote application of a relation, which is
// known even before any remote unit joins: relation-list -r ID --app.
func (c *Client) RelationListApp(ctx context.Context, relID string) (string, error) {
	var app string
	args := append(relationArgs(relID), "--app", "--format=json")
	err := c.runJSON(ctx, &app, "relation-list", args...)
	return app, err
}

// RelationGet reads all keys of one bag: the unit bag of unitOrApp, or with
// app the application bag of unitOrApp's application. The unit or app is
// always explicit because actions and non-relation hooks have no default.
//
//	relation-get -r ID [--app] --format=json - UNIT_OR_APP
func (c *Client) RelationGet(ctx context.Context, relID, unitOrApp string, app bool) (map[string]string, error) {
	args := relationArgs(relID)
	if app {
		args = append(args, "--app")
	}
	args = append(args, "--format=json", "-", unitOrApp)
	var data map[string]string
	if err := c.runJSON(ctx, &data, "relation-get", args...); err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]string{} // the tool printed null: an empty bag
	}
	return data, nil
}

// RelationSet writes keys to this unit's bag, or with app to the
// application's bag (leader only); an empty value deletes the key. The data
// travels as a JSON map on stdin (relation-set -r ID [--app] --file -) so
// that values, which may be credentials or keys, never appear in a process
// argument list. Juju commits the change only when the hook exits 0.
// An empty map runs nothing.
func (c *Client) RelationSet(ctx context.Context, relID string, app bool, data map[string]string) error {
	if len(data) == 0 {
		return nil
	}
	stdin, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("cannot encode relation data: %w", err)
	}
	args := relationArgs(relID)
	if app {
		args = append(args, "--app")
	}
	args = append(args, "--file", "-")
	_, err = c.Runner.Run(ctx, stdin, "relation-set", args...)
	return err
}
