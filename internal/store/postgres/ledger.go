package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
)

// The ledger's invariants (cash and shares never negative, an idempotency
// key executes once) are decided in the database. Every transaction that
// changes a user's ledger first takes a transaction-scoped advisory lock on
// that user (lockLedger), so the user's writes run one after another on
// every instance, as they do under SQLite's single writer: an idempotency
// key is looked up after the previous holder committed, and a sell reads
// the shares it then removes. Debits are still conditional UPDATEs ("AND
// cash >= $1") and the schema's CHECKs still refuse a negative balance.

// lockLedger takes the user's ledger lock until the transaction ends.
func lockLedger(ctx context.Context, tx pgx.Tx, userID string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('aries.ledger:' || $1, 0))`, userID)
	return dbErr("lock ledger", err)
}

// OpenAccount creates a unless its user already has an account, and
// returns the user's account. Of two concurrent calls, the second's INSERT
// waits for the first to commit and then does nothing.
func (s *Store) OpenAccount(ctx context.Context, a ledger.Account) (ledger.Account, error) {
	var out ledger.Account
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO accounts (id, user_id, currency, cash, created_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (user_id) DO NOTHING`,
			a.ID, a.UserID, a.Currency, a.Cash, ts(a.CreatedAt))
		if err != nil {
			return dbErr("open account", err)
		}
		out, err = scanAccount(tx.QueryRow(ctx,
			`SELECT `+accountColumns+` FROM accounts WHERE user_id = $1`, a.UserID))
		return dbErr("open account", err)
	})
	return out, err
}

const accountColumns = `id, user_id, currency, cash, created_at`

func scanAccount(row pgx.Row) (ledger.Account, error) {
	var a ledger.Account
	var created pgtype.Timestamptz
	if err := row.Scan(&a.ID, &a.UserID, &a.Currency, &a.Cash, &created); err != nil {
		return ledger.Account{}, err
	}
	a.CreatedAt = fromTS(created)
	return a, nil
}

// Accounts lists the user's accounts, oldest first.
func (s *Store) Accounts(ctx context.Context, userID string) ([]ledger.Account, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`, userID)
	if err != nil {
		return nil, dbErr("accounts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Account, error) { return scanAccount(row) })
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("accounts", err)
}

// Account returns the user's account id, or ErrNotFound.
func (s *Store) Account(ctx context.Context, userID, id string) (ledger.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE id = $1 AND user_id = $2`, id, userID))
	return a, dbErr("account", err)
}

// Positions lists the positions of the user's account by symbol;
// ErrNotFound if the account is not the user's.
func (s *Store) Positions(ctx context.Context, userID, accountID string) ([]ledger.Position, error) {
	if _, err := s.Account(ctx, userID, accountID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx,
		`SELECT account_id, symbol, quantity, cost, updated_at FROM positions
		  WHERE account_id = $1 ORDER BY symbol COLLATE "C"`, accountID)
	if err != nil {
		return nil, dbErr("positions", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Position, error) {
		var p ledger.Position
		var updated pgtype.Timestamptz
		err := row.Scan(&p.AccountID, &p.Symbol, &p.Quantity, &p.Cost, &updated)
		p.UpdatedAt = fromTS(updated)
		return p, err
	})
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("positions", err)
}

const orderColumns = `id, account_id, user_id, symbol, side, type, quantity, limit_price, status,
	fill_price, idempotency_key, request_hash, created_at, updated_at, filled_at, cancelled_at`

