// Package charmconfig gives tests the charm's config.yaml defaults as Juju
// hands them to the charm (config-get --all): read with Juju's own charm
// library, options without a default left out.
package charmconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	jujucharm "github.com/juju/charm/v12"

	"github.com/canonical/docker-registry-charm/internal/config"
)

// Path is config.yaml at the top of the repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "config.yaml")
}

// Defaults is config.yaml's defaults as the charm's typed config.
func Defaults(t testing.TB) config.Config {
	t.Helper()
	f, err := os.Open(Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta, err := jujucharm.ReadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]any{}
	for k, v := range meta.DefaultSettings() {
		if v != nil {
			settings[k] = v
		}
	}
	data, err := json.Marshal(settings)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
