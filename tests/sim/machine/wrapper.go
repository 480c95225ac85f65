package machine

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// wrapperMain is "simmachine exec-wrapper [flags] -- argv...": it runs
// in the forked child of a service, applies what systemd applies between
// fork and exec, and execs the service in its own PID.
func wrapperMain(args []string) int {
	fs := flag.NewFlagSet("exec-wrapper", flag.ContinueOnError)
	uid := fs.Int("uid", -1, "")
	gid := fs.Int("gid", -1, "")
	groups := fs.String("groups", "", "")
	nnp := fs.Bool("no-new-privs", false, "")
	umask := fs.String("umask", "", "")
	nofile := fs.String("nofile", "", "")
	listenPID := fs.Bool("listen-pid", false, "")
	argv0 := fs.String("argv0", "", "")
	var box sandbox
	fs.StringVar(&box.ProtectSystem, "protect-system", "", "")
	fs.StringVar(&box.ProtectHome, "protect-home", "", "")
	fs.BoolVar(&box.PrivateTmp, "private-tmp", false, "")
	fs.Func("rw", "", func(s string) error { box.ReadWrite = append(box.ReadWrite, s); return nil })
	fs.Func("ro", "", func(s string) error { box.ReadOnly = append(box.ReadOnly, s); return nil })
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "simmachine exec-wrapper: cannot parse arguments")
		return 2
	}
	if err := box.apply(); err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: %v\n", err)
		return 226 // systemd's EXIT_NAMESPACE
	}
	if err := applyWrapper(*uid, *gid, *groups, *nnp, *umask, *nofile); err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: %v\n", err)
		return 214
	}
	env := os.Environ()
	if *listenPID {
		env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	argv := fs.Args()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: cannot find %q: %v\n", argv[0], err)
		return 203
	}
	if *argv0 != "" {
		argv[0] = *argv0
	}
	err = syscall.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: cannot execute %q: %v\n", path, err)
	return 203
}

func applyWrapper(uid, gid int, groups string, nnp bool, umask, nofile string) error {
	if umask != "" {
		m, err := strconv.ParseUint(umask, 8, 32)
		if err != nil {
			return fmt.Errorf("cannot parse UMask=%s: %w", umask, err)
		}
		unix.Umask(int(m))
	}
	if nofile != "" {
		n, err := strconv.ParseUint(strings.Split(nofile, ":")[0], 10, 64)
		if err != nil {
			return fmt.Errorf("cannot parse LimitNOFILE=%s: %w", nofile, err)
		}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: n, Max: n}); err != nil {
			return fmt.Errorf("cannot set LimitNOFILE: %w", err)
		}
	}
	if gid >= 0 {
		var gs []int
		for _, g := range strings.Split(groups, ",") {
			if n, err := strconv.Atoi(g); err == nil {
				gs = append(gs, n)
			}
		}
		if err := syscall.Setgroups(gs); err != nil {
			return fmt.Errorf("cannot set groups: %w", err)
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("cannot set gid: %w", err)
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("cannot set uid: %w", err)
		}
	}
	if nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("cannot set no_new_privs: %w", err)
		}
	}
	return nil
}
