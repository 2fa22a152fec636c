package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// A sender makes one request as worker w and reports the HTTP status (0
// for a transport error). Each worker is one goroutine, so a sender may
// keep per-worker state indexed by w without locking, such as the refresh
// token that worker rotates.
type sender func(ctx context.Context, w int) int

// load is one bounded measurement: it ends after duration or after
// requests requests (when not 0), whichever comes first.
type load struct {
	workers  int
	duration time.Duration
	requests int
	// rate, when not 0, paces the run open-loop: request i is due at
	// start + i/rate whatever happened to earlier ones, and its latency is
	// counted from when it was due, so a stalled server is charged for
	// the requests it held up (no coordinated omission). With rate 0 the
	// run is closed-loop: each worker sends its next request when the
	// previous one returns, which measures capacity.
	rate float64
}

// result is what one measurement saw.
type result struct {
	OK        int           `json:"ok"`
	Errors    map[int]int   `json:"errors,omitempty"` // by HTTP status; 0 is a transport error
	Elapsed   time.Duration `json:"elapsed"`
	PerSecond float64       `json:"per_second"` // successful requests per second
	P50       time.Duration `json:"p50"`
	P90       time.Duration `json:"p90"`
	P99       time.Duration `json:"p99"`
	Max       time.Duration `json:"max"`
}

func (r result) errorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// run drives send with l's shape and returns what it saw. Latencies of
// failed requests count too: a fast error must not hide a slow server.
// The run stops starting requests at its end but lets those in flight
// finish: cutting one off would count a server error that was not, and
// could leave a refresh token spent without its successor.
func (l load) run(ctx context.Context, send sender) result {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		all      []time.Duration
		errs     = map[int]int{}
		ok       int
		wg       sync.WaitGroup
		interval time.Duration
	)
	if l.rate > 0 {
		interval = time.Duration(float64(time.Second) / l.rate)
	}
	start := time.Now()
	end := start.Add(l.duration)
	for w := range l.workers {
		wg.Go(func() {
			var lat []time.Duration
			myErrs := map[int]int{}
			myOK := 0
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if l.requests > 0 && i >= int64(l.requests) {
					break
				}
				began := time.Now()
				if l.rate > 0 {
					due := start.Add(time.Duration(i) * interval)
					if !due.Before(end) || !sleepUntil(ctx, due) {
						break
					}
					began = due
				} else if !began.Before(end) {
					break
				}
				status := send(ctx, w)
				lat = append(lat, time.Since(began))
				if status == http.StatusOK {
					myOK++
				} else {
					myErrs[status]++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			ok += myOK
			for s, n := range myErrs {
				errs[s] += n
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	r := result{OK: ok, Elapsed: elapsed, PerSecond: float64(ok) / elapsed.Seconds()}
	if len(errs) > 0 {
		r.Errors = errs
	}
	if len(all) > 0 {
		r.P50, r.P90, r.P99, r.Max = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99), all[len(all)-1]
	}
	return r
}

// quantile reads q from sorted latencies (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newHTTPClient keeps one connection per worker alive for the whole run,
// so the figures measure request handling, not TCP handshakes.
func newHTTPClient(workers int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        workers * 2,
			MaxIdleConnsPerHost: workers * 2,
			MaxConnsPerHost:     workers,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// drain reads and discards a response body so the connection is reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
