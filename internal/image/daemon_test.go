package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// startDockerd runs a private docker daemon that leaves the host network
// and firewall alone (test-tooling.md), and points DOCKER_HOST at it.
func startDockerd(t *testing.T) string {
	if _, err := exec.LookPath("dockerd"); err != nil || os.Getuid() != 0 {
		t.Skip("needs dockerd and root")
	}
	d, err := os.MkdirTemp("", "dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(d, "docker.sock")
	cmd := exec.Command("dockerd", "--data-root", d+"/root", "--exec-root", d+"/exec",
		"--pidfile", d+"/docker.pid", "-H", "unix://"+sock, "--storage-driver=vfs",
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"--containerd-namespace", "imagetest", "--containerd-plugins-namespace", "imagetest-plugins")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		os.RemoveAll(d)
	})
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if exec.Command("docker", "version").Run() == nil {
			return sock
		}
	}
	t.Fatal("dockerd did not come up")
	return ""
}

func TestPushFromDockerDaemon(t *testing.T) {
	startDockerd(t)
	dst := newRegistry(t, regOpts{})
	tg := dst.target("", "")
	img := platformImage(t, 16<<10, 2, testPlatforms[0])
	archive := filepath.Join(t.TempDir(), "load.tar")
	tag, _ := name.NewTag("example.com/team/daemon:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "load", "-i", archive).CombinedOutput(); err != nil {
		t.Fatalf("docker load: %v: %s", err, out)
	}
	res := Push(context.Background(), PushRequest{Source: "example.com/team/daemon:1", Local: true, Target: tg})
	if res.Err != nil || res.Dest != dst.Netloc+"/example.com/team/daemon:1" || len(res.Platforms) != 1 {
		t.Fatalf("%+v", res)
	}
	pullAndVerify(t, tg, res.Dest)

	res = Push(context.Background(), PushRequest{Source: "example.com/team/absent:1", Local: true, Target: tg})
	errContains(t, res.Err, "cannot export", "absent")
}
