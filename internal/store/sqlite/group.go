package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Group commit. With synchronous=FULL (sqlite.go) every commit waits for an
// fsync of the WAL, and that wait, not SQL, bounds how many refresh tokens
// one process can rotate per second when each rotation commits on its own.
// inGroupTx shares one commit among the transactions that queued up while
// the previous one was being written: each runs inside its own SAVEPOINT
// of one transaction, in arrival order, and all are answered after the
// single COMMIT returned, so none is answered before its own write is
// durable. Nothing waits for company: a call that finds the writer idle
// commits alone, as fast as inTx; batches form only under load, from the
// calls that arrived during the previous fsync. internal/replay groups the
// DPoP proof inserts the same way.
//
// Running in arrival order on one connection, the calls of a batch behave
// exactly as if serial: a call sees what the calls before it in the batch
// wrote, so of two uses of one refresh token the second finds it spent,
// as it would after the first committed (the races of storetest).

// maxGroup bounds the calls one commit carries, so the first of a batch
// waits for at most this many others' statements.
const maxGroup = 64

// group is the queue of transactions waiting for a commit; the zero value
// is idle.
type group struct {
	mu      sync.Mutex
	pending []*groupCall
	running bool // a leader (lead or commitGroups) is committing batches
}

// groupCall is one inGroupTx waiting for, or inside, a batch.
type groupCall struct {
	fn    func(ctx context.Context, tx *sql.Tx) error
	keep  []error
	taken bool // under group.mu: a batch has it and will answer it
	err   error
	done  chan struct{}
}

// kept reports whether err leaves the call's writes in place (see inTx).
func (c *groupCall) kept() bool {
	if c.err == nil {
		return true
	}
	for _, k := range c.keep {
		if errors.Is(c.err, k) {
			return true
		}
	}
	return false
}

// inGroupTx is inTx with the commit shared (see above): fn runs in a
// transaction, its writes stay if it returns nil or an error wrapping one
// of keep, and inGroupTx returns once they are committed. fn must use the
// ctx it is given, the batch's, not its caller's: the batch runs for all
// of its calls, and no caller's leaving may cut it short. A caller whose ctx ends, or who waited the store's timeout,
// before its batch started is dropped and nothing of it is written; once
// its batch started, it gets the batch's result.
//
// A call that finds no batch being written writes its own, in its own
// goroutine, with no hand-over to another: on a loaded machine every
// goroutine woken can wait for a CPU, and a call alone pays for none.
func (s *Store) inGroupTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, keep ...error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: waiting to write: %w", err)
	}
	c := &groupCall{fn: fn, keep: keep, done: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.pending = append(g.pending, c)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if lead {
		return s.lead(ctx, c)
	}

	wait := time.NewTimer(s.timeout)
	defer wait.Stop()
	var why error
	select {
	case <-c.done:
		return c.err
	case <-wait.C:
		why = context.DeadlineExceeded
	case <-ctx.Done():
		why = ctx.Err()
	}
	g.mu.Lock()
	if !c.taken {
		g.pending = slices.DeleteFunc(g.pending, func(p *groupCall) bool { return p == c })
		g.mu.Unlock()
		return fmt.Errorf("sqlite: waiting to write: %w", why)
	}
	g.mu.Unlock()
	<-c.done
	return c.err
}

// lead writes the batch that starts with c, the call that found the queue
// idle, waiting for the write lock as inTx does, and leaves the calls that
// queued up meanwhile to commitGroups.
func (s *Store) lead(ctx context.Context, c *groupCall) error {
	g := &s.group
	if err := s.lockWrite(ctx); err != nil {
		g.mu.Lock()
		g.pending = slices.DeleteFunc(g.pending, func(p *groupCall) bool { return p == c })
		s.handOver()
		g.mu.Unlock()
		return err
	}
	g.mu.Lock()
	// c is first in the queue: it found the queue idle, hence empty, and
	// only the leader takes calls out of it.
	batch := s.takeBatch()
	g.mu.Unlock()
	s.commitGroup(batch)
	s.unlockWrite()
	g.mu.Lock()
	s.handOver()
	g.mu.Unlock()
	return c.err
}

// handOver, called with group.mu held by a leader that stops leading,
// starts commitGroups for the calls still queued, or marks the queue idle.
func (s *Store) handOver() {
	if len(s.group.pending) == 0 {
		s.group.pending, s.group.running = nil, false
		return
	}
	go s.commitGroups()
}

