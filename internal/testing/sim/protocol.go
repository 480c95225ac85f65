package sim

// ToolRequest is what the jujutool forwarder sends over the agent socket:
// one JSON object per connection, answered by one ToolResponse. Byte
// fields travel as base64 (encoding/json's []byte form).
type ToolRequest struct {
	ContextID string   `json:"context_id"`
	Argv      []string `json:"argv"`            // argv[0] is the tool name
	Stdin     []byte   `json:"stdin,omitempty"` // only for --file (the forwarder reads the file)
	Dir       string   `json:"dir,omitempty"`   // the tool's working directory
}

// ToolResponse is the tool's output and exit code. With OutputFile set
// (the tool's -o option), Stdout goes to that file instead, relative to the
// tool's working directory.
type ToolResponse struct {
	Stdout     []byte `json:"stdout,omitempty"`
	Stderr     []byte `json:"stderr,omitempty"`
	Code       int    `json:"code"`
	OutputFile string `json:"output_file,omitempty"`
}
