package registry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/health"
	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/factory"
	"github.com/sirupsen/logrus"
)

// distribution's storage health check waits for its storage as long as it
// takes. S3 behind a network that drops packets (rather than refusing them)
// never answers, so the check never fails: the registry keeps taking
// requests that hang, and the charm keeps saying Ready. This second check
// asks the same question of the same storage with a deadline, and fails
// on silence only: every other failure is the upstream check's to report.

// errStorageSilent is a storage that did not answer within the deadline.
var errStorageSilent = errors.New("storage did not answer")

// watchStorageDeadline registers, in reg, a check named
// storagedriver_<type>_timeout that fails when cfg's storage does not
// answer within the health check's interval, threshold times in a row.
// It polls until ctx ends. The in-memory driver lives in its instance, so
// it has nothing to watch.
func watchStorageDeadline(ctx context.Context, cfg *configuration.Configuration, reg *health.Registry) {
	hc := cfg.Health.StorageDriver
	typ := cfg.Storage.Type()
	if !hc.Enabled || typ == "inmemory" {
		return
	}
	interval := hc.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	// A driver of our own: the App's is not reachable, and one more client
	// of the same storage costs nothing until it is asked.
	d, err := factory.Create(ctx, typ, cfg.Storage.Parameters())
	if err != nil {
		logrus.Warnf("storage deadline check not started: %v", err)
		return
	}
	u := health.NewThresholdStatusUpdater(hc.Threshold)
	reg.Register(fmt.Sprintf("storagedriver_%s_timeout", typ), u)
	go health.Poll(ctx, u, health.CheckFunc(func(ctx context.Context) error {
		return answersWithin(ctx, d, interval)
	}), interval)
}

// answersWithin stats the storage root, giving up after deadline. The
// driver is asked to stop then too (its calls take a context), but a
// driver that ignores it only leaves a goroutine waiting, not the check.
func answersWithin(ctx context.Context, d storagedriver.StorageDriver, deadline time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = d.Stat(ctx, "/")
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// A driver that honours the context returns as the deadline passes,
	// which is silence too.
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		logrus.Errorf("storage deadline check: %s storage did not answer within %s", d.Name(), deadline)
		return fmt.Errorf("%w within %s", errStorageSilent, deadline)
	}
	return nil
}
