package charm

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/canonical/docker-registry-charm/internal/files"
	"github.com/canonical/docker-registry-charm/internal/image"
)

// maxListed is how many tags the images action puts in its results. Every
// result value goes to action-set as one process argument, which Linux
// caps at 128 KiB (and all of them together at a few MiB): a registry with
// thousands of tags made the action fail. The full list goes to a file.
const maxListed = 200

// imagesFile is the full listing of the last images action, replaced by
// each run: root-only, like everything the charm keeps.
func (c *Charm) imagesFile() string {
	return filepath.Join(c.Paths.StateDir(), "images.txt")
}

// imagesResults writes the full table to imagesFile and returns results
// that show at most maxListed tags, with counts and the file's path.
func (c *Charm) imagesResults(repos []image.Repo, details bool) (map[string]string, error) {
	path := c.imagesFile()
	if _, err := files.Write(files.File{Path: path, Content: []byte(image.FormatTable(repos, details)), Mode: 0o600}); err != nil {
		return nil, fmt.Errorf("cannot write the list of images: %w", err)
	}
	total := countTags(repos)
	shown := firstTags(repos, maxListed)
	output := image.FormatTable(shown, details)
	if total > maxListed {
		output += fmt.Sprintf("... %d more tags: the full list is in %s on the unit\n", total-maxListed, path)
	}
	out := map[string]string{
		"output":           output,
		"count":            fmt.Sprint(total),
		"repository-count": fmt.Sprint(len(repos)),
		"file":             path,
		"truncated":        fmt.Sprint(total > maxListed),
	}
	addRepoResults(out, shown, details)
	return out, nil
}

// firstTags is repos cut after n tags in all.
func firstTags(repos []image.Repo, n int) []image.Repo {
	var out []image.Repo
	for _, r := range repos {
		if n <= 0 {
			break
		}
		if len(r.Tags) > n {
			r.Tags = r.Tags[:n]
		}
		n -= len(r.Tags)
		out = append(out, r)
	}
	return out
}

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
