package machine

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// wrapperOptions is what the manager asks the exec wrapper to apply.
type wrapperOptions struct {
	uid, gid      int
	groups        []uint32
	ambient       string
	bounding      string
	boundingSet   bool
	noNewPrivs    bool
	umask, nofile string
	listenPID     bool
	argv0         string
	box           sandbox
}

// wrapperMain is "simmachine exec-wrapper [flags] -- argv...": it runs
// in the forked child of a service, applies what systemd applies between
// fork and exec, and execs the service in its own PID. Credentials,
// capabilities and no_new_privs are per thread in the kernel, so all of
// it happens on one locked thread, which then execs.
func wrapperMain(args []string) int {
	runtime.LockOSThread()
	o, argv, err := parseWrapper(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: %v\n", err)
		return 2
	}
	if err := o.box.apply(); err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: %v\n", err)
		return 226 // systemd's EXIT_NAMESPACE
	}
	if err := o.apply(); err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: %v\n", err)
		return 214
	}
	env := os.Environ()
	if o.listenPID {
		env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: cannot find %q: %v\n", argv[0], err)
		return 203
	}
	if o.argv0 != "" {
		argv[0] = o.argv0
	}
	err = syscall.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "simmachine exec-wrapper: cannot execute %q: %v\n", path, err)
	return 203
}

func parseWrapper(args []string) (*wrapperOptions, []string, error) {
	o := &wrapperOptions{}
	fs := flag.NewFlagSet("exec-wrapper", flag.ContinueOnError)
	fs.IntVar(&o.uid, "uid", -1, "")
	fs.IntVar(&o.gid, "gid", -1, "")
	fs.Func("groups", "", func(s string) error {
		for _, g := range strings.Split(s, ",") {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				o.groups = append(o.groups, uint32(n))
			}
		}
		return nil
	})
	fs.StringVar(&o.ambient, "ambient", "", "")
	fs.Func("bounding", "", func(s string) error { o.bounding, o.boundingSet = s, true; return nil })
	fs.BoolVar(&o.noNewPrivs, "no-new-privs", false, "")
	fs.StringVar(&o.umask, "umask", "", "")
	fs.StringVar(&o.nofile, "nofile", "", "")
	fs.BoolVar(&o.listenPID, "listen-pid", false, "")
	fs.StringVar(&o.argv0, "argv0", "", "")
	fs.StringVar(&o.box.ProtectSystem, "protect-system", "", "")
	fs.StringVar(&o.box.ProtectHome, "protect-home", "", "")
	fs.BoolVar(&o.box.PrivateTmp, "private-tmp", false, "")
	fs.Func("rw", "", func(s string) error { o.box.ReadWrite = append(o.box.ReadWrite, s); return nil })
	fs.Func("ro", "", func(s string) error { o.box.ReadOnly = append(o.box.ReadOnly, s); return nil })
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() == 0 {
		return nil, nil, fmt.Errorf("cannot run: no command")
	}
	return o, fs.Args(), nil
}

// apply sets, in order: umask, rlimits, the bounding set (needs
// CAP_SETPCAP, so before the user switch), the user, ambient
// capabilities (need the user's permitted set), no_new_privs.
func (o *wrapperOptions) apply() error {
	if o.umask != "" {
		m, err := strconv.ParseUint(o.umask, 8, 32)
		if err != nil {
			return fmt.Errorf("cannot parse UMask=%s: %w", o.umask, err)
		}
		unix.Umask(int(m))
	}
	if o.nofile != "" {
		if err := setNofile(o.nofile); err != nil {
			return err
		}
	}
	ambient, err := parseCaps(o.ambient)
	if err != nil {
		return err
	}
	if o.boundingSet {
		keep, err := parseCaps(o.bounding)
		if err != nil {
			return err
		}
		if err := dropBounding(keep | ambient); err != nil {
			return err
		}
	}
	if o.uid >= 0 {
		if err := switchUser(o.uid, o.gid, o.groups, ambient != 0); err != nil {
			return err
		}
	}
	if ambient != 0 {
		if err := raiseAmbient(ambient); err != nil {
			return err
		}
	}
	if o.noNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("cannot set no_new_privs: %w", err)
		}
	}
	return nil
}

func setNofile(v string) error {
	soft, hard, _ := strings.Cut(v, ":")
	if hard == "" {
		hard = soft
	}
	s, err1 := strconv.ParseUint(soft, 10, 64)
	h, err2 := strconv.ParseUint(hard, 10, 64)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("cannot parse LimitNOFILE=%s", v)
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: s, Max: h}); err != nil {
		return fmt.Errorf("cannot set LimitNOFILE=%s: %w", v, err)
	}
	return nil
}
