package sim

import (
	"encoding/json"
	"fmt"
	"strings"

	// Juju's cmd package formats with yaml.v2, whose layout differs from
	// v3 (list indentation), so output uses v2 to match byte for byte.
	yaml "gopkg.in/yaml.v2"
)

// formatValue renders v the way juju/cmd does for --format (§3.1).
func formatValue(format string, v any) ([]byte, error) {
	switch format {
	case "json":
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cannot format as json: %w", err)
		}
		return append(b, '\n'), nil
	case "yaml":
		if isNil(v) {
			return nil, nil
		}
		return yaml.Marshal(v)
	default:
		return formatSmart(v)
	}
}

// formatSmart: strings as-is, string lists one per line, booleans as
// True/False, nil as nothing, anything else as YAML.
func formatSmart(v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		if t == "" {
			return nil, nil
		}
		return []byte(t + "\n"), nil
	case []string:
		if len(t) == 0 {
			return nil, nil
		}
		return []byte(strings.Join(t, "\n") + "\n"), nil
	case bool:
		if t {
			return []byte("True\n"), nil
		}
		return []byte("False\n"), nil
	}
	if isNil(v) {
		return nil, nil
	}
	return yaml.Marshal(v)
}

func isNil(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return t == nil
	case map[string]string:
		return t == nil
	}
	return false
}
