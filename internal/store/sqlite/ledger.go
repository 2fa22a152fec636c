package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ariesexchange/aries/internal/ledger"
	"github.com/ariesexchange/aries/internal/store"
)

// The ledger's invariants (cash and shares never negative, an idempotency
// key executes once) are decided by the SQL: debits are UPDATEs conditional
// on the balance ("AND cash >= ?"), and a miss rolls the whole transaction
// back. They hold for any number of writers on the file, not only for this
// process's write queue.

// OpenAccount creates a unless its user already has an account, and
// returns the user's account.
func (s *Store) OpenAccount(ctx context.Context, a ledger.Account) (ledger.Account, error) {
	var out ledger.Account
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO accounts (id, user_id, currency, cash, created_at) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO NOTHING`,
			a.ID, a.UserID, a.Currency, a.Cash, ms(a.CreatedAt))
		if err != nil {
			return dbErr("open account", err)
		}
		out, err = scanAccount(tx.QueryRowContext(ctx,
			`SELECT `+accountColumns+` FROM accounts WHERE user_id = ?`, a.UserID))
		return dbErr("open account", err)
	})
	return out, err
}

const accountColumns = `id, user_id, currency, cash, created_at`

func scanAccount(row scanner) (ledger.Account, error) {
	var a ledger.Account
	var created sql.NullInt64
	if err := row.Scan(&a.ID, &a.UserID, &a.Currency, &a.Cash, &created); err != nil {
		return ledger.Account{}, err
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// Accounts lists the user's accounts, oldest first.
func (s *Store) Accounts(ctx context.Context, userID string) ([]ledger.Account, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, dbErr("accounts", err)
	}
	defer rows.Close()
	var out []ledger.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, dbErr("accounts", err)
		}
		out = append(out, a)
	}
	return out, dbErr("accounts", rows.Err())
}

// Account returns the user's account id, or ErrNotFound.
func (s *Store) Account(ctx context.Context, userID, id string) (ledger.Account, error) {
	a, err := scanAccount(s.db.QueryRowContext(ctx,
		`SELECT `+accountColumns+` FROM accounts WHERE id = ? AND user_id = ?`, id, userID))
	return a, dbErr("account", err)
}

// Positions lists the positions of the user's account by symbol;
// ErrNotFound if the account is not the user's.
func (s *Store) Positions(ctx context.Context, userID, accountID string) ([]ledger.Position, error) {
	if _, err := s.Account(ctx, userID, accountID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT account_id, symbol, quantity, cost, updated_at FROM positions
		  WHERE account_id = ? ORDER BY symbol`, accountID)
	if err != nil {
		return nil, dbErr("positions", err)
	}
	defer rows.Close()
	var out []ledger.Position
	for rows.Next() {
		var p ledger.Position
		var updated sql.NullInt64
		if err := rows.Scan(&p.AccountID, &p.Symbol, &p.Quantity, &p.Cost, &updated); err != nil {
			return nil, dbErr("positions", err)
		}
		p.UpdatedAt = fromMS(updated)
		out = append(out, p)
	}
	return out, dbErr("positions", rows.Err())
}

const orderColumns = `id, account_id, user_id, symbol, side, type, quantity, limit_price, status,
	fill_price, idempotency_key, request_hash, created_at, updated_at, filled_at, cancelled_at`

