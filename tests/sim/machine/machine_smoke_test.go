package machine

import (
	"context"
	"testing"
	"time"
)

func TestSmoke(t *testing.T) {
	c := NewCloud(t)
	start := time.Now()
	m, err := c.NewMachine("a")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("machine up in %v", time.Since(start))
	out, err := m.Command(context.Background(), "sh", "-c", "hostname; id; ip -br addr; cat /proc/1/cmdline; mount | grep overlay | head -3; ls /etc/systemd/system").CombinedOutput()
	t.Logf("%s %v", out, err)
}
