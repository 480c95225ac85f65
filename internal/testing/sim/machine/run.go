package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// run runs req to completion with its output captured in files, not
// pipes, so that a daemon a hook leaves behind cannot hold the result. The
// files are memfds: they cost no filesystem operations, which were a
// good part of what the simulator added to every hook.
func (a *agent) run(ctx context.Context, req runRequest) (runResponse, error) {
	stdin, err := memFile(req.Stdin)
	if err != nil {
		return runResponse{}, err
	}
	defer stdin.Close()
	stdout, err := memFile(nil)
	if err != nil {
		return runResponse{}, err
	}
	defer stdout.Close()
	stderr, err := memFile(nil)
	if err != nil {
		return runResponse{}, err
	}
	defer stderr.Close()
	p, code, err := a.spawn(req, []*os.File{stdin, stdout, stderr})
	if err != nil {
		return runResponse{ExitCode: code, Stderr: []byte(err.Error() + "\n")}, nil
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.signal(unix.SIGKILL, true)
		<-p.done
	}
	resp := runResponse{ExitCode: p.exitCode()}
	resp.Stdout, _ = readAll(stdout)
	resp.Stderr, _ = readAll(stderr)
	return resp, nil
}

// spawn starts req; when it cannot, it returns the exit code a shell
// would have given (126 not executable, 127 not found).
func (a *agent) spawn(req runRequest, files []*os.File) (*proc, int, error) {
	if len(req.Argv) == 0 {
		return nil, 127, errors.New("cannot run an empty command")
	}
	argv := append([]string(nil), req.Argv...)
	path, err := lookPath(argv[0], envValue(req.Env, "PATH"))
	if err != nil {
		return nil, execErrorCode(err), fmt.Errorf("cannot run %q: %w", argv[0], err)
	}
	argv[0] = path
	var cred *syscall.Credential
	if req.User != "" {
		acct, err := lookupAccount(req.User, "")
		if err != nil {
			return nil, 126, err
		}
		cred = &syscall.Credential{Uid: acct.UID, Gid: acct.GID, Groups: acct.Groups}
	}
	p, err := a.reaper.start(argv, req.Env, req.Dir, files, cred, false)
	if err != nil {
		return nil, execErrorCode(err), fmt.Errorf("cannot run %q: %w", req.Argv[0], err)
	}
	return p, 0, nil
}

func execErrorCode(err error) int {
	if errors.Is(err, os.ErrNotExist) {
		return 127
	}
	return 126
}

// lookPath finds name as exec.LookPath does, but on the PATH the process
// will get rather than the agent's own.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w in PATH %q", os.ErrNotExist, path)
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func memFile(data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("io", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot create memory file: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:io")
	if data != nil {
		if _, err := f.Write(data); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot write memory file: %w", err)
		}
		f.Seek(0, 0)
	}
	return f, nil
}

// readAll reads f from its start, whatever offset the process left.
func readAll(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, fi.Size())
	n, err := f.ReadAt(buf, 0)
	if err == io.EOF {
		err = nil
	}
	return buf[:n], err
}
