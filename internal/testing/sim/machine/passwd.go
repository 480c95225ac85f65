package machine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// account is one user as the machine's own /etc/passwd and /etc/group
// (inside its overlay) describe it. Parsed by hand so no NSS module of
// the host is consulted.
type account struct {
	Name     string
	UID, GID uint32
	Groups   []uint32
	Home     string
	Shell    string
}

func lookupAccount(user, group string) (*account, error) {
	a := &account{Name: "root", Home: "/root", Shell: "/bin/sh"}
	if user != "" {
		f, err := findEntry("/etc/passwd", user, 7)
		if err != nil {
			return nil, fmt.Errorf("cannot find user %q: %w", user, err)
		}
		a.Name, a.Home, a.Shell = f[0], f[5], f[6]
		a.UID, a.GID = atou(f[2]), atou(f[3])
	}
	if group != "" {
		f, err := findEntry("/etc/group", group, 4)
		if err != nil {
			return nil, fmt.Errorf("cannot find group %q: %w", group, err)
		}
		a.GID = atou(f[2])
	}
	a.Groups = supplementaryGroups(a.Name, a.GID)
	return a, nil
}

// findEntry finds the line whose name (field 0) or numeric id (field 2)
// is key.
func findEntry(file, key string, fields int) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) >= fields && (parts[0] == key || parts[2] == key) {
			return parts, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no entry in %s", file)
}

func supplementaryGroups(user string, gid uint32) []uint32 {
	groups := []uint32{gid}
	f, err := os.Open("/etc/group")
	if err != nil {
		return groups
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), ":")
		if len(parts) < 4 {
			continue
		}
		for _, m := range strings.Split(parts[3], ",") {
			if m == user && atou(parts[2]) != gid {
				groups = append(groups, atou(parts[2]))
			}
		}
	}
	return groups
}

func atou(s string) uint32 {
	n, _ := strconv.ParseUint(s, 10, 32)
	return uint32(n)
}
