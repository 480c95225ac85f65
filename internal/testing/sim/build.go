package sim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// JujutoolPackage is the import path of the hook tool forwarder.
const JujutoolPackage = "github.com/canonical/docker-registry-charm/internal/testing/sim/cmd/jujutool"

// BuildJujutool builds the forwarder as a static binary into dir and
// returns its path. It runs `go build`, so call it from a test inside this
// module (any package) and cache the result per test binary if it is
// needed often.
func BuildJujutool(dir string) (string, error) {
	bin := filepath.Join(dir, "jujutool")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, JujutoolPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build jujutool: %w\n%s", err, out)
	}
	return bin, nil
}