func scanOrder(row scanner) (ledger.Order, error) {
	var o ledger.Order
	var side, typ, status string
	var key sql.NullString
	var created, updated, filled, cancelled sql.NullInt64
	err := row.Scan(&o.ID, &o.AccountID, &o.UserID, &o.Symbol, &side, &typ, &o.Quantity, &o.LimitPrice,
		&status, &o.FillPrice, &key, &o.RequestHash, &created, &updated, &filled, &cancelled)
	if err != nil {
		return ledger.Order{}, err
	}
	o.Side, o.Type, o.Status = ledger.OrderSide(side), ledger.OrderType(typ), ledger.OrderStatus(status)
	o.IdempotencyKey = key.String
	o.CreatedAt, o.UpdatedAt, o.FilledAt, o.CancelledAt = fromMS(created), fromMS(updated), fromMS(filled), fromMS(cancelled)
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if o.IdempotencyKey != "" {
			prev, err := scanOrder(tx.QueryRowContext(ctx,
				`SELECT `+orderColumns+` FROM orders WHERE user_id = ? AND idempotency_key = ?`,
				o.UserID, o.IdempotencyKey))
			if err == nil {
				out = prev
				return ledger.ErrIdempotentReplay
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return dbErr("place order", err)
			}
		}
		if err := ownsAccount(ctx, tx, o.UserID, o.AccountID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO orders (`+orderColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.AccountID, o.UserID, o.Symbol, string(o.Side), string(o.Type), o.Quantity, o.LimitPrice,
			string(o.Status), o.FillPrice, nullable(o.IdempotencyKey), o.RequestHash,
			ms(o.CreatedAt), ms(o.UpdatedAt), ms(o.FilledAt), ms(o.CancelledAt))
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanOrder(tx.QueryRowContext(ctx,
			`UPDATE orders SET quantity = ?, limit_price = ?, status = ?, fill_price = ?,
			        updated_at = ?, filled_at = ?
			  WHERE id = ? AND user_id = ? AND status = 'open'
			 RETURNING `+orderColumns,
			o.Quantity, o.LimitPrice, string(o.Status), o.FillPrice, ms(o.UpdatedAt), ms(o.FilledAt),
			o.ID, o.UserID))
		if errors.Is(err, sql.ErrNoRows) {
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		o, err := scanOrder(tx.QueryRowContext(ctx,
			`UPDATE orders SET status = 'cancelled', updated_at = ?, cancelled_at = ?
			  WHERE id = ? AND user_id = ? AND status = 'open'
			 RETURNING `+orderColumns,
			ms(now), ms(now), id, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return whyNotOpen(ctx, tx, userID, id)
		}
		out = o
		return dbErr("cancel order", err)
	})
	return out, err
}

// whyNotOpen tells a missing order (ErrNotFound) from one that is no longer
// open (ErrOrderNotOpen).
func whyNotOpen(ctx context.Context, tx *sql.Tx, userID, id string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE id = ? AND user_id = ?`, id, userID).Scan(&status)
	if err != nil {
		return dbErr("order", err)
	}
	return ledger.ErrOrderNotOpen
}

// Order returns the user's order id.
func (s *Store) Order(ctx context.Context, userID, id string) (ledger.Order, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx,
		`SELECT `+orderColumns+` FROM orders WHERE id = ? AND user_id = ?`, id, userID))
	return o, dbErr("order", err)
}

// Orders lists the orders of the user's account, newest first.
func (s *Store) Orders(ctx context.Context, userID, accountID string, status ledger.OrderStatus, limit int) ([]ledger.Order, error) {
	if _, err := s.Account(ctx, userID, accountID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+orderColumns+` FROM orders
		  WHERE account_id = ? AND (? = '' OR status = ?)
		  ORDER BY created_at DESC, id DESC LIMIT ?`,
		accountID, string(status), string(status), limit)
	if err != nil {
		return nil, dbErr("orders", err)
	}
	defer rows.Close()
	var out []ledger.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, dbErr("orders", err)
		}
		out = append(out, o)
	}
	return out, dbErr("orders", rows.Err())
}

// Withdraw takes w.Amount from the account's cash and records w.
func (s *Store) Withdraw(ctx context.Context, w ledger.Withdrawal) (ledger.Withdrawal, error) {
	if w.Amount <= 0 {
		return ledger.Withdrawal{}, fmt.Errorf("sqlite: withdraw: amount %d is not positive", w.Amount)
	}
	var out ledger.Withdrawal
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if w.IdempotencyKey != "" {
			var prev ledger.Withdrawal
			var key sql.NullString
			var created sql.NullInt64
			err := tx.QueryRowContext(ctx,
				`SELECT id, account_id, user_id, amount, idempotency_key, request_hash, created_at
				   FROM withdrawals WHERE user_id = ? AND idempotency_key = ?`,
				w.UserID, w.IdempotencyKey).Scan(&prev.ID, &prev.AccountID, &prev.UserID, &prev.Amount,
				&key, &prev.RequestHash, &created)
			if err == nil {
				prev.IdempotencyKey, prev.CreatedAt = key.String, fromMS(created)
				out = prev
				return ledger.ErrIdempotentReplay
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return dbErr("withdraw", err)
			}
		}
		if err := ownsAccount(ctx, tx, w.UserID, w.AccountID); err != nil {
			return err
		}
		if err := debit(ctx, tx, w.AccountID, w.Amount); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO withdrawals (id, account_id, user_id, amount, idempotency_key, request_hash, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			w.ID, w.AccountID, w.UserID, w.Amount, nullable(w.IdempotencyKey), w.RequestHash, ms(w.CreatedAt))
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
	var updated sql.NullInt64
	err := s.db.QueryRowContext(ctx,
		`SELECT display_name, phone, updated_at FROM profiles WHERE user_id = ?`, userID).
		Scan(&p.DisplayName, &p.Phone, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return ledger.Profile{}, dbErr("profile", err)
	}
	p.UpdatedAt = fromMS(updated)
	return p, nil
}

