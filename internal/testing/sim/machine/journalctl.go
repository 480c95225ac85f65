package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// journalctl is the journal reader stand-in, for what charms ask of a
// unit's log: `journalctl -u UNIT [-n N] [-o cat] [--no-pager] [-q]`.
// Each unit's output is in the machine's journal directory, one line per
// line written, as `-o cat` prints it (systemd's own lines about the unit
// are the manager's "simmachine: ..." notes). The call goes through the
// agent as systemctl's do: the stand-in does not know where the journal is.
func journalctlMain(args []string) int {
	return systemctlMain(append([]string{journalVerb}, args...))
}

// journalVerb is the agent-side name of a journalctl call; no systemctl
// verb has that form.
const journalVerb = "--journalctl--"

func (m *manager) verbJournal(o *systemctlOut, args []string) {
	var unit string
	n := -1
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-u" || a == "--unit":
			if i+1 < len(args) {
				i++
				unit = args[i]
			}
		case strings.HasPrefix(a, "--unit="):
			unit = strings.TrimPrefix(a, "--unit=")
		case a == "-n" || a == "--lines":
			if i+1 < len(args) {
				i++
				n, _ = strconv.Atoi(args[i])
			}
		case strings.HasPrefix(a, "--lines="):
			n, _ = strconv.Atoi(strings.TrimPrefix(a, "--lines="))
		case a == "-o" || a == "--output":
			i++ // only cat is modelled
		}
	}
	if unit == "" {
		o.failf(1, "journalctl stand-in: only -u UNIT is supported")
		return
	}
	data, err := os.ReadFile(filepath.Join(m.logDir, unitName(unit)+".log"))
	if err != nil && !os.IsNotExist(err) {
		o.failf(1, "%v", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		fmt.Fprintln(&o.stdout, l)
	}
}
