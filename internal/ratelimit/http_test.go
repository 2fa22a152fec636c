package ratelimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is an injected Now that tests move forward by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// limitedServer mounts one route per category behind p, keyed by the
// X-Key request header.
func limitedServer(p *Policy) http.Handler {
	mux := http.NewServeMux()
	key := func(r *http.Request) string { return r.Header.Get("X-Key") }
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	for _, c := range []Category{Authentication, User, Market, Trading} {
		mux.Handle("/"+string(c), p.Middleware(c, key)(ok))
	}
	return mux
}

func do(h http.Handler, path, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("X-Key", key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMiddlewareAuthenticationLimit(t *testing.T) {
	start := time.Date(2026, 11, 3, 12, 0, 0, 500_000_000, time.UTC) // half-second: Reset must round up
	clk := &clock{now: start}
	h := limitedServer(&Policy{Limiter: NewMemory(), Limits: DefaultLimits(), Now: clk.Now})

	for i := range 10 {
		w := do(h, "/authentication", "client-a")
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: got status %d, want 200", i+1, w.Code)
		}
		reset := start.Add(time.Duration(i+1) * 6 * time.Second)
		want := map[string]string{
			"X-RateLimit-Limit":     "10",
			"X-RateLimit-Remaining": strconv.Itoa(9 - i),
			"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix()+1, 10),
			"Retry-After":           "",
		}
		if diff := cmp.Diff(want, headers(w, want)); diff != "" {
			t.Errorf("request %d headers (-want +got):\n%s", i+1, diff)
		}
	}

	w := do(h, "/authentication", "client-a")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("11th request: got status %d, want 429", w.Code)
	}
	want := map[string]string{
		"X-RateLimit-Limit":     "10",
		"X-RateLimit-Remaining": "0",
		"X-RateLimit-Reset":     strconv.FormatInt(start.Add(time.Minute).Unix()+1, 10),
		"Retry-After":           "6",
		"Content-Type":          "application/json",
	}
	if diff := cmp.Diff(want, headers(w, want)); diff != "" {
		t.Errorf("11th request headers (-want +got):\n%s", diff)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("429 body %q: %v", w.Body, err)
	}
	if body.Error != "rate_limited" || body.Description == "" {
		t.Errorf("got body %q, want error rate_limited with a description", w.Body)
	}

	if w := do(h, "/authentication", "client-b"); w.Code != http.StatusOK {
		t.Errorf("another key: got status %d, want 200", w.Code)
	}
	if w := do(h, "/market", "client-a"); w.Code != http.StatusOK {
		t.Errorf("same key in another category: got status %d, want 200", w.Code)
	}

	clk.now = start.Add(time.Minute)
	for i := range 10 {
		if w := do(h, "/authentication", "client-a"); w.Code != http.StatusOK {
			t.Fatalf("request %d a minute later: got status %d, want 200", i+1, w.Code)
		}
	}
}

func TestMiddlewareDefaultLimits(t *testing.T) {
	tests := []struct {
		category Category
		limit    int
	}{
		{Authentication, 10},
		{User, 100},
		{Market, 1000},
		{Trading, 50},
	}
	for _, tt := range tests {
		t.Run(string(tt.category), func(t *testing.T) {
			clk := &clock{now: t0}
			h := limitedServer(&Policy{Limiter: NewMemory(), Limits: DefaultLimits(), Now: clk.Now})
			for i := range tt.limit {
				if w := do(h, "/"+string(tt.category), "k"); w.Code != http.StatusOK {
					t.Fatalf("request %d: got status %d, want 200", i+1, w.Code)
				}
			}
			if w := do(h, "/"+string(tt.category), "k"); w.Code != http.StatusTooManyRequests {
				t.Errorf("request %d: got status %d, want 429", tt.limit+1, w.Code)
			}
		})
	}
}

func TestMiddlewareDisabled(t *testing.T) {
	h := limitedServer(&Policy{Limiter: NewMemory(), Limits: DefaultLimits(), Disabled: true})
	for i := range 50 {
		w := do(h, "/authentication", "k")
		if w.Code != http.StatusOK {
			t.Fatalf("request %d: got status %d, want 200", i+1, w.Code)
		}
		if got := w.Header().Get("X-RateLimit-Limit"); got != "" {
			t.Fatalf("request %d: got X-RateLimit-Limit %q, want none", i+1, got)
		}
	}
}

