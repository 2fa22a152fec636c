package outage

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestWatchSaysOnceDownAndOnceBack(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Watch{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Down: "poll failed", Now: func() time.Time { return now }}
	ctx := context.Background()
	w.Report(ctx, nil)
	for range 5 {
		w.Report(ctx, errors.New("timeout"))
		now = now.Add(time.Second)
	}
	if !w.IsDown() {
		t.Error("IsDown after failures: got false")
	}
	w.Report(ctx, nil)
	w.Report(ctx, nil)
	out := buf.String()
	if n := strings.Count(out, `msg="poll failed"`); n != 1 {
		t.Errorf("got %d down lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, `msg="poll failed: working again"`); n != 1 || !strings.Contains(out, "down_for=5s") || !strings.Contains(out, "failed_attempts=5") {
		t.Errorf("want one line saying it works again after 5s and 5 failures:\n%s", out)
	}
	if w.IsDown() {
		t.Error("IsDown after a success: got true")
	}
}
