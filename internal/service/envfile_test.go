package service

import (
	"strings"
	"testing"

	"github.com/canonical/docker-registry-charm/internal/testing/sim/machine"
)

func TestEnvironmentFile(t *testing.T) {
	if got, err := EnvironmentFile(Proxy{}); got != nil || err != nil {
		t.Errorf("no proxy must mean no file, got %q %v", got, err)
	}
	got, err := EnvironmentFile(Proxy{HTTPS: "http://proxy:3128", NoProxy: "10.0.0.0/8"})
	want := "HTTPS_PROXY=http://proxy:3128\nNO_PROXY=10.0.0.0/8\nhttps_proxy=http://proxy:3128\nno_proxy=10.0.0.0/8\n"
	if string(got) != want || err != nil {
		t.Errorf("environment file = %q %v, want %q", got, err, want)
	}
}

// A value with a line break would add variables (LD_PRELOAD=...): it is
// refused, naming the variable and not the value (proxy URLs carry
// credentials).
func TestEnvironmentFileRefusesLineBreaks(t *testing.T) {
	for _, v := range []string{
		"http://u:secretpw@proxy:3128\nLD_PRELOAD=/srv/registry/x.so",
		"http://u:secretpw@proxy:3128\rLD_PRELOAD=/srv/registry/x.so",
		"http://u:secretpw@proxy:3128\x00",
		"http://u:secretpw@proxy:3128\u2028LD_PRELOAD=x",
	} {
		got, err := EnvironmentFile(Proxy{HTTP: v})
		if err == nil {
			t.Errorf("%q: rendered %q", v, got)
			continue
		}
		if !strings.Contains(err.Error(), "HTTP_PROXY") || strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%q: error %q must name HTTP_PROXY and not quote the value", v, err)
		}
	}
}

// Characters systemd's reader interprets are quoted so that the value
// reads back as written (here with the simulator's reader, which splits
// and unquotes as systemd's does).
func TestEnvironmentFileQuotes(t *testing.T) {
	v := `http://u:p$a"s's\w` + "`d" + ` #;@proxy:3128`
	got, err := EnvironmentFile(Proxy{HTTP: v})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", got)
	}
	for _, l := range lines {
		_, quoted, _ := strings.Cut(l, "=")
		words, err := machine.SplitQuoted(quoted)
		if err != nil || len(words) != 1 || words[0] != v {
			t.Errorf("%q reads back as %q (%v), want %q", l, words, err, v)
		}
	}
}