func scanOrder(row pgx.Row) (ledger.Order, error) {
	var o ledger.Order
	var side, typ, status string
	var key pgtype.Text
	var created, updated, filled, cancelled pgtype.Timestamptz
	err := row.Scan(&o.ID, &o.AccountID, &o.UserID, &o.Symbol, &side, &typ, &o.Quantity, &o.LimitPrice,
		&status, &o.FillPrice, &key, &o.RequestHash, &created, &updated, &filled, &cancelled)
	if err != nil {
		return ledger.Order{}, err
	}
	o.Side, o.Type, o.Status = ledger.OrderSide(side), ledger.OrderType(typ), ledger.OrderStatus(status)
	o.IdempotencyKey = key.String
	o.CreatedAt, o.UpdatedAt, o.FilledAt, o.CancelledAt = fromTS(created), fromTS(updated), fromTS(filled), fromTS(cancelled)
	return o, nil
}

// nullable stores "" as NULL, so that the partial unique indexes on
// idempotency keys ignore requests that sent none.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// PlaceOrder stores o and applies its fill when o is filled, in one
// transaction; see ledger.Store.
func (s *Store) PlaceOrder(ctx context.Context, o ledger.Order) (ledger.Order, error) {
	var out ledger.Order
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockLedger(ctx, tx, o.UserID); err != nil {
			return err
		}
		if o.IdempotencyKey != "" {
			prev, err := scanOrder(tx.QueryRow(ctx,
				`SELECT `+orderColumns+` FROM orders WHERE user_id = $1 AND idempotency_key = $2`,
				o.UserID, o.IdempotencyKey))
			if err == nil {
				out = prev
				return ledger.ErrIdempotentReplay
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return dbErr("place order", err)
			}
		}
		if err := ownsAccount(ctx, tx, o.UserID, o.AccountID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO orders (`+orderColumns+`)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			o.ID, o.AccountID, o.UserID, o.Symbol, string(o.Side), string(o.Type), o.Quantity, o.LimitPrice,
			string(o.Status), o.FillPrice, nullable(o.IdempotencyKey), o.RequestHash,
			ts(o.CreatedAt), ts(o.UpdatedAt), ts(o.FilledAt), ts(o.CancelledAt))
		if err != nil {
			return dbErr("place order", err)
		}
		if o.Status == ledger.OrderFilled {
			if err := fill(ctx, tx, o.AccountID, o.Symbol, o.Side, o.Quantity, o.FillPrice, o.FilledAt); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	return out, err
}

// ReplaceOrder changes (and perhaps fills) the user's open order o.ID; see
// ledger.Store.
func (s *Store) ReplaceOrder(ctx context.Context, o ledger.Order) (ledger.Order, error) {
	var out ledger.Order
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockLedger(ctx, tx, o.UserID); err != nil {
			return err
		}
		cur, err := scanOrder(tx.QueryRow(ctx,
			`UPDATE orders SET quantity = $1, limit_price = $2, status = $3, fill_price = $4,
			        updated_at = $5, filled_at = $6
			  WHERE id = $7 AND user_id = $8 AND status = 'open'
			 RETURNING `+orderColumns,
			o.Quantity, o.LimitPrice, string(o.Status), o.FillPrice, ts(o.UpdatedAt), ts(o.FilledAt),
			o.ID, o.UserID))
		if errors.Is(err, pgx.ErrNoRows) {
			return whyNotOpen(ctx, tx, o.UserID, o.ID)
		}
		if err != nil {
			return dbErr("replace order", err)
		}
		if cur.Status == ledger.OrderFilled {
			if err := fill(ctx, tx, cur.AccountID, cur.Symbol, cur.Side, cur.Quantity, cur.FillPrice, cur.FilledAt); err != nil {
				return err
			}
		}
		out = cur
		return nil
	})
	return out, err
}

// CancelOrder cancels the user's open order id at now.
func (s *Store) CancelOrder(ctx context.Context, userID, id string, now time.Time) (ledger.Order, error) {
	var out ledger.Order
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockLedger(ctx, tx, userID); err != nil {
			return err
		}
		o, err := scanOrder(tx.QueryRow(ctx,
			`UPDATE orders SET status = 'cancelled', updated_at = $1, cancelled_at = $1
			  WHERE id = $2 AND user_id = $3 AND status = 'open'
			 RETURNING `+orderColumns,
			ts(now), id, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return whyNotOpen(ctx, tx, userID, id)
		}
		out = o
		return dbErr("cancel order", err)
	})
	return out, err
}

