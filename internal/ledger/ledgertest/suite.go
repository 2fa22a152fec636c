package ledgertest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
)

const startingCash = 100_000_00 // $100,000.00 in cents

// book is a user with an open paper account.
type book struct {
	s       Backend
	user    store.User
	account ledger.Account
	seq     atomic.Int64
}

func newLedger(t *testing.T, s Backend, userID string) *book {
	t.Helper()
	l := &book{s: s, user: mustUser(t, s, userID, userID+"@example.com")}
	a, err := s.OpenAccount(ctx(t), ledger.Account{
		ID: "acc_" + userID, UserID: userID, Currency: "USD", Cash: startingCash, CreatedAt: t0,
	})
	is(t, "OpenAccount", err, nil)
	l.account = a
	return l
}

// order returns a market order of this ledger's user, not yet stored.
func (l *book) order(side ledger.OrderSide, symbol string, quantity, price int64) ledger.Order {
	n := l.seq.Add(1)
	at := t0.Add(time.Duration(n) * time.Millisecond)
	return ledger.Order{
		ID: fmt.Sprintf("ord_%s_%d", l.user.ID, n), AccountID: l.account.ID, UserID: l.user.ID,
		Symbol: symbol, Side: side, Type: ledger.Market, Quantity: quantity,
		Status: ledger.OrderFilled, FillPrice: price, RequestHash: "h",
		CreatedAt: at, UpdatedAt: at, FilledAt: at,
	}
}

func (l *book) cash(t *testing.T) int64 {
	t.Helper()
	a, err := l.s.Account(ctx(t), l.user.ID, l.account.ID)
	is(t, "Account", err, nil)
	return a.Cash
}

func (l *book) positions(t *testing.T) map[string]ledger.Position {
	t.Helper()
	ps, err := l.s.Positions(ctx(t), l.user.ID, l.account.ID)
	is(t, "Positions", err, nil)
	out := map[string]ledger.Position{}
	for _, p := range ps {
		out[p.Symbol] = p
	}
	return out
}

func testOpenAccount(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	want := ledger.Account{ID: "acc_usr_alice", UserID: "usr_alice", Currency: "USD", Cash: startingCash, CreatedAt: t0}
	diff(t, "OpenAccount", l.account, want)

	again, err := s.OpenAccount(ctx(t), ledger.Account{ID: "acc_second", UserID: "usr_alice", Currency: "USD", Cash: 1, CreatedAt: t0.Add(time.Hour)})
	is(t, "OpenAccount again", err, nil)
	diff(t, "OpenAccount for a user who has one", again, want)

	got, err := s.Accounts(ctx(t), "usr_alice")
	is(t, "Accounts", err, nil)
	diff(t, "Accounts", got, []ledger.Account{want})

	// Concurrent first uses create one account.
	mustUser(t, s, "usr_bob", "bob@example.com")
	ids := make([]string, 20)
	errs := race(20, func(i int) error {
		a, err := s.OpenAccount(ctx(t), ledger.Account{ID: fmt.Sprintf("acc_bob_%d", i), UserID: "usr_bob", Currency: "USD", Cash: startingCash, CreatedAt: t0})
		ids[i] = a.ID
		return err
	})
	for i, err := range errs {
		is(t, fmt.Sprintf("concurrent OpenAccount %d", i), err, nil)
		if ids[i] != ids[0] {
			t.Errorf("concurrent OpenAccount %d: got account %q, want %q like the others", i, ids[i], ids[0])
		}
	}
	bobs, err := s.Accounts(ctx(t), "usr_bob")
	is(t, "Accounts of bob", err, nil)
	if len(bobs) != 1 {
		t.Errorf("got %d accounts after concurrent OpenAccount, want 1", len(bobs))
	}

	// Another user's account is not found, exactly like a missing one.
	_, err = s.Account(ctx(t), "usr_bob", "acc_usr_alice")
	is(t, "Account of another user", err, store.ErrNotFound)
	_, err = s.Account(ctx(t), "usr_alice", "acc_nobody")
	is(t, "Account unknown", err, store.ErrNotFound)
	_, err = s.Positions(ctx(t), "usr_bob", "acc_usr_alice")
	is(t, "Positions of another user's account", err, store.ErrNotFound)
	_, err = s.Orders(ctx(t), "usr_bob", "acc_usr_alice", "", 10)
	is(t, "Orders of another user's account", err, store.ErrNotFound)
	none, err := s.Accounts(ctx(t), "usr_nobody")
	is(t, "Accounts of a user without one", err, nil)
	diff(t, "Accounts of a user without one", none, []ledger.Account(nil))
}

