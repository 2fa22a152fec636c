package aries_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// limited answers 429 with the given headers to the first n requests, then
// 200.
func limited(t *testing.T, n int64, header func() http.Header) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= n {
			for k, v := range header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"rate_limited","error_description":"too many requests"}`))
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// recordSleeps makes the client's retry waits instant and records them.
func recordSleeps(c *aries.Client, now func() time.Time) *[]time.Duration {
	var waits []time.Duration
	aries.SetClock(c, now, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	})
	return &waits
}

func TestRetryOf429(t *testing.T) {
	fixed := time.Unix(1_800_000_000, 0)
	retryAfter := func(v string) func() http.Header {
		return func() http.Header { return http.Header{"Retry-After": {v}} }
	}
	tests := []struct {
		name      string
		policy    aries.RetryPolicy
		limitedN  int64
		header    func() http.Header
		method    string
		key       string // Idempotency-Key
		wantHits  int64
		wantWaits []time.Duration
		wantErr   bool
	}{
		{"Retry-After honoured", aries.RetryPolicy{MaxAttempts: 3}, 2, retryAfter("2"), "GET", "",
			3, []time.Duration{2 * time.Second, 2 * time.Second}, false},
		{"X-RateLimit-Reset honoured", aries.RetryPolicy{MaxAttempts: 3}, 1,
			func() http.Header { return http.Header{"X-Ratelimit-Reset": {itoa(fixed.Unix() + 5)}} }, "GET", "",
			2, []time.Duration{5 * time.Second}, false},
		{"no header: backoff", aries.RetryPolicy{MaxAttempts: 3}, 2, func() http.Header { return nil }, "GET", "",
			3, []time.Duration{time.Second, 2 * time.Second}, false},
		{"bounded in attempts", aries.RetryPolicy{MaxAttempts: 3}, 10, retryAfter("1"), "GET", "",
			3, []time.Duration{time.Second, time.Second}, true},
		{"bounded in time", aries.RetryPolicy{MaxAttempts: 5, MaxWait: 10 * time.Second}, 10, retryAfter("4"), "GET", "",
			3, []time.Duration{4 * time.Second, 4 * time.Second}, true},
		{"wait beyond the budget is not attempted", aries.RetryPolicy{MaxAttempts: 5, MaxWait: 10 * time.Second}, 1, retryAfter("60"), "GET", "",
			1, nil, true},
		{"off by default", aries.RetryPolicy{}, 1, retryAfter("1"), "GET", "", 1, nil, true},
		{"POST without Idempotency-Key is not retried", aries.RetryPolicy{MaxAttempts: 3}, 1, retryAfter("1"), "POST", "",
			1, nil, true},
		{"POST with Idempotency-Key is retried", aries.RetryPolicy{MaxAttempts: 3}, 1, retryAfter("1"), "POST", "key-1",
			2, []time.Duration{time.Second}, false},
		{"DELETE is retried", aries.RetryPolicy{MaxAttempts: 3}, 1, retryAfter("1"), "DELETE", "",
			2, []time.Duration{time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := limited(t, tt.limitedN, tt.header)
			c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: srv.URL, Retry: tt.policy}, "at")
			waits := recordSleeps(c, func() time.Time { return fixed })
			var err error
			if tt.key != "" {
				_, err = c.Orders.Place(context.Background(), protocol.PlaceOrderRequest{Symbol: "AAPL", Side: protocol.Buy, Quantity: 1}, tt.key)
			} else {
				err = c.Do(context.Background(), tt.method, "/v1/orders", nil, nil)
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("got %d requests, want %d", got, tt.wantHits)
			}
			if len(*waits) != len(tt.wantWaits) || (len(tt.wantWaits) > 0 && !equalDurations(*waits, tt.wantWaits)) {
				t.Errorf("waited %v, want %v", *waits, tt.wantWaits)
			}
			var apiErr *aries.Error
			if tt.wantErr {
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limited" {
					t.Errorf("got %v, want the last 429 as *aries.Error", err)
				}
			} else if err != nil {
				t.Errorf("got %v, want success after the retries", err)
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestContextCancelledMidRetry(t *testing.T) {
	srv, hits := limited(t, 100, func() http.Header { return http.Header{"Retry-After": {"30"}} })
	c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: srv.URL,
		Retry: aries.RetryPolicy{MaxAttempts: 5, MaxWait: time.Minute}}, "at")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := c.Do(ctx, http.MethodGet, "/v1/users/me", nil, nil)
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("returned after %v, want soon after the cancellation", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	var apiErr *aries.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.RetryAfter() != 30*time.Second {
		t.Errorf("got %v, want the 429 that was being waited on", err)
	}
	if got := hits.Load(); got != 1 {
		t.Errorf("got %d requests, want 1", got)
	}
}

func TestPlaceRetriesWithOneIdempotencyKey(t *testing.T) {
	var keys []string
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"ord_1","status":"filled"}`))
	}))
	defer srv.Close()
	c, _ := aries.NewClientFromBearerToken(aries.Config{APIURL: srv.URL, Retry: aries.RetryPolicy{MaxAttempts: 2}}, "at")
	recordSleeps(c, nil)
	o, err := c.Orders.Place(context.Background(), protocol.PlaceOrderRequest{Symbol: "AAPL", Side: protocol.Buy, Quantity: 1}, "")
	if err != nil || o.ID != "ord_1" {
		t.Fatalf("got %+v, %v; want the order after one retry", o, err)
	}
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Errorf("Idempotency-Key headers %q: want one generated key, sent on both attempts", keys)
	}
}
