package service

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Account is a system user's numeric identity.
type Account struct {
	Name     string
	UID, GID int
}

// EnsureUser creates the registry's unprivileged system user if it does not
// exist yet and returns its ids. The user owns the data directory and the
// files the registry must read; it has no shell and no home of its own.
func EnsureUser(ctx context.Context, name, home string) (Account, error) {
	if acc, ok, err := LookupUser(name); err != nil || ok {
		return acc, err
	}
	cmd := exec.CommandContext(ctx, "useradd", "--system", "--user-group",
		"--no-create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin",
		"--comment", "Docker registry (Juju charm)", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		return Account{}, fmt.Errorf("cannot create system user %q: %w: %s", name, err, bytes.TrimSpace(out))
	}
	acc, ok, err := LookupUser(name)
	if err == nil && !ok {
		err = fmt.Errorf("cannot find system user %q after creating it", name)
	}
	return acc, err
}

// LookupUser reads /etc/passwd directly: os/user may go through NSS
// modules that are slow or absent on minimal machines.
func LookupUser(name string) (Account, bool, error) {
	data, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return Account{}, false, fmt.Errorf("cannot read /etc/passwd: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return Account{}, false, fmt.Errorf("cannot parse /etc/passwd entry of %q", name)
		}
		return Account{Name: name, UID: uid, GID: gid}, true, nil
	}
	return Account{}, false, nil
}
