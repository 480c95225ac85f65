package sim

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// InstallTools makes dir a Juju tools directory: a copy of the jujutool
// binary plus a symlink to it under every hook tool name. Put dir first
// on the hook's PATH.
func InstallTools(dir, jujutoolBinary string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot install hook tools: %w", err)
	}
	dst := filepath.Join(dir, "jujutool")
	if err := copyExecutable(jujutoolBinary, dst); err != nil {
		return fmt.Errorf("cannot install hook tools: %w", err)
	}
	for _, name := range ToolNames() {
		link := filepath.Join(dir, name)
		_ = os.Remove(link)
		if err := os.Symlink("jujutool", link); err != nil {
			return fmt.Errorf("cannot install hook tools: %w", err)
		}
	}
	return nil
}

func copyExecutable(src, dst string) error {
	if same, _ := filepath.Abs(src); same == dst {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// Rename, so a tool running from an old copy is never overwritten.
	return os.Rename(tmp, dst)
}
