package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// boundedPool is the connection pool as the store's methods use it: every
// call, the wait for a connection included, runs under a deadline of
// timeout (store.DefaultTimeout unless WithTimeout says otherwise), or the
// caller's own deadline when that comes sooner. A database that stops
// answering (packets dropped, not refused) then fails a request within the
// deadline, and the handler answers 503 with Retry-After; without it the
// request waits for the kernel to give up on the TCP connection, minutes.
//
// When a deadline passes mid-query, pgx closes that connection (its
// default context watcher sets a deadline on the socket), so the pool never
// hands it out again; and the pool pings a connection that has been idle
// before handing it out (pgxpool.Config.ShouldPing), under the same
// deadline, so connections that died while idle are dropped too. Once the
// database answers again, new connections work: no restart is needed.
//
// The context of a call must outlive the call's results: a Row's until
// Scan, Rows' until Close (or the last Next), a transaction's until Commit
// or Rollback. The wrappers below cancel it then, not before.
type boundedPool struct {
	*pgxpool.Pool
	timeout time.Duration
}

func (p *boundedPool) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.timeout)
}

func (p *boundedPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	return p.Pool.Exec(ctx, sql, args...)
}

func (p *boundedPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := p.bound(ctx)
	rows, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return rows, err
	}
	return &boundedRows{Rows: rows, cancel: cancel}, nil
}

func (p *boundedPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := p.bound(ctx)
	return boundedRow{row: p.Pool.QueryRow(ctx, sql, args...), cancel: cancel}
}

func (p *boundedPool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := p.bound(ctx)
	return boundedBatch{BatchResults: p.Pool.SendBatch(ctx, b), cancel: cancel}
}

func (p *boundedPool) Ping(ctx context.Context) error {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	return p.Pool.Ping(ctx)
}

// Begin starts a transaction whose every statement, and its Commit, must
// finish within one deadline set now: a transaction holds row locks, so
// it must not outlive the request that needed it.
func (p *boundedPool) Begin(ctx context.Context) (pgx.Tx, error) {
	return p.BeginTx(ctx, pgx.TxOptions{})
}

func (p *boundedPool) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	deadline := time.Now().Add(p.timeout)
	bctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	tx, err := p.Pool.BeginTx(bctx, opts)
	if err != nil {
		return nil, err
	}
	return &boundedTx{Tx: tx, deadline: deadline, timeout: p.timeout}, nil
}

// boundedRow cancels its query's context once scanned.
type boundedRow struct {
	row    pgx.Row
	cancel context.CancelFunc
}

func (r boundedRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.row.Scan(dest...)
}

// boundedRows cancels its query's context when closed, or when Next
// reports the end (pgx closes the rows then; callers may not call Close).
type boundedRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r *boundedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.cancel()
	return false
}

func (r *boundedRows) Close() {
	r.Rows.Close()
	r.cancel()
}

type boundedBatch struct {
	pgx.BatchResults
	cancel context.CancelFunc
}

func (b boundedBatch) Close() error {
	defer b.cancel()
	return b.BatchResults.Close()
}

// boundedTx runs each statement under the transaction's deadline.
type boundedTx struct {
	pgx.Tx
	deadline time.Time
	timeout  time.Duration
}

func (t *boundedTx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithDeadline(ctx, t.deadline)
}

func (t *boundedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.Exec(ctx, sql, args...)
}

func (t *boundedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := t.bound(ctx)
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return rows, err
	}
	return &boundedRows{Rows: rows, cancel: cancel}, nil
}

func (t *boundedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := t.bound(ctx)
	return boundedRow{row: t.Tx.QueryRow(ctx, sql, args...), cancel: cancel}
}

func (t *boundedTx) Commit(ctx context.Context) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.Commit(ctx)
}

// Rollback gets a deadline of its own: it runs after a failure, often the
// transaction's deadline passing, and must still not hang. After a
// cancelled statement pgx has closed the connection and it returns at once.
func (t *boundedTx) Rollback(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	return t.Tx.Rollback(ctx)
}
