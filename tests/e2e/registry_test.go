package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/canonical/docker-registry-charm/internal/testing/deploy"
)

func TestDeployPushPullHTTP(t *testing.T) {
	e := deploy.New(t)
	ctx := context.Background()
	if err := e.Model.Deploy(ctx, 1); err != nil {
		t.Fatalf("deploy: %v\n%s", err, e.Machine(unit0).ServiceLog("docker-registry.service"))
	}
	st := e.Model.Unit(unit0).Status()
	addr := e.Machine(unit0).Addr().String()
	if st.Name != "active" || !strings.HasPrefix(st.Message, "Ready at "+addr+":5000 (http).") {
		t.Fatalf("status = %s %q\nservice log:\n%s", st.Name, st.Message, e.Machine(unit0).ServiceLog("docker-registry.service"))
	}
	c := deploy.Client{Env: e}
	img, err := random.Image(1024, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.Ref(addr+":5000", "demo/random:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, c.Options()...); err != nil {
		t.Fatalf("push: %v", err)
	}
	got, err := remote.Image(ref, c.Options()...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	want, _ := img.Digest()
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	resp, err := (&http.Client{Transport: c.Transport(), Timeout: 5 * time.Second}).Get("http://" + addr + ":5000/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Docker-Distribution-Api-Version"), "registry/2.0") {
		t.Fatalf("/v2/ answered %d", resp.StatusCode)
	}
}
