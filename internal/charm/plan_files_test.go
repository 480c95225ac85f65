package charm

import (
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/juju"
	"github.com/canonical/docker-registry-charm/internal/service"
)

// observedAsPlanned is an Observed whose machine already holds every file
// plan wants for it, owned as plan wants them.
func observedAsPlanned(t *testing.T, mutate func(o *Observed)) *Observed {
	t.Helper()
	o := baseObserved(t)
	o.Host.Account = &service.Account{Name: serviceUser, UID: 4242, GID: 4343}
	mutate(o)
	o.Host.Files = map[string]*FileState{}
	for _, p := range managedPaths(o.Config, o.Host.State) {
		o.Host.Files[p] = nil
	}
	for _, w := range planFiles(o, plan(o, planNow, func() string { return "new" })) {
		if w.Content == nil {
			continue
		}
		gid := 0
		if w.Group {
			gid = o.Host.Account.GID
		}
		o.Host.Files[w.Path] = &FileState{Content: w.Content, Mode: w.Mode, GID: gid}
	}
	return o
}

// What differs between the files plan wants and the files observe found,
// and what the service must do about it: pure, one row per kind of change.
func TestFileChanges(t *testing.T) {
	const unit = "/etc/systemd/system/docker-registry.service"
	const socket = "/etc/systemd/system/docker-registry.socket"
	for _, tc := range []struct {
		name    string
		setup   func(o *Observed) // before the machine is made to match plan
		drift   func(o *Observed) // after: how the machine differs
		paths   []string
		changes Changes
	}{
		{"nothing differs", nil, nil, nil, Changes{}},
		{"an option the registry reads changed", nil, func(o *Observed) { o.Config.LogLevel = "debug" },
			[]string{machineConfig}, Changes{Served: true}},
		{"config.yml lost its mode", nil, func(o *Observed) { o.Host.Files[machineConfig].Mode = 0o644 },
			[]string{machineConfig}, Changes{Served: true}},
		{"config.yml owned by another group", nil, func(o *Observed) { o.Host.Files[machineConfig].GID = 0 },
			[]string{machineConfig}, Changes{Served: true}},
		{"the registry's user does not exist yet", nil, func(o *Observed) { o.Host.Account = nil },
			[]string{machineConfig}, Changes{Served: true}},
		{"a root-only file readable by the group", nil, func(o *Observed) { o.Host.Files[unit].GID = 4343 },
			[]string{unit}, Changes{Units: true}},
		{"the proxy changed", nil, func(o *Observed) { o.Config.RegistryHTTPProxy = "http://squid.internal:3128" },
			[]string{machineEnvFile}, Changes{Env: true}},
		{"the unit file is missing", nil, func(o *Observed) { o.Host.Files[unit] = nil },
			[]string{unit}, Changes{Units: true}},
		{"registry-port changed", nil, func(o *Observed) { o.Config.RegistryPort = 5001 },
			[]string{machineConfig, socket}, Changes{Served: true, Units: true, Socket: true}},
		{"a file that should be gone is there", nil, func(o *Observed) {
			o.Host.Files[machineClientKey] = &FileState{Content: []byte("old key"), Mode: 0o600}
		}, []string{machineClientKey}, Changes{}},
		{"a file observe did not read", nil, func(o *Observed) { delete(o.Host.Files, machineEnvFile) },
			[]string{machineEnvFile}, Changes{Env: true}},
		{"TLS from config goes: the charm's files are removed", func(o *Observed) {
			cert, key := planCert(t, planNow.Add(30*24*time.Hour))
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key)
		}, func(o *Observed) {
			o.Host.State.TLSSource, o.Host.State.TLSFiles = tlsFromConfig, []string{o.Config.TLSCertPath, o.Config.TLSKeyPath}
			o.Config.TLSCertBlob, o.Config.TLSKeyBlob = "", ""
		}, []string{"/etc/docker/registry/registry.crt", "/etc/docker/registry/registry.key", machineConfig}, Changes{Served: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observedAsPlanned(t, func(o *Observed) {
				if tc.setup != nil {
					tc.setup(o)
				}
			})
			if tc.drift != nil {
				tc.drift(o)
			}
			d := plan(o, planNow, func() string { return "new" })
			if d.Registry == nil {
				t.Fatalf("nothing rendered: %+v", d.Hold)
			}
			var got []string
			for _, w := range d.Write {
				got = append(got, w.Path)
			}
			want := slices.Sorted(slices.Values(tc.paths))
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("writes %v, want %v", got, want)
			}
			if d.Changes != tc.changes {
				t.Errorf("changes %+v, want %+v", d.Changes, tc.changes)
			}
		})
	}
}