func testMarketOrders(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")

	buy := l.order(ledger.Buy, "AAA", 30, 150_00)
	got, err := s.PlaceOrder(ctx(t), buy)
	is(t, "PlaceOrder buy", err, nil)
	diff(t, "PlaceOrder buy", got, buy)
	stored, err := s.Order(ctx(t), l.user.ID, buy.ID)
	is(t, "Order", err, nil)
	diff(t, "stored order", stored, buy)
	if got, want := l.cash(t), int64(startingCash-30*150_00); got != want {
		t.Errorf("cash after buying 30 at $150: got %d, want %d", got, want)
	}
	_, err = s.PlaceOrder(ctx(t), l.order(ledger.Buy, "AAA", 10, 120_00))
	is(t, "PlaceOrder second buy", err, nil)
	p := l.positions(t)["AAA"]
	if p.Quantity != 40 || p.Cost != 30*150_00+10*120_00 {
		t.Errorf("position after two buys: got %d shares costing %d, want 40 costing %d", p.Quantity, p.Cost, 30*150_00+10*120_00)
	}

	// Selling a quarter removes a quarter of the cost basis.
	_, err = s.PlaceOrder(ctx(t), l.order(ledger.Sell, "AAA", 10, 200_00))
	is(t, "PlaceOrder sell", err, nil)
	p = l.positions(t)["AAA"]
	if p.Quantity != 30 || p.Cost != (30*150_00+10*120_00)*3/4 {
		t.Errorf("position after selling 10 of 40: got %d shares costing %d, want 30 costing %d", p.Quantity, p.Cost, (30*150_00+10*120_00)*3/4)
	}
	cash := l.cash(t)
	if want := int64(startingCash - 30*150_00 - 10*120_00 + 10*200_00); cash != want {
		t.Errorf("cash after the sell: got %d, want %d", cash, want)
	}

	// Refused orders change nothing and are not stored.
	tests := []struct {
		name  string
		order ledger.Order
		want  error
	}{
		{"buy beyond the cash", l.order(ledger.Buy, "BBB", 1, cash+1), ledger.ErrInsufficientFunds},
		{"sell more than held", l.order(ledger.Sell, "AAA", 31, 100_00), ledger.ErrInsufficientShares},
		{"sell what is not held", l.order(ledger.Sell, "CCC", 1, 100_00), ledger.ErrInsufficientShares},
	}
	for _, tt := range tests {
		_, err := s.PlaceOrder(ctx(t), tt.order)
		is(t, tt.name, err, tt.want)
		_, err = s.Order(ctx(t), l.user.ID, tt.order.ID)
		is(t, tt.name+": the refused order", err, store.ErrNotFound)
	}
	if got := l.cash(t); got != cash {
		t.Errorf("cash after refused orders: got %d, want %d", got, cash)
	}
	if got := l.positions(t); len(got) != 1 || got["AAA"].Quantity != 30 {
		t.Errorf("positions after refused orders: got %+v, want 30 AAA only", got)
	}

	// Buying with exactly all the cash is allowed; selling all the shares
	// removes the position.
	_, err = s.PlaceOrder(ctx(t), l.order(ledger.Buy, "BBB", 1, cash))
	is(t, "buy with exactly the cash", err, nil)
	if got := l.cash(t); got != 0 {
		t.Errorf("cash after spending it all: got %d, want 0", got)
	}
	_, err = s.PlaceOrder(ctx(t), l.order(ledger.Sell, "AAA", 30, 100_00))
	is(t, "sell every share", err, nil)
	if _, held := l.positions(t)["AAA"]; held {
		t.Error("a position with no shares left is still listed")
	}

	// Orders on another user's account are not found.
	other := newLedger(t, s, "usr_bob")
	o := other.order(ledger.Buy, "AAA", 1, 1_00)
	o.AccountID = l.account.ID
	_, err = s.PlaceOrder(ctx(t), o)
	is(t, "PlaceOrder on another user's account", err, store.ErrNotFound)
	_, err = s.Order(ctx(t), other.user.ID, buy.ID)
	is(t, "Order of another user", err, store.ErrNotFound)
}

