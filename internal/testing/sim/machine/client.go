package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// agentClient calls the control API of one agent over a unix socket.
type agentClient struct {
	http *http.Client
}

func newAgentClient(socket string) *agentClient {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	// Connections are kept between calls (a new one cost a tenth of a
	// millisecond per hook); PowerOff drops them with the agent.
	return &agentClient{http: &http.Client{Transport: &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 8}}}
}

// forget drops idle connections to an agent that is gone.
func (c *agentClient) forget() { c.http.CloseIdleConnections() }

// call POSTs req to path and decodes the response into resp.
func (c *agentClient) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("cannot encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, "POST", "http://agent"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return fmt.Errorf("cannot reach machine agent: %w", err)
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(hresp.Body)
	if err != nil {
		return fmt.Errorf("cannot read agent response: %w", err)
	}
	if hresp.StatusCode != http.StatusOK {
		var e errorResponse
		json.Unmarshal(data, &e)
		return fmt.Errorf("agent %s: %s", path, e.Error)
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return fmt.Errorf("cannot decode agent response: %w", err)
	}
	return nil
}

// systemctlMain is the systemctl stand-in on the machine's PATH.
func systemctlMain(args []string) int {
	c := newAgentClient(abstractSocket)
	var resp runResponse
	if err := c.call(context.Background(), "/systemctl", systemctlRequest{Args: args}, &resp); err != nil {
		fmt.Fprintf(os.Stderr, "System has not been booted with the simmachine agent: %v\n", err)
		return 1
	}
	os.Stdout.Write(resp.Stdout)
	os.Stderr.Write(resp.Stderr)
	return resp.ExitCode
}
