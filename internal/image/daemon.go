package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// openDaemon exports an image from the local docker daemon with `docker
// save` and opens the archive. Shelling out to the docker CLI (present
// wherever a daemon is) keeps the moby client and its large dependency tree
// out of the charm for a path used only on air-gapped units.
func openDaemon(ctx context.Context, ref, tmp string) (*source, error) {
	if !daemonAvailable() {
		return nil, fmt.Errorf("cannot find %s: no such file, and no docker daemon on this machine", ref)
	}
	dir, err := os.MkdirTemp(tmp, "image-docker-")
	if err != nil {
		return nil, fmt.Errorf("cannot create a directory for docker save: %w", err)
	}
	tarPath := filepath.Join(dir, "image.tar")
	out, err := exec.CommandContext(ctx, "docker", "save", "-o", tarPath, ref).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot export %s from docker: %w: %s", ref, err, strings.TrimSpace(string(out)))
	}
	src, err := openArchive(tarPath, ref, tmp)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	inner := src.cleanup
	src.cleanup = func() { inner(); os.RemoveAll(dir) }
	if src.name == "" {
		src.name = ref
	}
	return src, nil
}

// daemonAvailable: the docker CLI is installed and a daemon socket exists
// (DOCKER_HOST's unix socket, or the default one).
func daemonAvailable() bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	host := os.Getenv("DOCKER_HOST")
	if host != "" && !strings.HasPrefix(host, "unix://") {
		return true // a TCP daemon: let docker itself say whether it answers
	}
	sock := strings.TrimPrefix(host, "unix://")
	if sock == "" {
		sock = "/var/run/docker.sock"
	}
	_, err := os.Stat(sock)
	return err == nil
}