func testLimitOrders(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	rest := l.order(ledger.Buy, "AAA", 10, 0)
	rest.Type, rest.LimitPrice, rest.Status, rest.FilledAt = ledger.Limit, 90_00, ledger.OrderOpen, time.Time{}
	_, err := s.PlaceOrder(ctx(t), rest)
	is(t, "PlaceOrder resting limit", err, nil)
	if got := l.cash(t); got != startingCash {
		t.Errorf("cash after a resting order: got %d, want it untouched (%d)", got, startingCash)
	}

	// Changing the quantity and price keeps it open.
	changed := rest
	changed.Quantity, changed.LimitPrice, changed.UpdatedAt = 20, 95_00, t0.Add(time.Minute)
	got, err := s.ReplaceOrder(ctx(t), changed)
	is(t, "ReplaceOrder", err, nil)
	diff(t, "ReplaceOrder", got, changed)

	// A change that cannot be paid for is refused whole.
	tooBig := changed
	tooBig.Quantity, tooBig.Status, tooBig.FillPrice, tooBig.FilledAt = 2000, ledger.OrderFilled, 95_00, t0.Add(2*time.Minute)
	_, err = s.ReplaceOrder(ctx(t), tooBig)
	is(t, "ReplaceOrder filling beyond the cash", err, ledger.ErrInsufficientFunds)
	stored, err := s.Order(ctx(t), l.user.ID, rest.ID)
	is(t, "Order", err, nil)
	diff(t, "order after a refused fill", stored, changed)

	// Filling it applies the fill with the stored side and symbol.
	filled := changed
	filled.Status, filled.FillPrice, filled.UpdatedAt, filled.FilledAt = ledger.OrderFilled, 95_00, t0.Add(3*time.Minute), t0.Add(3*time.Minute)
	filled.Side, filled.Symbol = ledger.Sell, "ZZZ" // ignored
	got, err = s.ReplaceOrder(ctx(t), filled)
	is(t, "ReplaceOrder filling", err, nil)
	if got.Status != ledger.OrderFilled || got.Side != ledger.Buy || got.Symbol != "AAA" {
		t.Errorf("filled order: got %s %s %s, want filled buy AAA", got.Status, got.Side, got.Symbol)
	}
	if got := l.cash(t); got != startingCash-20*95_00 {
		t.Errorf("cash after the fill: got %d, want %d", got, startingCash-20*95_00)
	}
	if p := l.positions(t)["AAA"]; p.Quantity != 20 {
		t.Errorf("position after the fill: got %d shares, want 20", p.Quantity)
	}
	_, err = s.ReplaceOrder(ctx(t), changed)
	is(t, "ReplaceOrder of a filled order", err, ledger.ErrOrderNotOpen)
	_, err = s.CancelOrder(ctx(t), l.user.ID, rest.ID, t0.Add(time.Hour))
	is(t, "CancelOrder of a filled order", err, ledger.ErrOrderNotOpen)

	// Cancelling.
	second := l.order(ledger.Sell, "AAA", 5, 0)
	second.Type, second.LimitPrice, second.Status, second.FilledAt = ledger.Limit, 500_00, ledger.OrderOpen, time.Time{}
	_, err = s.PlaceOrder(ctx(t), second)
	is(t, "PlaceOrder resting sell", err, nil)
	other := newLedger(t, s, "usr_bob")
	_, err = s.CancelOrder(ctx(t), other.user.ID, second.ID, t0.Add(time.Hour))
	is(t, "CancelOrder by another user", err, store.ErrNotFound)
	_, err = s.ReplaceOrder(ctx(t), ledger.Order{ID: second.ID, UserID: other.user.ID, Quantity: 1, LimitPrice: 1, Status: ledger.OrderOpen, UpdatedAt: t0})
	is(t, "ReplaceOrder by another user", err, store.ErrNotFound)
	cancelled, err := s.CancelOrder(ctx(t), l.user.ID, second.ID, t0.Add(time.Hour))
	is(t, "CancelOrder", err, nil)
	if cancelled.Status != ledger.OrderCancelled || !cancelled.CancelledAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("cancelled order: got status %s at %v, want cancelled at %v", cancelled.Status, cancelled.CancelledAt, t0.Add(time.Hour))
	}
	_, err = s.CancelOrder(ctx(t), l.user.ID, second.ID, t0.Add(2*time.Hour))
	is(t, "CancelOrder twice", err, ledger.ErrOrderNotOpen)
	_, err = s.CancelOrder(ctx(t), l.user.ID, "ord_nobody", t0)
	is(t, "CancelOrder unknown", err, store.ErrNotFound)
}

