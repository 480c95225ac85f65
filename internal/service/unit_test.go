package service

import (
	"strings"
	"testing"
)

func baseOptions() UnitOptions {
	return UnitOptions{
		Description:     "Docker registry",
		Binary:          "/opt/docker-registry/bin/docker-registry",
		ConfigPath:      "/etc/docker/registry/config.yml",
		User:            "docker-registry",
		DataDir:         "/srv/registry",
		ConfigDir:       "/etc/docker/registry",
		Port:            5000,
		EnvironmentFile: "/etc/docker/registry/environment",
	}
}

func TestServiceFileIsHardened(t *testing.T) {
	unit := string(ServiceFile(baseOptions()))
	for _, want := range []string{
		"ExecStart=/opt/docker-registry/bin/docker-registry serve --config /etc/docker/registry/config.yml\n",
		"ExecReload=",
		"User=docker-registry\n",
		"Restart=always\n",
		"NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n",
		"ReadWritePaths=/srv/registry\n",
		"PrivateTmp=yes\n",
		"ProtectHome=yes\n",
		"CapabilityBoundingSet=\n",
		"Requires=docker-registry.socket\n",
		"EnvironmentFile=-/etc/docker/registry/environment\n",
		"WantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("service unit lacks %q:\n%s", want, unit)
		}
	}
}

func TestServiceKeepsBindCapabilityOnlyForPrivilegedDebugPort(t *testing.T) {
	o := baseOptions()
	o.Port = 443 // bound by systemd through the socket: no capability
	if unit := string(ServiceFile(o)); !strings.Contains(unit, "CapabilityBoundingSet=\n") {
		t.Errorf("a privileged registry port must not grant capabilities:\n%s", unit)
	}
	o.BindsPrivilegedPort = true
	if unit := string(ServiceFile(o)); !strings.Contains(unit, "CapabilityBoundingSet=CAP_NET_BIND_SERVICE\n") {
		t.Errorf("a privileged debug port needs CAP_NET_BIND_SERVICE:\n%s", unit)
	}
}

func TestSocketFileListensOnRegistryPort(t *testing.T) {
	o := baseOptions()
	o.Port = 5443
	sock := string(SocketFile(o))
	if !strings.Contains(sock, "ListenStream=5443\n") || !strings.Contains(sock, "Service=docker-registry.service\n") {
		t.Errorf("socket unit:\n%s", sock)
	}
}

func TestEnvironmentFile(t *testing.T) {
	if got := EnvironmentFile(Proxy{}); got != nil {
		t.Errorf("no proxy must mean no file, got %q", got)
	}
	got := string(EnvironmentFile(Proxy{HTTPS: "http://proxy:3128", NoProxy: "10.0.0.0/8"}))
	want := "HTTPS_PROXY=http://proxy:3128\nNO_PROXY=10.0.0.0/8\nhttps_proxy=http://proxy:3128\nno_proxy=10.0.0.0/8\n"
	if got != want {
		t.Errorf("environment file = %q, want %q", got, want)
	}
}
