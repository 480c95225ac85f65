package charm

import (
	"context"
	"sync"

	"github.com/canonical/docker-registry-charm/internal/juju"
)

// group runs independent hook-tool calls at once and keeps the first
// error. (golang.org/x/sync/errgroup does this too; it is not worth a new
// dependency for a dozen lines.)
type group struct {
	wg   sync.WaitGroup
	once sync.Once
	err  error
}

// Go runs f in its own goroutine.
func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	}()
}

// Wait waits for every f and returns the first error.
func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// limitRunner bounds how many hook tools run at once, so a unit with many
// relations does not start dozens of processes together.
type limitRunner struct {
	juju.Runner
	slots chan struct{}
}

const maxParallelTools = 10

func limited(r juju.Runner) juju.Runner {
	if _, ok := r.(*limitRunner); ok {
		return r
	}
	return &limitRunner{Runner: r, slots: make(chan struct{}, maxParallelTools)}
}

func (l *limitRunner) Run(ctx context.Context, stdin []byte, tool string, args ...string) ([]byte, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.slots }()
	return l.Runner.Run(ctx, stdin, tool, args...)
}