func testOrderList(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	var placed []ledger.Order
	for i := range 5 {
		o := l.order(ledger.Buy, "AAA", 1, 10_00)
		if i%2 == 1 {
			o.Type, o.LimitPrice, o.Status, o.FillPrice, o.FilledAt = ledger.Limit, 1_00, ledger.OrderOpen, 0, time.Time{}
		}
		_, err := s.PlaceOrder(ctx(t), o)
		is(t, "PlaceOrder", err, nil)
		placed = append(placed, o)
	}
	got, err := s.Orders(ctx(t), l.user.ID, l.account.ID, "", 10)
	is(t, "Orders", err, nil)
	diff(t, "Orders newest first", got, []ledger.Order{placed[4], placed[3], placed[2], placed[1], placed[0]})
	got, err = s.Orders(ctx(t), l.user.ID, l.account.ID, ledger.OrderOpen, 10)
	is(t, "Orders open", err, nil)
	diff(t, "open Orders", got, []ledger.Order{placed[3], placed[1]})
	got, err = s.Orders(ctx(t), l.user.ID, l.account.ID, "", 2)
	is(t, "Orders limit 2", err, nil)
	diff(t, "Orders limit 2", got, []ledger.Order{placed[4], placed[3]})
}

func testOrderIdempotency(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	first := l.order(ledger.Buy, "AAA", 10, 100_00)
	first.IdempotencyKey, first.RequestHash = "key-1", "hash-a"
	_, err := s.PlaceOrder(ctx(t), first)
	is(t, "PlaceOrder with a key", err, nil)

	retry := l.order(ledger.Buy, "AAA", 10, 100_00)
	retry.IdempotencyKey, retry.RequestHash = "key-1", "hash-b"
	got, err := s.PlaceOrder(ctx(t), retry)
	is(t, "PlaceOrder with the same key", err, ledger.ErrIdempotentReplay)
	diff(t, "the replayed order", got, first)
	if got := l.cash(t); got != startingCash-10*100_00 {
		t.Errorf("cash after a replay: got %d, want one execution (%d)", got, startingCash-10*100_00)
	}
	_, err = s.Order(ctx(t), l.user.ID, retry.ID)
	is(t, "the replay's own order", err, store.ErrNotFound)

	// Keys belong to a user; a refused order does not use its key up.
	other := newLedger(t, s, "usr_bob")
	o := other.order(ledger.Buy, "AAA", 1, 100_00)
	o.IdempotencyKey = "key-1"
	_, err = s.PlaceOrder(ctx(t), o)
	is(t, "another user's order with the same key", err, nil)
	broke := other.order(ledger.Buy, "AAA", 1, startingCash+1)
	broke.IdempotencyKey = "key-2"
	_, err = s.PlaceOrder(ctx(t), broke)
	is(t, "refused order with a key", err, ledger.ErrInsufficientFunds)
	ok := other.order(ledger.Buy, "AAA", 1, 1_00)
	ok.IdempotencyKey = "key-2"
	_, err = s.PlaceOrder(ctx(t), ok)
	is(t, "the key of a refused order, again", err, nil)

	// Orders without a key never collide.
	for range 2 {
		_, err = s.PlaceOrder(ctx(t), l.order(ledger.Buy, "AAA", 1, 1_00))
		is(t, "PlaceOrder without a key", err, nil)
	}
}

