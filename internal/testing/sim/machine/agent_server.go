package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/juju/charm/v12"
	"golang.org/x/sys/unix"
)

// handler routes the control API; every call is a JSON POST.
func (a *agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/run", serve(a.run))
	mux.HandleFunc("/start", serve(a.start))
	mux.HandleFunc("/signal", serve(a.signal))
	mux.HandleFunc("/wait", serve(a.wait))
	mux.HandleFunc("/write-file", serve(a.writeFile))
	mux.HandleFunc("/read-file", serve(a.readFile))
	mux.HandleFunc("/deploy", serve(a.deploy))
	mux.HandleFunc("/systemctl", serve(func(_ context.Context, r systemctlRequest) (runResponse, error) {
		return a.mgr.systemctl(r.Args), nil
	}))
	mux.HandleFunc("/shutdown", serve(a.shutdown))
	return mux
}

func serve[Req, Resp any](f func(context.Context, Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, errorResponse{fmt.Sprintf("cannot decode request: %v", err)})
			return
		}
		resp, err := f(r.Context(), req)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, errorResponse{err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// start starts a long-running process whose output goes to req.Log.
func (a *agent) start(_ context.Context, req runRequest) (startResponse, error) {
	log, err := os.OpenFile(req.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return startResponse{}, fmt.Errorf("cannot open log: %w", err)
	}
	defer log.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		return startResponse{}, err
	}
	defer null.Close()
	p, _, err := a.spawn(req, []*os.File{null, log, log})
	if err != nil {
		return startResponse{}, err
	}
	a.mu.Lock()
	a.daemons[p.pid] = p
	a.mu.Unlock()
	return startResponse{PID: p.pid}, nil
}

func (a *agent) daemon(pid int) (*proc, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.daemons[pid]
	if p == nil {
		return nil, fmt.Errorf("cannot find process %d", pid)
	}
	return p, nil
}

func (a *agent) signal(_ context.Context, req signalRequest) (struct{}, error) {
	p, err := a.daemon(req.PID)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.signal(unix.Signal(req.Signal), false)
}

func (a *agent) wait(ctx context.Context, req waitRequest) (runResponse, error) {
	p, err := a.daemon(req.PID)
	if err != nil {
		return runResponse{}, err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return runResponse{}, ctx.Err()
	}
	return runResponse{ExitCode: p.exitCode()}, nil
}

func (a *agent) writeFile(_ context.Context, req fileRequest) (struct{}, error) {
	if err := os.MkdirAll(filepath.Dir(req.Path), 0o755); err != nil {
		return struct{}{}, fmt.Errorf("cannot create parent of %s: %w", req.Path, err)
	}
	if err := os.WriteFile(req.Path, req.Data, os.FileMode(req.Mode)); err != nil {
		return struct{}{}, fmt.Errorf("cannot write %s: %w", req.Path, err)
	}
	// WriteFile keeps the mode of an existing file; the caller asked for this one.
	return struct{}{}, os.Chmod(req.Path, os.FileMode(req.Mode))
}

func (a *agent) readFile(_ context.Context, req fileRequest) (fileRequest, error) {
	data, err := os.ReadFile(req.Path)
	if err != nil {
		return fileRequest{}, err
	}
	return fileRequest{Path: req.Path, Data: data}, nil
}

// deploy unpacks a charm the way the unit agent does: ReadCharmArchive
// and ExpandTo, so file modes come from the zip headers exactly. An
// upgrade first removes the files of the previous archive, keeping what
// the charm itself created in its directory.
func (a *agent) deploy(_ context.Context, req deployRequest) (struct{}, error) {
	ch, err := charm.ReadCharmArchive(req.Charm)
	if err != nil {
		return struct{}{}, fmt.Errorf("cannot read charm %s: %w", req.Charm, err)
	}
	manifest := filepath.Join(filepath.Dir(req.Dir), "charm-manifest.json")
	if req.Upgrade {
		removeManifest(req.Dir, manifest)
	}
	if err := ch.ExpandTo(req.Dir); err != nil {
		return struct{}{}, fmt.Errorf("cannot expand charm into %s: %w", req.Dir, err)
	}
	members, err := ch.ArchiveMembers()
	if err != nil {
		return struct{}{}, fmt.Errorf("cannot list charm members: %w", err)
	}
	data, _ := json.Marshal(members.SortedValues())
	return struct{}{}, os.WriteFile(manifest, data, 0o644)
}

func removeManifest(dir, manifest string) {
	data, err := os.ReadFile(manifest)
	if err != nil {
		return
	}
	var members []string
	json.Unmarshal(data, &members)
	for i := len(members) - 1; i >= 0; i-- { // children before parents
		p := filepath.Join(dir, members[i])
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			os.Remove(p) // only if empty
		} else {
			os.Remove(p)
		}
	}
}

// shutdown kills every process of the machine and exits: power off.
func (a *agent) shutdown(_ context.Context, _ struct{}) (struct{}, error) {
	a.mgr.shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := unix.Wait4(-1, nil, unix.WNOHANG, nil); n < 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		os.Exit(0)
	}()
	return struct{}{}, nil
}
