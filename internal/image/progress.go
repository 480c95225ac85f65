package image

import (
	"fmt"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// progressEvery spaces progress lines: an action log of a few lines per
// image, never one per chunk.
var progressEvery = 10 * time.Second

// watchProgress adds remote.WithProgress to opts and turns the updates
// into a line every progressEvery. The returned stop waits for the last
// update (ggcr closes the channel when the push ends).
func watchProgress(progress func(string), dest string, opts *[]remote.Option) (stop func()) {
	if progress == nil {
		return func() {}
	}
	updates := make(chan v1.Update, 256)
	*opts = append(*opts, remote.WithProgress(updates))
	done := make(chan struct{})
	go func() {
		defer close(done)
		summarise(updates, func(u v1.Update) {
			say(progress, "%s: %s of %s handled", dest, humanBytes(u.Complete), humanBytes(u.Total))
		})
	}()
	// ggcr closes the channel on every path but an invalid option; never hang on that.
	return func() {
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
}

func summarise(updates <-chan v1.Update, emit func(v1.Update)) {
	last := time.Now()
	for u := range updates {
		if u.Error != nil || time.Since(last) < progressEvery {
			continue
		}
		last = time.Now()
		emit(u)
	}
}

func say(progress func(string), format string, args ...any) {
	if progress != nil {
		progress(fmt.Sprintf(format, args...))
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
