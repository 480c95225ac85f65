package image

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// FormatTable renders repositories as a table for the action's output:
// REPOSITORY TAG, and with details DIGEST PLATFORMS SIZE.
func FormatTable(repos []Repo, details bool) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if details {
		fmt.Fprintln(w, "REPOSITORY\tTAG\tDIGEST\tPLATFORMS\tSIZE")
	} else {
		fmt.Fprintln(w, "REPOSITORY\tTAG")
	}
	for _, r := range repos {
		for _, t := range r.Tags {
			if !details {
				fmt.Fprintf(w, "%s\t%s\n", r.Name, t.Name)
				continue
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, t.Name, detailDigest(t), platformsCell(t), sizeCell(t))
		}
	}
	w.Flush()
	return b.String()
}

func detailDigest(t Tag) string {
	if t.Err != nil {
		return "(unreadable: " + t.Err.Error() + ")"
	}
	return t.Digest
}

func platformsCell(t Tag) string {
	if len(t.Platforms) == 0 {
		return "-"
	}
	return strings.Join(t.Platforms, ",")
}

func sizeCell(t Tag) string {
	if t.Err != nil {
		return "-"
	}
	return humanBytes(t.Size)
}