func testWithdraw(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	w := ledger.Withdrawal{ID: "wd_1", AccountID: l.account.ID, UserID: l.user.ID, Amount: 250_00,
		IdempotencyKey: "w-1", RequestHash: "h", CreatedAt: t0}
	got, err := s.Withdraw(ctx(t), w)
	is(t, "Withdraw", err, nil)
	diff(t, "Withdraw", got, w)
	if got := l.cash(t); got != startingCash-250_00 {
		t.Errorf("cash after withdrawing $250: got %d, want %d", got, startingCash-250_00)
	}

	again := w
	again.ID = "wd_2"
	got, err = s.Withdraw(ctx(t), again)
	is(t, "Withdraw with the same key", err, ledger.ErrIdempotentReplay)
	diff(t, "the replayed withdrawal", got, w)
	if got := l.cash(t); got != startingCash-250_00 {
		t.Errorf("cash after a replayed withdrawal: got %d, want %d", got, startingCash-250_00)
	}

	over := ledger.Withdrawal{ID: "wd_3", AccountID: l.account.ID, UserID: l.user.ID, Amount: startingCash, RequestHash: "h", CreatedAt: t0}
	_, err = s.Withdraw(ctx(t), over)
	is(t, "Withdraw more than the cash", err, ledger.ErrInsufficientFunds)
	all := over
	all.ID, all.Amount = "wd_4", startingCash-250_00
	_, err = s.Withdraw(ctx(t), all)
	is(t, "Withdraw exactly the cash", err, nil)
	if got := l.cash(t); got != 0 {
		t.Errorf("cash after withdrawing everything: got %d, want 0", got)
	}

	other := newLedger(t, s, "usr_bob")
	_, err = s.Withdraw(ctx(t), ledger.Withdrawal{ID: "wd_5", AccountID: l.account.ID, UserID: other.user.ID, Amount: 1, RequestHash: "h", CreatedAt: t0})
	is(t, "Withdraw from another user's account", err, store.ErrNotFound)
}