// observe reads every file plan may write or remove: a file planFiles
// names that managedPaths does not would be written in every hook.
func TestObserveReadsEveryPlannedFile(t *testing.T) {
	cert, key := planCert(t, planNow.Add(30*24*time.Hour))
	o := baseObserved(t)
	o.Config.TLSCertBlob, o.Config.TLSKeyBlob = base64.StdEncoding.EncodeToString(cert), base64.StdEncoding.EncodeToString(key)
	o.Config.AuthBasicUser, o.Config.AuthBasicPassword = "admin", "not-a-real-password"
	o.Host.State.TLSFiles = []string{"/etc/old/registry.crt"}
	read := managedPaths(o.Config, o.Host.State)
	for _, w := range planFiles(o, plan(o, planNow, func() string { return "new" })) {
		if !slices.Contains(read, w.Path) {
			t.Errorf("plan manages %s, which observe does not read", w.Path)
		}
	}
}

// The binary is copied when the running one is not the one installed, or
// the installed copy is gone; never in tests that run no workload.
func TestBinaryDiffers(t *testing.T) {
	a, b := files.Identity{Inode: 1, Size: 10, MTime: 1}, files.Identity{Inode: 2, Size: 10, MTime: 1}
	for _, tc := range []struct {
		name            string
		self, installed files.Identity
		exists, want    bool
	}{
		{"no workload", files.Identity{}, a, true, false},
		{"installed", a, a, true, false},
		{"upgrade-charm brought another", b, a, true, true},
		{"the copy was removed", a, a, false, true},
		{"first install", a, files.Identity{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &Observed{Host: HostState{Self: tc.self, Installed: tc.exists, State: LocalState{InstalledFrom: tc.installed}}}
			if got := binaryDiffers(o); got != tc.want {
				t.Errorf("binaryDiffers = %v, want %v", got, tc.want)
			}
		})
	}
}

// How apply has the service use what changed: decided in plan from the
// changes (this hook's, a killed hook's, a refused reload) and whether the
// registry answered when observed.
func TestPlanDrive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(o *Observed)
		drift func(o *Observed)
		want  Drive
	}{
		{"answers, nothing changed", nil, nil, driveNothing},
		{"does not answer, nothing changed", nil, func(o *Observed) { o.Answers = false }, driveSystemd},
		{"answers, an option it reads changed", nil, func(o *Observed) { o.Config.LogLevel = "debug" }, driveReload},
		{"does not answer, an option it reads changed", nil, func(o *Observed) { o.Config.LogLevel = "debug"; o.Answers = false }, driveSystemd},
		{"a killed hook wrote config.yml but did not reload", nil, func(o *Observed) { o.Host.State.Pending = Changes{Served: true} }, driveReload},
		{"a killed hook wrote a unit file", nil, func(o *Observed) { o.Host.State.Pending = Changes{Units: true} }, driveSystemd},
		{"the registry refused the last reload", nil, func(o *Observed) { o.Host.State.ReloadPending = true }, driveReload},
		{"the proxy changed", nil, func(o *Observed) { o.Config.RegistryHTTPProxy = "http://squid.internal:3128" }, driveSystemd},
		{"registry-port changed", nil, func(o *Observed) { o.Config.RegistryPort = 5001 }, driveSystemd},
		{"upgrade-charm brought another binary", nil, func(o *Observed) { o.Host.Self = files.Identity{Inode: 9} }, driveSystemd},
		{"stopped by the stop action", nil, func(o *Observed) { o.Host.State.Stopped = true }, driveStop},
		{"series upgrade", nil, func(o *Observed) { o.Host.State.SeriesUpgrade = true }, driveStop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := observedAsPlanned(t, func(o *Observed) {
				if tc.setup != nil {
					tc.setup(o)
				}
			})
			o.Answers = true
			if tc.drift != nil {
				tc.drift(o)
			}
			d := plan(o, planNow, func() string { return "new" })
			if d.Drive != tc.want {
				t.Errorf("drive %v (tell %+v), want %v", d.Drive, d.Tell, tc.want)
			}
		})
	}
}

// What Juju is to open and close: the difference between the ports plan
// wants and those open, whatever order either comes in.
func TestPortChanges(t *testing.T) {
	p := func(n int) juju.Port { return juju.Port{Number: n} }
	for _, tc := range []struct {
		name             string
		opened, want     []juju.Port
		wantOpen, wantCl []juju.Port
	}{
		{"first hook", nil, []juju.Port{p(5000)}, []juju.Port{p(5000)}, nil},
		{"nothing to do", []juju.Port{p(5000)}, []juju.Port{p(5000)}, nil, nil},
		{"registry-port moved", []juju.Port{p(5000)}, []juju.Port{p(5001)}, []juju.Port{p(5001)}, []juju.Port{p(5000)}},
		{"someone opened another", []juju.Port{p(22), p(5000)}, []juju.Port{p(5000)}, nil, []juju.Port{p(22)}},
		{"wanted twice", nil, []juju.Port{p(5000), p(5000)}, []juju.Port{p(5000)}, nil},
		{"range", []juju.Port{{Number: 5000, To: 5001}}, []juju.Port{p(5000)}, []juju.Port{p(5000)}, []juju.Port{{Number: 5000, To: 5001}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			open, shut := portChanges(tc.opened, tc.want)
			if !slices.Equal(open, tc.wantOpen) || !slices.Equal(shut, tc.wantCl) {
				t.Errorf("open %v close %v, want open %v close %v", open, shut, tc.wantOpen, tc.wantCl)
			}
		})
	}
}
