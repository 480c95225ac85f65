// Command jujutool is the simulator's hook tool forwarder. Installed under
// every tool name (see sim.InstallTools), it sends its argv, its stdin
// when a "--file -" option asks for it, and JUJU_CONTEXT_ID to the agent
// socket, then reproduces the tool's stdout, stderr and exit code. Build
// it static (CGO_ENABLED=0) so it runs on any simulated machine.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
)

// request and response mirror request and response; the
// forwarder does not import the simulator, so it stays small and quick to
// build. The end-to-end test in package sim keeps the two in step.
type request struct {
	ContextID string   `json:"context_id"`
	Argv      []string `json:"argv"`
	Stdin     []byte   `json:"stdin,omitempty"`
	Dir       string   `json:"dir,omitempty"`
}

type response struct {
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Code   int    `json:"code"`
}

func main() {
	os.Exit(run())
}

func run() int {
	req := request{ContextID: os.Getenv("JUJU_CONTEXT_ID"), Argv: slices.Clone(os.Args)}
	req.Argv[0] = filepath.Base(req.Argv[0])
	req.Dir, _ = os.Getwd()
	if wantsStdin(req.Argv[1:]) {
		stdin, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fail("cannot read stdin: %v", err)
		}
		req.Stdin = stdin
	}
	resp, err := call(req)
	if err != nil {
		return fail("%v", err)
	}
	os.Stdout.Write(resp.Stdout)
	os.Stderr.Write(resp.Stderr)
	return resp.Code
}

// wantsStdin: only "--file -" reads stdin, so a tool started with an open
// terminal or pipe on stdin never blocks.
func wantsStdin(args []string) bool {
	for i, a := range args {
		if a == "--" {
			return false
		}
		if a == "--file=-" || (a == "--file" && i+1 < len(args) && args[i+1] == "-") {
			return true
		}
	}
	return false
}

func call(req request) (response, error) {
	network := os.Getenv("JUJU_AGENT_SOCKET_NETWORK")
	if network == "" {
		network = "unix"
	}
	addr := os.Getenv("JUJU_AGENT_SOCKET_ADDRESS")
	conn, err := net.Dial(network, addr)
	if err != nil {
		return response{}, fmt.Errorf("cannot connect to the agent at %q: %w", addr, err)
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return response{}, fmt.Errorf("cannot send to the agent: %w", err)
	}
	var resp response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return response{}, fmt.Errorf("cannot read the agent's answer: %w", err)
	}
	return resp, nil
}

func fail(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "ERROR "+format+"\n", a...)
	return 1
}
