// Package outage reports a failing dependency the way an operator wants to
// read it: one warning when it starts failing and one line when it works
// again, not one line per attempt (a poller retrying every 5 seconds would
// write 720 lines in an hour-long outage and bury everything else;
// docs/deployment.md#logs).
package outage

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Watch follows one repeating operation (a poll, a sweep). Call Report
// after every attempt. The zero value is not usable: set Logger and Down.
type Watch struct {
	Logger *slog.Logger
	// Down is the warning written when the operation starts failing; the
	// first failure's error is attached. Back is the line written when it
	// succeeds again (default "<Down>: working again").
	Down, Back string
	// Now defaults to time.Now.
	Now func() time.Time

	mu       sync.Mutex
	down     bool
	since    time.Time
	failures int
}

// Report records the outcome of one attempt: err nil for a success.
func (w *Watch) Report(ctx context.Context, err error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case err != nil && !w.down:
		w.down, w.since, w.failures = true, now(), 1
		w.Logger.WarnContext(ctx, w.Down, "err", err)
	case err != nil:
		w.failures++
	case w.down:
		back := w.Back
		if back == "" {
			back = w.Down + ": working again"
		}
		// At the warning's level: whoever filters for the warning must
		// see that it is over.
		w.Logger.WarnContext(ctx, back, "down_for", now().Sub(w.since).Round(time.Millisecond), "failed_attempts", w.failures)
		w.down, w.failures = false, 0
	}
}

// IsDown reports whether the last attempt failed.
func (w *Watch) IsDown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}
