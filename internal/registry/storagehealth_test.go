package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
)

// stallDriver answers Stat after delay, or when its context ends if it
// honours contexts; nothing else of it is called.
type stallDriver struct {
	storagedriver.StorageDriver
	delay  time.Duration
	honour bool
}

func (stallDriver) Name() string { return "stall" }

func (d stallDriver) Stat(ctx context.Context, path string) (storagedriver.FileInfo, error) {
	done := ctx.Done()
	if !d.honour {
		done = nil
	}
	select {
	case <-time.After(d.delay):
		return nil, storagedriver.PathNotFoundError{Path: path}
	case <-done:
		return nil, ctx.Err()
	}
}

func TestAnswersWithin(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		d      stallDriver
		silent bool
	}{
		{"answers in time", stallDriver{delay: time.Millisecond}, false},
		{"silent, ignores its context", stallDriver{delay: time.Hour}, true},
		{"silent, gives up with its context", stallDriver{delay: time.Hour, honour: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := answersWithin(ctx, tc.d, 100*time.Millisecond)
			if got := errors.Is(err, errStorageSilent); got != tc.silent {
				t.Errorf("silent = %v (%v), want %v", got, err, tc.silent)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("the check took %s: it must not wait for the storage", took)
			}
		})
	}
}
