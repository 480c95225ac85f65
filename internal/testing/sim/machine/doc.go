// Package machine simulates the machines a charm is deployed to, so that
// end-to-end tests run the packed charm, its daemons and their clients
// side by side on one host, each isolated.
//
// A Cloud is one private L2 segment: a bridge inside a namespace of its
// own, so the host namespace gets no address or route. Each Machine is a
// network namespace with a veth into that bridge and its own address,
// and an agent process ("simmachine agent") that is PID 1 of new PID,
// mount and UTS namespaces. The agent mounts overlays over /etc, /srv,
// /opt, /var, /usr/local, /root and /run (upper layers in the machine's
// state dir, so they survive Reboot), mounts a /proc for its PID
// namespace, and serves a control API on <state>/agent.sock. /tmp, /sys
// and /dev are the host's.
//
// The agent is also the machine's service manager. systemctl on the
// machine's PATH (the same binary under that name) reaches it on an
// abstract unix socket, which the network namespace keeps private to
// the machine. Units are read from /etc/systemd/system only; that
// directory starts empty (opaque in the overlay), so units the host has
// installed are neither seen nor started at boot.
//
// Service semantics implemented: Type=simple|exec, notify (NOTIFY_SOCKET;
// start waits for READY=1 up to TimeoutStartSec=, STATUS= is StatusText)
// and oneshot (RemainAfterExit=);
// ExecStart, ExecStartPre, ExecReload ($MAINPID), ExecStop; prefixes
// "-", "+", "@"; $VAR, ${VAR}, $$ and %n %N %p %i %% expansion;
// Environment= (quoted, repeated), EnvironmentFile= (optional "-");
// WorkingDirectory=; User=/Group= from the machine's own /etc/passwd and
// /etc/group (with supplementary groups); Restart=always|on-failure|
// on-abnormal|on-success|no with RestartSec=; KillSignal=, TimeoutStopSec=
// then SIGKILL; KillMode=control-group (default), mixed, process: with no
// cgroups, a service's processes are those carrying its INVOCATION_ID in
// their environment (children keep it across setsid) or in its process
// group, and they are also killed when the main process exits;
// Requires=/Wants=/Sockets= start dependencies, and a stop or restart
// of a unit also stops or restarts the active units that Require= it;
// After=/Before= order boot. Automatic restarts obey StartLimitBurst=
// and StartLimitIntervalSec= (default 5 in 10 s; then failed with
// Result=start-limit-hit until reset-failed).
// Socket units: ListenStream= (port, addr:port, [v6]:port, /path), held
// open by the manager across service stop/start and passed as fd 3+ with
// LISTEN_FDS, LISTEN_PID (set in the child by the exec wrapper) and
// LISTEN_FDNAMES; Service= or the same-name service; Accept=no only; a
// connection on an active socket whose service is not running starts it.
// enable/disable write and remove the .wants/.requires links on disk
// (WantedBy=, RequiredBy=, Also=), and boot starts what is linked.
//
// Enforced hardening: NoNewPrivileges=, UMask=, LimitNOFILE=,
// CapabilityBoundingSet= (also "~" lists), AmbientCapabilities= (so an
// unprivileged User= can bind a port below 1024), and, in a mount
// namespace of the service's own: ProtectSystem=yes|full|strict
// (read-only remounts; /dev, /proc, /sys stay), ReadWritePaths= and
// ReadOnlyPaths= (a missing path without "-" fails the start with status
// 226, as in systemd), ProtectHome=yes|read-only|tmpfs, PrivateTmp=
// (fresh /tmp and /var/tmp), RuntimeDirectory= (/run/<name> owned by
// User=/Group= with RuntimeDirectoryMode=, writable under ProtectSystem=,
// $RUNTIME_DIRECTORY, removed on stop unless RuntimeDirectoryPreserve=).
// A "+" command gets none of it. Every other directive (PrivateDevices=,
// SystemCallFilter=, MemoryDenyWriteExecute=, ProtectProc=, ProcSubset=,
// RestrictNamespaces=, ...) is parsed, recorded and reported by
// "systemctl show -p", not enforced; so are the resource limits
// MemoryMax= and TasksMax=, since there are no cgroups here (unit tests
// score the hardening with systemd-analyze instead).
//
// systemctl verbs: daemon-reload, start, stop, restart, reload,
// try-restart, reload-or-restart, enable [--now], disable [--now],
// is-active (3 when inactive), is-enabled, is-failed, show [-p ...]
// [--value], status, list-units [--all], cat, reset-failed. Other flags
// (--no-pager, --quiet, --no-block, ...) are accepted.
package machine
