package main

import (
	"bytes"
	"debug/elf"
	"fmt"

	"gopkg.in/yaml.v3"
)

// elfArch names the architecture a dispatch binary runs on, in Juju's
// terms. A charm must not claim a base it cannot run on: Juju would deploy
// it there and every hook would fail with "exec format error".
func elfArch(bin []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return "", fmt.Errorf("dispatch is not a Linux executable: %w", err)
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	case elf.EM_PPC64:
		return "ppc64el", nil
	case elf.EM_S390:
		return "s390x", nil
	case elf.EM_RISCV:
		return "riscv64", nil
	}
	return "", fmt.Errorf("dispatch is built for %v, which Juju does not run", f.Machine)
}

// manifestFor keeps, in every base of manifest.yaml, only arch: the source
// manifest lists what the charm supports, a packed charm what its binary
// runs on (charmcraft packs one charm per platform the same way).
func manifestFor(src []byte, arch string) ([]byte, error) {
	var m struct {
		Bases []struct {
			Name          string   `yaml:"name"`
			Channel       string   `yaml:"channel"`
			Architectures []string `yaml:"architectures"`
		} `yaml:"bases"`
	}
	if err := yaml.Unmarshal(src, &m); err != nil {
		return nil, fmt.Errorf("cannot parse manifest.yaml: %w", err)
	}
	kept := m.Bases[:0]
	for _, b := range m.Bases {
		for _, a := range b.Architectures {
			if a == arch {
				b.Architectures = []string{arch}
				kept = append(kept, b)
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("manifest.yaml supports no base on %s, the dispatch binary's architecture", arch)
	}
	m.Bases = kept
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cannot write manifest.yaml: %w", err)
	}
	return out, nil
}
