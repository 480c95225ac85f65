// Command demo deploys the packed charm in the Juju simulator on a
// simulated machine, imports a two-platform sample image with the push
// action (the air-gapped path: an OCI archive copied onto the unit), and
// serves the registry on a local address until interrupted.
//
//	make demo                 # or: CHARM=./docker-registry.charm go run ./tools/demo
//	DEMO_SECONDS=60 make demo # stop by itself after a minute
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

const unit = "docker-registry/0"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	if why := machine.Unsupported(); why != "" {
		return fmt.Errorf("this machine cannot host simulated machines: %s", why)
	}
	charm := os.Getenv("CHARM")
	if charm == "" {
		return fmt.Errorf("set CHARM to the packed charm (make demo does)")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "docker-registry-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("building the hook-tool stand-ins")
	jujutool := filepath.Join(work, "jujutool")
	if out, err := exec.Command("go", "build", "-o", jujutool, "./internal/testing/sim/cmd/jujutool").CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build jujutool: %v\n%s", err, out)
	}
	cloud, err := machine.New(machine.Options{StateDir: filepath.Join(work, "cloud")})
	if err != nil {
		return err
	}
	defer cloud.Close()
	env, err := deploy.Open(cloud, charm, jujutool, work)
	if err != nil {
		return err
	}
	defer env.Close()

	step("juju deploy ./docker-registry.charm")
	if err := env.Model.Deploy(ctx, 1); err != nil {
		return err
	}
	showStatus(env)
	if err := pushSample(ctx, env); err != nil {
		return err
	}
	return serveLocally(ctx, env)
}

func step(msg string) { fmt.Printf("\n==> %s\n", msg) }

func showStatus(env *deploy.Env) {
	st := env.Model.Unit(unit).Status()
	fmt.Printf("    %s  %s: %s\n", unit, st.Name, st.Message)
}

// pushSample copies an OCI archive onto the unit (as `juju scp` would) and
// imports it with the push action, as an air-gapped site does.
func pushSample(ctx context.Context, env *deploy.Env) error {
	step("juju scp hello-oci.tar docker-registry/0:/root/  (a two-platform sample image)")
	archive, err := sampleArchive()
	if err != nil {
		return err
	}
	if err := env.Machine(unit).WriteFile("/root/hello-oci.tar", archive, 0o644); err != nil {
		return err
	}
	step("juju run docker-registry/0 push image=/root/hello-oci.tar pull=false tag=demo/hello:1.0")
	res, err := env.Model.RunAction(ctx, unit, "push", map[string]any{
		"image": "/root/hello-oci.tar", "pull": false, "tag": "demo/hello:1.0",
	})
	if err != nil {
		return err
	}
	for _, k := range []string{"outcome", "raw", "images.0.digest", "images.0.platforms"} {
		fmt.Printf("    %s: %v\n", k, lookup(res.Results, k))
	}
	if res.Failed() {
		return fmt.Errorf("push failed: %s", res.Message)
	}
	return nil
}

// lookup reads a dotted key from nested action results.
func lookup(m map[string]any, key string) any {
	var cur any = m
	for _, part := range splitDots(key) {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[part]
	}
	return cur
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// serveLocally forwards a loopback port of this machine to the unit's
// registry, which lives in its own network namespace.
func serveLocally(ctx context.Context, env *deploy.Env) error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+envOr("DEMO_PORT", "5000"))
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
	}
	defer ln.Close()
	target := net.JoinHostPort(env.Machine(unit).Addr().String(), "5000")
	go forward(ctx, ln, env.Cloud, target)
	local := ln.Addr().String()
	step("the registry is serving; pull the sample image with any client:")
	fmt.Printf(`    crane pull --insecure %[1]s/demo/hello:1.0 hello.tar
    skopeo inspect --tls-verify=false --raw docker://%[1]s/demo/hello:1.0
    curl http://%[1]s/v2/_catalog
(%[1]s forwards to %[2]s, the unit's address in the simulated cloud.)
Press Ctrl-C to stop.
`, local, target)
	if s, err := strconv.Atoi(os.Getenv("DEMO_SECONDS")); err == nil && s > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s)*time.Second)
		defer cancel()
	}
	<-ctx.Done()
	step("stopping")
	return nil
}

func forward(ctx context.Context, ln net.Listener, cloud *machine.Cloud, target string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := cloud.DialContext(ctx, "tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			go io.Copy(u, c)
			io.Copy(c, u)
		}()
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