// whyNotOpen tells a missing order (ErrNotFound) from one that is no longer
// open (ErrOrderNotOpen).
func whyNotOpen(ctx context.Context, tx pgx.Tx, userID, id string) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1 AND user_id = $2`, id, userID).Scan(&status)
	if err != nil {
		return dbErr("order", err)
	}
	return ledger.ErrOrderNotOpen
}

// Order returns the user's order id.
func (s *Store) Order(ctx context.Context, userID, id string) (ledger.Order, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx,
		`SELECT `+orderColumns+` FROM orders WHERE id = $1 AND user_id = $2`, id, userID))
	return o, dbErr("order", err)
}

// Orders lists the orders of the user's account, newest first.
func (s *Store) Orders(ctx context.Context, userID, accountID string, status ledger.OrderStatus, limit int) ([]ledger.Order, error) {
	if _, err := s.Account(ctx, userID, accountID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx,
		`SELECT `+orderColumns+` FROM orders
		  WHERE account_id = $1 AND ($2 = '' OR status = $2)
		  ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT $3`,
		accountID, string(status), limit)
	if err != nil {
		return nil, dbErr("orders", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.Order, error) { return scanOrder(row) })
	if len(out) == 0 {
		out = nil
	}
	return out, dbErr("orders", err)
}

// Withdraw takes w.Amount from the account's cash and records w.
func (s *Store) Withdraw(ctx context.Context, w ledger.Withdrawal) (ledger.Withdrawal, error) {
	if w.Amount <= 0 {
		return ledger.Withdrawal{}, fmt.Errorf("postgres: withdraw: amount %d is not positive", w.Amount)
	}
	var out ledger.Withdrawal
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockLedger(ctx, tx, w.UserID); err != nil {
			return err
		}
		if w.IdempotencyKey != "" {
			var prev ledger.Withdrawal
			var key pgtype.Text
			var created pgtype.Timestamptz
			err := tx.QueryRow(ctx,
				`SELECT id, account_id, user_id, amount, idempotency_key, request_hash, created_at
				   FROM withdrawals WHERE user_id = $1 AND idempotency_key = $2`,
				w.UserID, w.IdempotencyKey).Scan(&prev.ID, &prev.AccountID, &prev.UserID, &prev.Amount,
				&key, &prev.RequestHash, &created)
			if err == nil {
				prev.IdempotencyKey, prev.CreatedAt = key.String, fromTS(created)
				out = prev
				return ledger.ErrIdempotentReplay
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return dbErr("withdraw", err)
			}
		}
		if err := ownsAccount(ctx, tx, w.UserID, w.AccountID); err != nil {
			return err
		}
		if err := debit(ctx, tx, w.AccountID, w.Amount); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO withdrawals (id, account_id, user_id, amount, idempotency_key, request_hash, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			w.ID, w.AccountID, w.UserID, w.Amount, nullable(w.IdempotencyKey), w.RequestHash, ts(w.CreatedAt))
		if err != nil {
			return dbErr("withdraw", err)
		}
		out = w
		return nil
	})
	return out, err
}

// Profile returns the user's profile, empty if never saved.
func (s *Store) Profile(ctx context.Context, userID string) (ledger.Profile, error) {
	p := ledger.Profile{UserID: userID}
	var updated pgtype.Timestamptz
	err := s.pool.QueryRow(ctx,
		`SELECT display_name, phone, updated_at FROM profiles WHERE user_id = $1`, userID).
		Scan(&p.DisplayName, &p.Phone, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return ledger.Profile{}, dbErr("profile", err)
	}
	p.UpdatedAt = fromTS(updated)
	return p, nil
}

// SaveProfile replaces the user's profile; ErrNotFound if there is no such
// user.
func (s *Store) SaveProfile(ctx context.Context, p ledger.Profile) error {
	tag, err := s.pool.Exec(ctx,
		`INSERT INTO profiles (user_id, display_name, phone, updated_at)
		 SELECT id, $1::text, $2::text, $3::timestamptz FROM users WHERE id = $4
		 ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
		     phone = excluded.phone, updated_at = excluded.updated_at`,
		p.DisplayName, p.Phone, ts(p.UpdatedAt), p.UserID)
	return mustAffect("save profile", tag, err)
}

// ownsAccount returns ErrNotFound unless accountID is userID's.
func ownsAccount(ctx context.Context, tx pgx.Tx, userID, accountID string) error {
	var one int
	err := tx.QueryRow(ctx,
		`SELECT 1 FROM accounts WHERE id = $1 AND user_id = $2`, accountID, userID).Scan(&one)
	return dbErr("account", err)
}

// fill applies a fill of quantity shares at price cents each to the
// account: a buy pays and adds the shares at that cost, a sell delivers the
// shares and is paid. The caller holds the ledger lock of the account's
// user, and its transaction rolls back on any error.
func fill(ctx context.Context, tx pgx.Tx, accountID, symbol string, side ledger.OrderSide, quantity, price int64, at time.Time) error {
	amount, err := ledger.Notional(quantity, price)
	if err != nil {
		return err
	}
	switch side {
	case ledger.Buy:
		if err := debit(ctx, tx, accountID, amount); err != nil {
			return err
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO positions AS p (account_id, symbol, quantity, cost, updated_at) VALUES ($1, $2, $3, $4, $5)
			 ON CONFLICT (account_id, symbol) DO UPDATE SET quantity = p.quantity + excluded.quantity,
			     cost = p.cost + excluded.cost, updated_at = excluded.updated_at`,
			accountID, symbol, quantity, amount, ts(at))
		return dbErr("fill: add shares", err)
	case ledger.Sell:
		var held, cost int64
		err := tx.QueryRow(ctx,
			`SELECT quantity, cost FROM positions WHERE account_id = $1 AND symbol = $2`,
			accountID, symbol).Scan(&held, &cost)
		if errors.Is(err, pgx.ErrNoRows) {
			return ledger.ErrInsufficientShares
		}
		if err != nil {
			return dbErr("fill: read shares", err)
		}
		sale, err := ledger.SellFrom(held, cost, quantity)
		if err != nil {
			return err
		}
		// The conditions on quantity make the statement a no-op if the row
		// changed since it was read (the ledger lock prevents that; the
		// statement does not rely on it).
		var tag pgconn.CommandTag
		if sale.Remaining == 0 {
			tag, err = tx.Exec(ctx,
				`DELETE FROM positions WHERE account_id = $1 AND symbol = $2 AND quantity = $3`,
				accountID, symbol, held)
		} else {
			tag, err = tx.Exec(ctx,
				`UPDATE positions SET quantity = $1, cost = $2, updated_at = $3
				  WHERE account_id = $4 AND symbol = $5 AND quantity = $6`,
				sale.Remaining, sale.RemainingCost, ts(at), accountID, symbol, held)
		}
		if err := mustAffect("fill: remove shares", tag, err); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ledger.ErrInsufficientShares
			}
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE accounts SET cash = cash + $1 WHERE id = $2`, amount, accountID)
		return dbErr("fill: credit cash", err)
	}
	return fmt.Errorf("postgres: fill: unknown side %q", side)
}

// debit takes amount cents from the account if its cash covers it.
func debit(ctx context.Context, tx pgx.Tx, accountID string, amount int64) error {
	tag, err := tx.Exec(ctx,
		`UPDATE accounts SET cash = cash - $1 WHERE id = $2 AND cash >= $1`, amount, accountID)
	if err := mustAffect("debit", tag, err); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ledger.ErrInsufficientFunds
		}
		return err
	}
	return nil
}
