package charm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Disk is the space of the filesystem holding the registry's data.
type Disk struct {
	Size, Avail uint64 // bytes; Avail is what an unprivileged writer gets
}

// Thresholds past which status says the data filesystem is full: a push
// writes its layers before it can be refused, so status must say so
// before the last bytes go, not when a push already failed.
const (
	fullPercent = 95
	fullBytes   = 128 << 20
)

// statDisk reads a filesystem's space: one statfs, no process, so
// update-status can afford it. Zero when it cannot be read.
func statDisk(dir string) Disk {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return Disk{}
	}
	bs := uint64(fs.Bsize)
	return Disk{Size: fs.Blocks * bs, Avail: fs.Bavail * bs}
}

func (d Disk) percentUsed() int {
	if d.Size == 0 {
		return 0
	}
	return int((d.Size - min(d.Avail, d.Size)) * 100 / d.Size)
}

func (d Disk) full() bool {
	return d.Size > 0 && (d.percentUsed() >= fullPercent || d.Avail < fullBytes)
}

// used is "71% of 200 GiB used".
func (d Disk) used() string {
	return fmt.Sprintf("%d%% of %s used", d.percentUsed(), bytesText(d.Size))
}

// String is "97% full (1.2 GiB free)".
func (d Disk) String() string {
	return fmt.Sprintf("%d%% full (%s free)", d.percentUsed(), bytesText(d.Avail))
}

func bytesText(n uint64) string {
	const gib, mib = 1 << 30, 1 << 20
	switch {
	case n >= 10*gib:
		return fmt.Sprintf("%d GiB", n/gib)
	case n >= gib:
		return fmt.Sprintf("%.1f GiB", float64(n)/gib)
	}
	return fmt.Sprintf("%d MiB", n/mib)
}
