package machine

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Unit is one parsed systemd unit file: the desired state the service
// manager applies. It is plain data; the manager keeps runtime state apart.
type Unit struct {
	Name string // "registry.service"
	Kind string // "service" or "socket"

	Description string
	After       []string
	Before      []string
	Requires    []string
	Wants       []string

	// StartLimitBurst= starts within StartLimitIntervalSec= at most;
	// automatic restarts beyond it fail the unit (start-limit-hit).
	StartLimitBurst    int
	StartLimitInterval time.Duration

	Service ServiceSection
	Socket  SocketSection
	Install InstallSection

	// Directives holds every assignment as written, by "Section.Key",
	// in order, so that show -p can report directives the manager does
	// not act on (hardening options such as ProtectSystem).
	Directives map[string][]string
}

// ServiceSection is the part of [Service] the manager acts on.
type ServiceSection struct {
	Type             string // simple (default), exec, notify, oneshot
	ExecStart        []Command
	ExecStartPre     []Command
	ExecReload       []Command
	ExecStop         []Command
	User, Group      string
	Environment      []string // KEY=VALUE, in order
	EnvironmentFiles []string // "-" prefix kept: optional file
	WorkingDirectory string
	Restart          string // no (default), always, on-failure, on-abnormal
	RestartSec       time.Duration
	TimeoutStopSec   time.Duration
	TimeoutStartSec  time.Duration // how long Type=notify may take to send READY=1
	KillSignal       string        // SIGTERM by default
	KillMode         string
	RemainAfterExit  bool
	Sockets          []string
	NoNewPrivileges  bool
	UMask            string
	LimitNOFILE      string
	// RuntimeDirectory= names, relative to /run, created owned by User=
	// with RuntimeDirectoryMode= when the service starts and removed when
	// it stops (RuntimeDirectoryPreserve= no, the default, or restart).
	RuntimeDirectory         []string
	RuntimeDirectoryMode     string
	RuntimeDirectoryPreserve string
}

// SocketSection is the part of [Socket] the manager acts on.
type SocketSection struct {
	ListenStream []string
	Service      string // the service activated; default <name>.service
	Accept       bool
	FDName       string
}

// InstallSection lists the targets "systemctl enable" links the unit into.
type InstallSection struct {
	WantedBy   []string
	RequiredBy []string
	Also       []string
}

// Command is one Exec*= line: argv plus the systemd prefixes that change
// how it runs.
type Command struct {
	Argv          []string
	IgnoreFail    bool // "-"
	Privileged    bool // "+": ignore User=/Group=
	Argv0Override bool // "@": Argv[1] is argv[0]
}

// Defaults as systemd documents them.
const (
	DefaultRestartSec     = 100 * time.Millisecond
	DefaultTimeoutStopSec = 90 * time.Second
)

// ParseUnit parses the unit file named name (e.g. "registry.service").
// It accepts what systemd accepts for the directives it knows and
// records all others; it fails on syntax it cannot read and on values
// the manager would act on wrongly (bad Restart=, unsupported Type=).
func ParseUnit(name string, data []byte) (*Unit, error) {
	u := &Unit{Name: name, Directives: map[string][]string{}}
	switch path.Ext(name) {
	case ".service":
		u.Kind = "service"
	case ".socket":
		u.Kind = "socket"
	default:
		return nil, fmt.Errorf("cannot parse unit %q: unsupported unit type", name)
	}
	u.StartLimitBurst, u.StartLimitInterval = 5, 10*time.Second
	u.Service.RestartSec = DefaultRestartSec
	u.Service.TimeoutStopSec = DefaultTimeoutStopSec
	u.Service.TimeoutStartSec = DefaultTimeoutStopSec
	u.Service.KillSignal = "SIGTERM"
	u.Service.Type = "simple"
	u.Service.Restart = "no"
	entries, err := splitUnitFile(data)
	if err != nil {
		return nil, fmt.Errorf("cannot parse unit %q: %w", name, err)
	}
	for _, e := range entries {
		if err := u.set(e); err != nil {
			return nil, fmt.Errorf("cannot parse unit %q line %d: %w", name, e.line, err)
		}
	}
	return u, u.check()
}

type unitEntry struct {
	line       int
	section    string
	key, value string
}

// splitUnitFile reads sections, comments and continuation lines.
func splitUnitFile(data []byte) ([]unitEntry, error) {
	var entries []unitEntry
	var section, pending string
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending == "" {
			start = n
			if line == "" || line[0] == '#' || line[0] == ';' {
				continue
			}
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, pending = pending+line, ""
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", start, line)
			}
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: missing '=' in %q", start, line)
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: assignment outside of a section", start)
		}
		entries = append(entries, unitEntry{start, section, strings.TrimSpace(key), strings.TrimSpace(value)})
	}
	return entries, sc.Err()
}