// testLedgerConcurrently races 50 orders and withdrawals, some sharing an
// idempotency key, on one account, and checks the invariants of the
// ledger: cash never negative, cash plus the value of the shares conserved
// by fills, and each key executed once.
func testLedgerConcurrently(t *testing.T, s Backend) {
	l := newLedger(t, s, "usr_alice")
	const price = 1_000_00 // every fill at $1,000.00 per share
	// Start with 40 shares so that sells can race buys.
	_, err := s.PlaceOrder(ctx(t), l.order(ledger.Buy, "AAA", 40, price))
	is(t, "initial buy", err, nil)
	start := l.cash(t) + 40*price

	const n = 50
	orders := make([]ledger.Order, n)
	withdrawals := make([]ledger.Withdrawal, n)
	for i := range n {
		switch i % 5 {
		case 0, 1: // buys of 10 shares ($10,000): the cash covers only some
			orders[i] = l.order(ledger.Buy, "AAA", 10, price)
		case 2: // sells of 15 shares: the shares cover only some
			orders[i] = l.order(ledger.Sell, "AAA", 15, price)
		case 3: // withdrawals of $20,000
			withdrawals[i] = ledger.Withdrawal{ID: fmt.Sprintf("wd_%d", i), AccountID: l.account.ID, UserID: l.user.ID,
				Amount: 20_000_00, RequestHash: "h", CreatedAt: t0}
		case 4: // five buys sharing one key, five withdrawals sharing another
			if i%10 == 4 {
				orders[i] = l.order(ledger.Buy, "AAA", 1, price)
				orders[i].IdempotencyKey = "same-order"
			} else {
				withdrawals[i] = ledger.Withdrawal{ID: fmt.Sprintf("wd_%d", i), AccountID: l.account.ID, UserID: l.user.ID,
					Amount: 1_00, IdempotencyKey: "same-withdrawal", RequestHash: "h", CreatedAt: t0}
			}
		}
	}
	var withdrawn atomic.Int64
	var sameOrder, sameWithdrawal atomic.Int64
	errs := race(n, func(i int) error {
		if withdrawals[i].ID != "" {
			_, err := s.Withdraw(ctx(t), withdrawals[i])
			if err == nil {
				withdrawn.Add(withdrawals[i].Amount)
				if withdrawals[i].IdempotencyKey != "" {
					sameWithdrawal.Add(1)
				}
			}
			return err
		}
		_, err := s.PlaceOrder(ctx(t), orders[i])
		if err == nil && orders[i].IdempotencyKey != "" {
			sameOrder.Add(1)
		}
		return err
	})
	for i, err := range errs {
		if err != nil && !errors.Is(err, ledger.ErrInsufficientFunds) && !errors.Is(err, ledger.ErrInsufficientShares) && !errors.Is(err, ledger.ErrIdempotentReplay) {
			t.Errorf("operation %d: got unexpected error %v", i, err)
		}
	}

	cash := l.cash(t)
	if cash < 0 {
		t.Errorf("cash went negative: %d", cash)
	}
	var shares int64
	for _, p := range l.positions(t) {
		if p.Quantity <= 0 {
			t.Errorf("position %s holds %d shares", p.Symbol, p.Quantity)
		}
		shares += p.Quantity
	}
	if got, want := cash+shares*price, start-withdrawn.Load(); got != want {
		t.Errorf("cash + shares x price after the race: got %d, want %d (start %d minus %d withdrawn)", got, want, start, withdrawn.Load())
	}
	if got := sameOrder.Load(); got != 1 {
		t.Errorf("orders sharing one idempotency key executed %d times, want once", got)
	}
	if got := sameWithdrawal.Load(); got != 1 {
		t.Errorf("withdrawals sharing one idempotency key executed %d times, want once", got)
	}
	// What the store reports agrees with what the callers were told.
	filled, err := s.Orders(ctx(t), l.user.ID, l.account.ID, ledger.OrderFilled, 1000)
	is(t, "Orders", err, nil)
	var net int64
	for _, o := range filled {
		if o.Side == ledger.Buy {
			net += o.Quantity
		} else {
			net -= o.Quantity
		}
	}
	if net != shares {
		t.Errorf("filled orders add up to %d shares, positions hold %d", net, shares)
	}
}

func testProfile(t *testing.T, s Backend) {
	user := mustUser(t, s, "usr_alice", "alice@example.com")
	got, err := s.Profile(ctx(t), user.ID)
	is(t, "Profile never saved", err, nil)
	diff(t, "Profile never saved", got, ledger.Profile{UserID: user.ID})

	p := ledger.Profile{UserID: user.ID, DisplayName: "Alice Liddell", Phone: "+442071234567", UpdatedAt: t0}
	is(t, "SaveProfile", s.SaveProfile(ctx(t), p), nil)
	got, err = s.Profile(ctx(t), user.ID)
	is(t, "Profile", err, nil)
	diff(t, "Profile", got, p)

	p2 := ledger.Profile{UserID: user.ID, DisplayName: "Alice", UpdatedAt: t0.Add(time.Hour)}
	is(t, "SaveProfile again", s.SaveProfile(ctx(t), p2), nil)
	got, err = s.Profile(ctx(t), user.ID)
	is(t, "Profile", err, nil)
	diff(t, "Profile replaced", got, p2)

	is(t, "SaveProfile of an unknown user", s.SaveProfile(ctx(t), ledger.Profile{UserID: "usr_nobody", UpdatedAt: t0}), store.ErrNotFound)
}
