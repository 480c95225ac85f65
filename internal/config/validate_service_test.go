package config

import (
	"strings"
	"testing"
)

// Values that would add lines to the systemd unit (registry-name reaches
// Description=) or to the service's environment file (the proxies): each is
// refused naming the option, and the message never quotes the value.
func TestValidateRefusesLineBreaksInLineOrientedOptions(t *testing.T) {
	hostile := []string{
		"registry\nExecStartPre=+/bin/sh -c 'id > /root/pwned'",
		"registry\rExecStartPre=+/bin/true",
		"registry\x00",
		"registry\x1b[2J",
		"registry\u2028ExecStartPre=+/bin/true",
		"registry\u0085ExecStartPre=+/bin/true", // NEL, a C1 line break
		"registry\xff",                          // not UTF-8
		"registry\tname",
	}
	set := map[string]func(*Config, string){
		"registry-name":        func(c *Config, v string) { c.RegistryName = v },
		"registry-http-proxy":  func(c *Config, v string) { c.RegistryHTTPProxy = "http://u:secretpw@proxy:3128/" + v },
		"registry-https-proxy": func(c *Config, v string) { c.RegistryHTTPSProxy = "http://u:secretpw@proxy:3128/" + v },
	}
	for option, change := range set {
		for _, v := range hostile {
			c := defaults()
			change(&c, v)
			got := c.Validate()
			if len(got) != 1 || got[0].Option != option || !strings.Contains(got[0].Message, "must be one line of printable text") {
				t.Errorf("%s=%q: want one problem naming %s, got %v", option, v, option, got)
				continue
			}
			if strings.Contains(got[0].Message, "ExecStartPre") || strings.Contains(got[0].Message, "secretpw") {
				t.Errorf("%s: the message quotes the value: %q", option, got[0].Message)
			}
			if status := FormatProblems(got); status != "Invalid charm config: "+option+" (see juju debug-log)" {
				t.Errorf("%s: status %q", option, status)
			}
		}
	}
}

func TestValidateRegistryName(t *testing.T) {
	c := defaults()
	c.RegistryName = "Registry 100% «prod» \\ ; # $HOME"
	if got := c.Validate(); len(got) != 0 {
		t.Errorf("printable text is a fine name, got %v", got)
	}
	c.RegistryName = strings.Repeat("r", 257)
	if got := c.Validate(); len(got) != 1 || got[0].Option != "registry-name" || !strings.Contains(got[0].Message, "at most 256 bytes") {
		t.Errorf("a huge name: got %v", got)
	}
}

func TestValidateServiceLimits(t *testing.T) {
	for _, ok := range []string{"2G", "64M", "512M", "1T", "67108864", "65536K", "50%", "100%", "infinity", ""} {
		c := defaults()
		c.ServiceMemoryMax = ok
		if got := c.Validate(); len(got) != 0 {
			t.Errorf("service-memory-max=%q: %v", ok, got)
		}
	}
	for _, bad := range []string{"63M", "1", "2g", "2GB", "0%", "101%", "050%", "-1G", "1.5G", "99999999999999G", "2G\nTasksMax=infinity", " 2G"} {
		c := defaults()
		c.ServiceMemoryMax = bad
		got := c.Validate()
		if len(got) != 1 || got[0].Option != "service-memory-max" || !strings.Contains(got[0].Message, "at least 64M") {
			t.Errorf("service-memory-max=%q: want one problem naming it, got %v", bad, got)
		}
	}
	for _, ok := range []int{0, 64, 4096, 4194304} {
		c := defaults()
		c.ServiceTasksMax = ok
		if got := c.Validate(); len(got) != 0 {
			t.Errorf("service-tasks-max=%d: %v", ok, got)
		}
	}
	for _, bad := range []int{-1, 1, 63, 4194305} {
		c := defaults()
		c.ServiceTasksMax = bad
		got := c.Validate()
		if len(got) != 1 || got[0].Option != "service-tasks-max" || !strings.Contains(got[0].Message, "0 (no limit) or between 64 and 4194304") {
			t.Errorf("service-tasks-max=%d: got %v", bad, got)
		}
	}
}

func TestMemoryBytes(t *testing.T) {
	for in, want := range map[string]int64{"2G": 2 << 30, "64M": 64 << 20, "1T": 1 << 40, "infinity": 0, "50%": 0, "": 0} {
		if got, ok := MemoryBytes(in); !ok || got != want {
			t.Errorf("MemoryBytes(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

func TestServiceDefaults(t *testing.T) {
	c := defaults()
	if c.ServiceMemoryMax != "2G" || c.ServiceTasksMax != 4096 {
		t.Errorf("config.yaml defaults: service-memory-max=%q service-tasks-max=%d", c.ServiceMemoryMax, c.ServiceTasksMax)
	}
}
