package juju

import "context"

// GoalState is what the model will look like once pending changes settle:
// the application's units and, per endpoint, the related units and apps.
type GoalState struct {
	Units     map[string]GoalStatus            `json:"units"`
	Relations map[string]map[string]GoalStatus `json:"relations"`
}

// GoalStatus is the expected status of a unit (active, dying, …) or a
// relation (joining, joined, broken, …).
type GoalStatus struct {
	Status string `json:"status"`
	Since  string `json:"since"` // ISO 8601 UTC, as Juju prints it
}

// GoalState returns the goal state: goal-state --format=json.
func (c *Client) GoalState(ctx context.Context) (GoalState, error) {
	var g GoalState
	err := c.runJSON(ctx, &g, "goal-state", "--format=json")
	return g, err
}
