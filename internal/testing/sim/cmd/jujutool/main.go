// Command jujutool is the simulator's hook tool forwarder. Installed under
// every tool name (see sim.InstallTools), it sends its argv, the content of
// a --file option, and JUJU_CONTEXT_ID to the agent socket, then
// reproduces the tool's stdout, stderr and exit code (writing -o files
// itself). Build
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
	"strings"
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
	Stdout     []byte `json:"stdout,omitempty"`
	Stderr     []byte `json:"stderr,omitempty"`
	Code       int    `json:"code"`
	OutputFile string `json:"output_file,omitempty"`
}

func main() {
	os.Exit(run())
}

func run() int {
	req := request{ContextID: os.Getenv("JUJU_CONTEXT_ID"), Argv: slices.Clone(os.Args)}
	req.Argv[0] = filepath.Base(req.Argv[0])
	req.Dir, _ = os.Getwd()
	if err := attachFile(&req); err != nil {
		return fail("%v", err)
	}
	resp, err := call(req)
	if err != nil {
		return fail("%v", err)
	}
	if resp.OutputFile != "" && resp.Code == 0 {
		if err := os.WriteFile(resp.OutputFile, resp.Stdout, 0o644); err != nil {
			return fail("cannot write output: %v", err)
		}
		resp.Stdout = nil
	}
	os.Stdout.Write(resp.Stdout)
	os.Stderr.Write(resp.Stderr)
	return resp.Code
}

// attachFile sends the content of a --file option as stdin: the tool runs
// here, possibly in another mount namespace than the agent, so the agent
// could not read the file itself. "--file -" sends our stdin; stdin is
// read for nothing else, so a tool started with an open terminal or pipe
// on stdin never blocks.
func attachFile(req *request) error {
	args := req.Argv[1:]
	for i, a := range args {
		if a == "--" {
			return nil
		}
		var name string
		switch {
		case strings.HasPrefix(a, "--file="):
			name = strings.TrimPrefix(a, "--file=")
		case a == "--file" && i+1 < len(args):
			name = args[i+1]
		default:
			continue
		}
		data, err := readFileArg(name)
		if err != nil {
			return err
		}
		req.Stdin = data
		if a == "--file" {
			args[i+1] = "-"
		} else {
			args[i] = "--file=-"
		}
		return nil
	}
	return nil
}

func readFileArg(name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("cannot read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read settings file: %w", err)
	}
	return data, nil
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