// takeBatch, called with group.mu held, takes the next batch off the queue.
func (s *Store) takeBatch() []*groupCall {
	g := &s.group
	n := min(len(g.pending), maxGroup)
	batch := g.pending[:n:n]
	g.pending = g.pending[n:]
	for _, c := range batch {
		c.taken = true
	}
	return batch
}

// commitGroups commits the pending calls, a batch at a time, until none is
// left. It takes a batch only once it holds the write lock, so the batch
// holds every call that queued up while the previous write ran, and a call
// that gives up meanwhile can still leave the queue.
func (s *Store) commitGroups() {
	g := &s.group
	for {
		g.mu.Lock()
		if len(g.pending) == 0 {
			g.pending, g.running = nil, false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		if err := s.lockWrite(context.Background()); err != nil {
			// The callers time out on their own, at the same bound.
			continue
		}
		g.mu.Lock()
		batch := s.takeBatch()
		g.mu.Unlock()
		if len(batch) > 0 {
			s.commitGroup(batch)
		}
		s.unlockWrite()
	}
}

// commitGroup runs batch in one transaction and answers every call in it.
// If the transaction as a whole fails, every call gets that error: the
// writes of all of them are gone.
//
// The batch runs under no deadline of its own: it starts only once it holds
// this process's write lock, SQLite's wait for another process's lock is
// bounded by busy_timeout (sqlite.go), and what remains is local disk I/O
// (see Store.timeout). A context that can end would also cost a goroutine
// per statement in the driver, to interrupt it.
func (s *Store) commitGroup(batch []*groupCall) {
	if err := s.runGroup(context.Background(), batch); err != nil {
		for _, c := range batch {
			c.err = err
		}
	}
	for _, c := range batch {
		close(c.done)
	}
}

// runGroup runs the calls of batch in one transaction, each in its own
// savepoint, so a call that fails (an unknown token, a SQL error) rolls
// back only its own writes; a replayed token's family revocation, kept,
// commits with the others. Each call's result is left in its err.
func (s *Store) runGroup(ctx context.Context, batch []*groupCall) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if len(batch) == 1 {
		// Alone, the transaction itself is the call's savepoint.
		c := batch[0]
		c.err = c.fn(ctx, tx)
		if !c.kept() {
			return nil // the deferred Rollback undoes it; c.err is the answer
		}
	} else {
		for _, c := range batch {
			if _, err := tx.StmtContext(ctx, s.hot.savepoint).ExecContext(ctx); err != nil {
				return fmt.Errorf("sqlite: savepoint: %w", err)
			}
			c.err = c.fn(ctx, tx)
			if !c.kept() {
				// Fails if SQLite rolled back the whole transaction
				// (an I/O error, a full disk): then no call's writes
				// survive, and all must hear so.
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO call`); err != nil {
					return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.StmtContext(ctx, s.hot.release).ExecContext(ctx); err != nil {
				return fmt.Errorf("sqlite: release savepoint: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// hotStmts are the statements every rotation runs, and the reads every
// client-authenticated or API request makes, prepared once per Store
// (database/sql then prepares each once per connection and reuses it in
// the transactions on that connection): parsing SQL was 16 % of an
// introspection's CPU in its profile (aries-bench -profile).
type hotStmts struct {
	savepoint, release, rotate, grant, insertRefresh *sql.Stmt
	clientByID, userByID                             *sql.Stmt
	// What an introspection reads besides the client (introspect.Live,
	// lookup): the revoked jti and the grant (grant above), or the
	// refresh token with its grant.
	accessRevoked, refreshGrant *sql.Stmt
}

func prepareHot(ctx context.Context, db *sql.DB) (hotStmts, error) {
	var h hotStmts
	for _, p := range []struct {
		st    **sql.Stmt
		query string
	}{
		{&h.savepoint, `SAVEPOINT call`},
		{&h.release, `RELEASE call`},
		{&h.rotate, rotateRefresh},
		{&h.grant, grantByID},
		{&h.insertRefresh, insertRefresh},
		{&h.clientByID, clientByID},
		{&h.userByID, userByID},
		{&h.accessRevoked, accessTokenRevoked},
		{&h.refreshGrant, refreshTokenGrant},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			h.close()
			return hotStmts{}, fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.st = st
	}
	return h, nil
}

func (h hotStmts) close() {
	for _, st := range []*sql.Stmt{h.savepoint, h.release, h.rotate, h.grant, h.insertRefresh, h.clientByID, h.userByID,
		h.accessRevoked, h.refreshGrant} {
		if st != nil {
			st.Close()
		}
	}
}
