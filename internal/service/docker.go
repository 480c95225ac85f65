package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strings"
)

// Docker is the docker CLI talking to one daemon. The charm needs it only
// to find and remove the container the reactive charm it replaces ran the
// registry in; it never installs or configures docker.
type Docker struct {
	CLI  string // path of the docker program
	Host string // the daemon, as for -H: unix:///var/run/docker.sock
}

// Container is what the charm reads of a container to tell whether it is
// the reactive charm's.
type Container struct {
	ID, Name, Image string // Name without docker's leading "/"
	Running         bool
	// Ports are the published ports, "HOSTPORT->5000/tcp", sorted.
	Ports []string
	// Binds are the bind mounts, host path → container path.
	Binds map[string]string
}

// Inspect returns the container called name, or nil when there is none.
func (d Docker) Inspect(ctx context.Context, name string) (*Container, error) {
	out, err := d.run(ctx, "container", "inspect", "--", name)
	if err != nil {
		if strings.Contains(err.Error(), "No such container") {
			return nil, nil
		}
		return nil, err
	}
	var found []struct {
		ID     string `json:"Id"`
		Name   string
		Config struct{ Image string }
		State  struct{ Running bool }
		// PortBindings is what the container was created with, kept
		// while it is stopped (NetworkSettings.Ports is emptied).
		HostConfig struct {
			PortBindings map[string][]struct{ HostIP, HostPort string }
		}
		Mounts []struct{ Type, Source, Destination string }
	}
	if err := json.Unmarshal(out, &found); err != nil {
		return nil, fmt.Errorf("cannot parse docker container inspect %s: %w", name, err)
	}
	for _, f := range found {
		// inspect also matches an id prefix: only the exact name counts.
		if strings.TrimPrefix(f.Name, "/") != name {
			continue
		}
		c := &Container{ID: f.ID, Name: name, Image: f.Config.Image, Running: f.State.Running, Binds: map[string]string{}}
		for port, bs := range f.HostConfig.PortBindings {
			for _, b := range bs {
				c.Ports = append(c.Ports, b.HostPort+"->"+port)
			}
		}
		sort.Strings(c.Ports)
		for _, m := range f.Mounts {
			if m.Type == "bind" {
				c.Binds[path.Clean(m.Source)] = path.Clean(m.Destination)
			}
		}
		return c, nil
	}
	return nil, nil
}

// Remove stops and removes a container by id (not by name, which another
// container could have taken since it was inspected). Its bind-mounted
// host directories are left alone.
func (d Docker) Remove(ctx context.Context, id string) error {
	_, err := d.run(ctx, "container", "rm", "--force", "--", id)
	return err
}

func (d Docker) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, d.CLI, append([]string{"--host", d.Host}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("docker %s: %w: %s", strings.Join(args[:2], " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}