type failingLimiter struct{}

func (failingLimiter) Allow(context.Context, string, Rate, time.Time) (Result, error) {
	return Result{}, errors.New("redis: connection refused")
}

func TestMiddlewareFailsOpenAndLogs(t *testing.T) {
	var log bytes.Buffer
	h := limitedServer(&Policy{
		Limiter: failingLimiter{},
		Limits:  DefaultLimits(),
		Logger:  slog.New(slog.NewTextHandler(&log, nil)),
	})
	w := do(h, "/trading", "k")
	if w.Code != http.StatusOK {
		t.Errorf("got status %d, want 200 when the limiter fails", w.Code)
	}
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("got log %q, want the limiter error logged", log.String())
	}
}

func TestMiddlewarePanicsOnUnknownCategory(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("got no panic for a category without a limit, want one")
		}
	}()
	p := &Policy{Limiter: NewMemory(), Limits: DefaultLimits()}
	p.Middleware("authentification", RemoteIP)
}

func TestWriteLimitedRetryAfter(t *testing.T) {
	tests := []struct {
		retry time.Duration
		want  string
	}{
		{0, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1200 * time.Millisecond, "2"},
		{6 * time.Second, "6"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		WriteLimited(w, Result{Limit: 10, ResetAt: t0, RetryAfter: tt.retry})
		if got := w.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("RetryAfter %s: got Retry-After %q, want %q", tt.retry, got, tt.want)
		}
		if w.Code != http.StatusTooManyRequests {
			t.Errorf("got status %d, want 429", w.Code)
		}
	}
}

func TestRemoteIP(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.0.2.1:5555", "192.0.2.1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"pipe", "pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.addr
		if got := RemoteIP(r); got != tt.want {
			t.Errorf("RemoteIP(%q) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

// headers returns the values of w's headers named in want.
func headers(w *httptest.ResponseRecorder, want map[string]string) map[string]string {
	got := make(map[string]string, len(want))
	for k := range want {
		got[k] = w.Header().Get(k)
	}
	return got
}

// Check returns the verdict and writes nothing: the caller answers, in JSON
// (WriteLimited, or Err through its own error writer) or on an HTML page
// with SetHeaders.
func TestCheckReturnsVerdict(t *testing.T) {
	clk := &clock{now: t0}
	limited := 0
	p := &Policy{Limiter: NewMemory(), Limits: Limits{Authentication: PerMinute(2)}, Now: clk.Now,
		OnLimited: func(Category) { limited++ }}
	r := httptest.NewRequest("POST", "/v1/oauth2/token", nil)
	for i := range 2 {
		d := p.Check(r, Authentication, "k")
		if !d.Counted || d.Limited() || d.Err() != nil {
			t.Fatalf("request %d: got %+v, want counted and allowed", i+1, d)
		}
		h := http.Header{}
		d.SetHeaders(h)
		if h.Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) || h.Get("Retry-After") != "" {
			t.Errorf("request %d: got headers %v, want X-RateLimit-Remaining %d and no Retry-After", i+1, h, 1-i)
		}
	}
	d := p.Check(r, Authentication, "k")
	if !d.Limited() || limited != 1 {
		t.Fatalf("third request: got %+v (OnLimited called %d times), want limited once", d, limited)
	}
	h := http.Header{}
	d.SetHeaders(h)
	if h.Get("Retry-After") != "30" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("third request: got headers %v, want Retry-After 30 and X-RateLimit-Remaining 0", h)
	}
	if err := d.Err(); err == nil || err.Code != "rate_limited" || err.Status != http.StatusTooManyRequests {
		t.Errorf("third request: got error %+v, want 429 rate_limited", err)
	}

	// Not counted: no headers, no refusal.
	for _, p := range []*Policy{
		{Limiter: NewMemory(), Limits: DefaultLimits(), Disabled: true},
		{Limiter: failingLimiter{}, Limits: DefaultLimits(), Logger: slog.New(slog.DiscardHandler)},
	} {
		d := p.Check(r, Authentication, "k")
		h := http.Header{}
		d.SetHeaders(h)
		if d.Counted || d.Limited() || d.Err() != nil || len(h) != 0 {
			t.Errorf("got %+v with headers %v, want an uncounted verdict without headers", d, h)
		}
	}
}
