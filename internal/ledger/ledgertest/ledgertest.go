// Package ledgertest is the conformance suite of the ledger: the behaviour
// every backend of ledger.Store must show, written once. Each backend's
// test calls Run.
package ledgertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
)

// Backend is a ledger store that can also create the users accounts
// belong to: the authorization store's users are the ledger's owners.
type Backend interface {
	ledger.Store
	CreateUser(ctx context.Context, u store.User) error
}

// Run runs the suite. Each subtest calls open for a fresh, empty backend;
// Run does not close it, so open should (with t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Backend)
	}{
		{"OpenAccount", testOpenAccount},
		{"MarketOrders", testMarketOrders},
		{"LimitOrders", testLimitOrders},
		{"OrderList", testOrderList},
		{"OrderIdempotency", testOrderIdempotency},
		{"Withdraw", testWithdraw},
		{"LedgerConcurrently", testLedgerConcurrently},
		{"Profile", testProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// t0 is the suite's "now", with milliseconds and not in UTC, so a backend
// that drops either is caught.
var t0 = time.Date(2026, time.March, 14, 15, 9, 26, 535_000_000, time.FixedZone("UTC+2", 2*60*60))

var opts = cmp.Options{cmpopts.EquateEmpty()}

func ctx(t *testing.T) context.Context { return t.Context() }

// is fails the test unless err matches want (nil for success).
func is(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: got error %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func diff(t *testing.T, what string, got, want any, extra ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts, cmp.Options(extra)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func mustUser(t *testing.T, s Backend, id, email string) store.User {
	t.Helper()
	u := store.User{ID: id, Email: email, PasswordHash: "h", CreatedAt: t0}
	is(t, "CreateUser "+id, s.CreateUser(ctx(t), u), nil)
	return u
}

// race runs fn n times at once and returns each call's error.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}
