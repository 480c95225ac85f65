package juju

import "context"

// StatusName is a workload status a charm may set. Juju sets error and
// unknown itself; they cannot be set.
type StatusName string

const (
	StatusMaintenance StatusName = "maintenance"
	StatusBlocked     StatusName = "blocked"
	StatusWaiting     StatusName = "waiting"
	StatusActive      StatusName = "active"
)

// Status is a workload status and its message.
type Status struct {
	Name    StatusName
	Message string
}

// StatusSet sets the unit's status; it takes effect at once, even if the
// hook later fails: status-set -- NAME [MESSAGE]. The "--" lets a message
// start with "-".
func (c *Client) StatusSet(ctx context.Context, s Status) error {
	_, err := c.run(ctx, "status-set", statusArgs(s)...)
	return err
}

// ApplicationStatusSet sets the application's status (leader only):
// status-set --application -- NAME [MESSAGE].
func (c *Client) ApplicationStatusSet(ctx context.Context, s Status) error {
	args := append([]string{"--application"}, statusArgs(s)...)
	_, err := c.run(ctx, "status-set", args...)
	return err
}

func statusArgs(s Status) []string {
	args := []string{"--", string(s.Name)}
	if s.Message != "" {
		args = append(args, s.Message)
	}
	return args
}

// StatusGet returns the unit's current status:
// status-get --include-data --format=json.
func (c *Client) StatusGet(ctx context.Context) (Status, error) {
	var out struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	if err := c.runJSON(ctx, &out, "status-get", "--include-data", "--format=json"); err != nil {
		return Status{}, err
	}
	return Status{Name: StatusName(out.Status), Message: out.Message}, nil
}

// ApplicationVersionSet sets the version shown by juju status:
// application-version-set -- VERSION.
func (c *Client) ApplicationVersionSet(ctx context.Context, version string) error {
	_, err := c.run(ctx, "application-version-set", "--", version)
	return err
}