func (u *Unit) set(e unitEntry) error {
	k := e.section + "." + e.key
	if e.value == "" {
		u.Directives[k] = []string{} // an empty assignment resets a list
	} else {
		u.Directives[k] = append(u.Directives[k], e.value)
	}
	switch e.section {
	case "Unit":
		return u.setUnit(e.key, e.value)
	case "Service":
		if strings.HasPrefix(e.key, "StartLimit") {
			return u.setUnit(e.key, e.value) // the pre-230 place for them
		}
		return u.Service.set(e.key, e.value)
	case "Socket":
		return u.Socket.set(e.key, e.value)
	case "Install":
		return u.Install.set(e.key, e.value)
	}
	return nil
}

func (u *Unit) setUnit(key, value string) error {
	switch key {
	case "Description":
		u.Description = value
	case "After":
		u.After = appendWords(u.After, value)
	case "Before":
		u.Before = appendWords(u.Before, value)
	case "Requires":
		u.Requires = appendWords(u.Requires, value)
	case "Wants":
		u.Wants = appendWords(u.Wants, value)
	case "StartLimitBurst":
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("cannot parse StartLimitBurst=%s: %w", value, err)
		}
		u.StartLimitBurst = n
	case "StartLimitIntervalSec", "StartLimitInterval":
		d, err := ParseTimespan(value)
		if err != nil {
			return err
		}
		u.StartLimitInterval = d
	}
	return nil
}

func (s *ServiceSection) set(key, value string) error {
	var err error
	switch key {
	case "Type":
		s.Type = value
	case "ExecStart":
		s.ExecStart, err = appendCommand(s.ExecStart, value)
	case "ExecStartPre":
		s.ExecStartPre, err = appendCommand(s.ExecStartPre, value)
	case "ExecReload":
		s.ExecReload, err = appendCommand(s.ExecReload, value)
	case "ExecStop":
		s.ExecStop, err = appendCommand(s.ExecStop, value)
	case "User":
		s.User = value
	case "Group":
		s.Group = value
	case "Environment":
		if value == "" {
			s.Environment = nil
			return nil
		}
		words, err := SplitQuoted(value)
		if err != nil {
			return fmt.Errorf("cannot parse Environment=: %w", err)
		}
		s.Environment = append(s.Environment, words...)
	case "EnvironmentFile":
		s.EnvironmentFiles = appendList(s.EnvironmentFiles, value)
	case "WorkingDirectory":
		s.WorkingDirectory = value
	case "Restart":
		s.Restart = value
	case "RestartSec":
		s.RestartSec, err = ParseTimespan(value)
	case "TimeoutStopSec":
		s.TimeoutStopSec, err = ParseTimespan(value)
	case "TimeoutStartSec":
		s.TimeoutStartSec, err = ParseTimespan(value)
	case "TimeoutSec":
		s.TimeoutStopSec, err = ParseTimespan(value)
		s.TimeoutStartSec = s.TimeoutStopSec
	case "KillSignal":
		s.KillSignal = value
	case "KillMode":
		s.KillMode = value
	case "RemainAfterExit":
		s.RemainAfterExit, err = parseBool(value)
	case "Sockets":
		s.Sockets = appendWords(s.Sockets, value)
	case "NoNewPrivileges":
		s.NoNewPrivileges, err = parseBool(value)
	case "UMask":
		s.UMask = value
	case "LimitNOFILE":
		s.LimitNOFILE = value
	case "RuntimeDirectory":
		for _, d := range strings.Fields(value) {
			if path.IsAbs(d) || d != path.Clean(d) || strings.HasPrefix(d, "..") {
				return fmt.Errorf("RuntimeDirectory=%s: not a relative path below /run", d)
			}
		}
		s.RuntimeDirectory = appendWords(s.RuntimeDirectory, value)
	case "RuntimeDirectoryMode":
		if _, perr := strconv.ParseUint(value, 8, 32); perr != nil {
			return fmt.Errorf("cannot parse RuntimeDirectoryMode=%s: %w", value, perr)
		}
		s.RuntimeDirectoryMode = value
	case "RuntimeDirectoryPreserve":
		s.RuntimeDirectoryPreserve = value
	}
	return err
}

