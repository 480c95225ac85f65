// Package tree checks the shape of the module's dependency graph: product
// code (what ships in the charm and what packs it) never depends on test
// support, so nothing a test needs can leak into the binary Juju runs.
package tree

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/canonical/docker-registry-charm"

// product is what ships or packs: every command, every internal package
// except the test support, and the charm packer.
var product = []string{"./cmd/...", "./internal/...", "./tools/mkcharm"}

// testSupport says whether a package exists for tests only.
func testSupport(path string) bool {
	return path == "testing" || strings.HasPrefix(path, "testing/") ||
		under(path, module+"/internal/testing") ||
		under(path, module+"/internal/pki/pkitest") ||
		under(path, module+"/tests")
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestProductNeverDependsOnTestSupport(t *testing.T) {
	graph := goList(t, append([]string{"-deps"}, product...)...)
	checked := 0
	for _, p := range goList(t, product...) {
		if testSupport(p.ImportPath) {
			continue
		}
		checked++
		for _, d := range graph[p.ImportPath].Deps {
			if testSupport(d) {
				t.Errorf("%s depends on test support %s: %s", p.ImportPath, d, strings.Join(importChain(graph, p.ImportPath, d), " -> "))
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d product packages found: the patterns %v no longer match the tree", checked, product)
	}
}

// importChain is a shortest chain of imports from from to to.
func importChain(graph map[string]pkg, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var chain []string
			for p := to; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, next := range graph[cur].Imports {
			if _, seen := prev[next]; !seen {
				prev[next] = cur
				queue = append(queue, next)
			}
		}
	}
	return []string{from, "…", to}
}

// goList runs go list -json from the module root and returns the
// packages by import path.
func goList(t *testing.T, args ...string) map[string]pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderr.Bytes())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("cannot decode go list's output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}
