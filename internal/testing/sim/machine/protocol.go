package machine

// The control API between a Machine (in the test process) and its agent:
// JSON bodies POSTed over HTTP on the unix socket <state>/agent.sock.
// Inside the machine the same API listens on an abstract socket, which
// the network namespace makes private to the machine; systemctl uses it.

const abstractSocket = "@simmachine-agent"

// runRequest runs one process: a hook, a command, a daemon.
type runRequest struct {
	Argv  []string
	Env   []string
	Dir   string
	Stdin []byte
	User  string // run as this user of the machine; "" = root
	Log   string // start only: file (host-visible) for stdout+stderr
}

type runResponse struct {
	ExitCode       int
	Stdout, Stderr []byte
}

type startResponse struct{ PID int }

type signalRequest struct {
	PID    int
	Signal int
}

type waitRequest struct{ PID int }

type fileRequest struct {
	Path string
	Data []byte
	Mode uint32
}

type deployRequest struct {
	Charm   string // host path of the .charm, visible in the machine
	Dir     string // charm dir inside the machine
	Upgrade bool
}

type systemctlRequest struct{ Args []string }

type errorResponse struct{ Error string }