// SaveProfile replaces the user's profile; ErrNotFound if there is no such
// user.
func (s *Store) SaveProfile(ctx context.Context, p ledger.Profile) error {
	_, err := s.exec(ctx,
		`INSERT INTO profiles (user_id, display_name, phone, updated_at)
		 SELECT id, ?, ?, ? FROM users WHERE id = ?
		 ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name,
		     phone = excluded.phone, updated_at = excluded.updated_at`,
		p.DisplayName, p.Phone, ms(p.UpdatedAt), p.UserID)
	if err != nil {
		return dbErr("save profile", err)
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, p.UserID).Scan(&one)
	return dbErr("save profile", err)
}

// ownsAccount returns ErrNotFound unless accountID is userID's.
func ownsAccount(ctx context.Context, tx *sql.Tx, userID, accountID string) error {
	var one int
	err := tx.QueryRowContext(ctx,
		`SELECT 1 FROM accounts WHERE id = ? AND user_id = ?`, accountID, userID).Scan(&one)
	return dbErr("account", err)
}

// fill applies a fill of quantity shares at price cents each to the
// account: a buy pays and adds the shares at that cost, a sell delivers the
// shares and is paid. The caller's transaction rolls back on any error.
func fill(ctx context.Context, tx *sql.Tx, accountID, symbol string, side ledger.OrderSide, quantity, price int64, at time.Time) error {
	amount, err := ledger.Notional(quantity, price)
	if err != nil {
		return err
	}
	switch side {
	case ledger.Buy:
		if err := debit(ctx, tx, accountID, amount); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO positions (account_id, symbol, quantity, cost, updated_at) VALUES (?, ?, ?, ?, ?)
			 ON CONFLICT (account_id, symbol) DO UPDATE SET quantity = quantity + excluded.quantity,
			     cost = cost + excluded.cost, updated_at = excluded.updated_at`,
			accountID, symbol, quantity, amount, ms(at))
		return dbErr("fill: add shares", err)
	case ledger.Sell:
		var held, cost int64
		err := tx.QueryRowContext(ctx,
			`SELECT quantity, cost FROM positions WHERE account_id = ? AND symbol = ?`,
			accountID, symbol).Scan(&held, &cost)
		if errors.Is(err, sql.ErrNoRows) {
			return ledger.ErrInsufficientShares
		}
		if err != nil {
			return dbErr("fill: read shares", err)
		}
		sale, err := ledger.SellFrom(held, cost, quantity)
		if err != nil {
			return err
		}
		// The conditions on quantity make the UPDATE a no-op if the row
		// changed since it was read (not possible under SQLite's single
		// writer, but the statement does not rely on that).
		var res sql.Result
		if sale.Remaining == 0 {
			res, err = tx.ExecContext(ctx,
				`DELETE FROM positions WHERE account_id = ? AND symbol = ? AND quantity = ?`,
				accountID, symbol, held)
		} else {
			res, err = tx.ExecContext(ctx,
				`UPDATE positions SET quantity = ?, cost = ?, updated_at = ?
				  WHERE account_id = ? AND symbol = ? AND quantity = ?`,
				sale.Remaining, sale.RemainingCost, ms(at), accountID, symbol, held)
		}
		if err := mustAffect("fill: remove shares", res, err); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ledger.ErrInsufficientShares
			}
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET cash = cash + ? WHERE id = ?`, amount, accountID)
		return dbErr("fill: credit cash", err)
	}
	return fmt.Errorf("sqlite: fill: unknown side %q", side)
}

// debit takes amount cents from the account if its cash covers it.
func debit(ctx context.Context, tx *sql.Tx, accountID string, amount int64) error {
	res, err := tx.ExecContext(ctx,
		`UPDATE accounts SET cash = cash - ? WHERE id = ? AND cash >= ?`, amount, accountID, amount)
	if err := mustAffect("debit", res, err); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ledger.ErrInsufficientFunds
		}
		return err
	}
	return nil
}
