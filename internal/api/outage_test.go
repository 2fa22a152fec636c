package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// scriptedRevocations answers each poll with the error the test sends on
// next, so the test decides every poll's outcome.
type scriptedRevocations struct {
	store.RevocationStore
	next chan error
}

func (f *scriptedRevocations) RevocationsSince(ctx context.Context, _ time.Time) (store.Revocations, error) {
	select {
	case err := <-f.next:
		return store.Revocations{}, err
	case <-ctx.Done():
		return store.Revocations{}, ctx.Err()
	}
}

// TestRevocationOutageLoggedOnce checks that a revocation poller whose
// store fails for many polls says so once, and once that it works again,
// instead of once per poll (docs/deployment.md#logs).
func TestRevocationOutageLoggedOnce(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &buf}, nil))
	st := &scriptedRevocations{next: make(chan error)}
	r := &Revocations{Store: st, Interval: time.Millisecond, TokenLifetime: time.Hour, Logger: logger}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()

	answer := func(err error) {
		t.Helper()
		select {
		case st.next <- err:
		case <-time.After(10 * time.Second):
			t.Fatal("the poller stopped polling")
		}
	}
	answer(nil)
	for range 20 {
		answer(errors.New("postgres: timeout: context deadline exceeded"))
	}
	answer(nil)
	answer(nil)
	// Let the last poll's report be written before reading the log.
	answer(nil)
	cancel()
	<-done

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "revocation poll failed"); n != 1 {
		t.Errorf("got %d lines saying the poll fails, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "revocation poll works again"); n != 1 {
		t.Errorf("got %d lines saying the poll works again, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `"failed_attempts":20`) {
		t.Errorf("the line saying it works again does not count the 20 failed polls:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
