package juju

import "context"

// LogLevel is a juju-log level (loggo's names).
type LogLevel string

const (
	LevelTrace    LogLevel = "TRACE"
	LevelDebug    LogLevel = "DEBUG"
	LevelInfo     LogLevel = "INFO"
	LevelWarning  LogLevel = "WARNING"
	LevelError    LogLevel = "ERROR"
	LevelCritical LogLevel = "CRITICAL"
)

// Log writes msg to the unit's debug log: juju-log -l LEVEL -- MSG.
// Never pass it a secret: the debug log is readable by model users.
func (c *Client) Log(ctx context.Context, level LogLevel, msg string) error {
	_, err := c.run(ctx, "juju-log", "-l", string(level), "--", msg)
	return err
}
