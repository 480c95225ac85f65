package charm

import (
	"fmt"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/image"
)

func countTags(repos []image.Repo) int {
	n := 0
	for _, r := range repos {
		n += len(r.Tags)
	}
	return n
}

// addRepoResults adds structured keys next to the table:
// repositories.<n>.name and repositories.<n>.tags, with per-tag details
// when asked for.
func addRepoResults(out map[string]string, repos []image.Repo, details bool) {
	for i, r := range repos {
		key := fmt.Sprintf("repositories.%d.", i)
		out[key+"name"] = r.Name
		names := make([]string, 0, len(r.Tags))
		for j, t := range r.Tags {
			names = append(names, t.Name)
			if !details {
				continue
			}
			tk := fmt.Sprintf("%stags.%d.", key, j)
			out[tk+"name"] = t.Name
			out[tk+"digest"] = t.Digest
			out[tk+"platforms"] = strings.Join(t.Platforms, ",")
			out[tk+"size"] = fmt.Sprint(t.Size)
		}
		if !details {
			out[key+"tags"] = strings.Join(names, " ")
		}
	}
}

func deletedResults(deleted []image.Deleted) map[string]string {
	out := map[string]string{}
	lines := make([]string, 0, len(deleted))
	for i, d := range deleted {
		key := fmt.Sprintf("deleted.%d.", i)
		out[key+"ref"] = d.Ref
		out[key+"repository"] = d.Repository
		out[key+"digest"] = d.Digest
		out[key+"tags"] = strings.Join(d.Tags, " ")
		line := fmt.Sprintf("deleted %s@%s", d.Repository, d.Digest)
		if len(d.Tags) > 0 {
			line += " (tags: " + strings.Join(d.Tags, ", ") + ")"
		}
		lines = append(lines, line)
	}
	if len(lines) > 0 {
		out["output"] = strings.Join(lines, "\n")
	}
	return out
}