func (s *SocketSection) set(key, value string) error {
	var err error
	switch key {
	case "ListenStream":
		s.ListenStream = appendList(s.ListenStream, value)
	case "Service":
		s.Service = value
	case "Accept":
		s.Accept, err = parseBool(value)
	case "FileDescriptorName":
		s.FDName = value
	}
	return err
}

func (s *InstallSection) set(key, value string) error {
	switch key {
	case "WantedBy":
		s.WantedBy = appendWords(s.WantedBy, value)
	case "RequiredBy":
		s.RequiredBy = appendWords(s.RequiredBy, value)
	case "Also":
		s.Also = appendWords(s.Also, value)
	}
	return nil
}

// check rejects what the manager cannot run faithfully, so a test fails
// loudly instead of passing against semantics systemd would not have.
func (u *Unit) check() error {
	switch u.Service.Restart {
	case "no", "always", "on-failure", "on-abnormal", "on-success", "on-abort", "on-watchdog":
	default:
		return fmt.Errorf("cannot parse unit %q: invalid Restart=%q", u.Name, u.Service.Restart)
	}
	if _, err := ParseSignal(u.Service.KillSignal); err != nil {
		return fmt.Errorf("cannot parse unit %q: %w", u.Name, err)
	}
	if u.Kind == "socket" {
		if u.Socket.Accept {
			return fmt.Errorf("cannot parse unit %q: Accept=yes is not supported", u.Name)
		}
		if len(u.Socket.ListenStream) == 0 {
			return fmt.Errorf("cannot parse unit %q: no ListenStream=", u.Name)
		}
		return nil
	}
	switch u.Service.Type {
	case "simple", "exec", "notify", "oneshot":
	default:
		return fmt.Errorf("cannot parse unit %q: Type=%s is not supported", u.Name, u.Service.Type)
	}
	if len(u.Service.ExecStart) == 0 {
		return fmt.Errorf("cannot parse unit %q: service has no ExecStart=", u.Name)
	}
	if len(u.Service.ExecStart) > 1 && u.Service.Type != "oneshot" {
		return fmt.Errorf("cannot parse unit %q: more than one ExecStart= for Type=%s", u.Name, u.Service.Type)
	}
	return nil
}

// ServiceName is the service a socket unit activates.
func (u *Unit) ServiceName() string {
	if u.Socket.Service != "" {
		return u.Socket.Service
	}
	return strings.TrimSuffix(u.Name, ".socket") + ".service"
}

// Directive returns the value of "Section.Key" as show -p prints it
// (list values joined by spaces), and whether it was set.
func (u *Unit) Directive(key string) (string, bool) {
	v, ok := u.Directives[key]
	return strings.Join(v, " "), ok
}

func appendWords(list []string, value string) []string {
	if value == "" {
		return nil
	}
	return append(list, strings.Fields(value)...)
}

func appendList(list []string, value string) []string {
	if value == "" {
		return nil
	}
	return append(list, value)
}

func appendCommand(list []Command, value string) ([]Command, error) {
	if value == "" {
		return nil, nil
	}
	c, err := ParseCommand(value)
	if err != nil {
		return nil, err
	}
	return append(list, c), nil
}

// ParseCommand parses an Exec*= value: prefixes, then a quoted command line.
func ParseCommand(value string) (Command, error) {
	var c Command
	for len(value) > 0 && strings.ContainsRune("-@+!:", rune(value[0])) {
		switch value[0] {
		case '-':
			c.IgnoreFail = true
		case '+':
			c.Privileged = true
		case '@':
			c.Argv0Override = true
		}
		value = value[1:]
	}
	argv, err := SplitQuoted(value)
	if err != nil {
		return c, fmt.Errorf("cannot parse command line %q: %w", value, err)
	}
	if len(argv) == 0 {
		return c, fmt.Errorf("cannot parse command line %q: empty", value)
	}
	c.Argv = argv
	return c, nil
}

// SplitQuoted splits words the way systemd does for Exec*= and
// Environment=: whitespace separates, single and double quotes group,
// a backslash escapes the next character.
func SplitQuoted(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(unescape(r))
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func unescape(r rune) rune {
	switch r {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	}
	return r
}

// ParseTimespan parses systemd time spans: "5", "5s", "100ms", "1min 30s".
func ParseTimespan(s string) (time.Duration, error) {
	if s == "infinity" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	var total time.Duration
	for _, f := range strings.Fields(s) {
		f = strings.NewReplacer("min", "m", "sec", "s", "hour", "h").Replace(f)
		d, err := time.ParseDuration(f)
		if err != nil {
			return 0, fmt.Errorf("cannot parse time span %q: %w", s, err)
		}
		total += d
	}
	return total, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("cannot parse boolean %q", s)
}
