// Command simmachine is the agent of a simulated machine, the exec
// wrapper of its services and, installed as "systemctl", the systemd
// stand-in client. See package machine.
package main

import (
	"os"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

func main() {
	os.Exit(machine.Main(os.Args))
}
