package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// The client cache's Signal on PostgreSQL (package clientcache). Instances
// may run on different machines, so they share only the database: the
// trigger of migration 00012 notifies clientChannel when a change to clients
// commits, and each instance LISTENs on a connection of its own and moves its
// epoch for every notification.
//
// A listener that silently stopped hearing (a half-open connection) would
// keep stale rows forever, so the instance also notifies itself every
// heartbeat through its pool, and trusts its cache only while it heard one of
// its own heartbeats sent at most staleAfter ago. PostgreSQL delivers a
// session's notifications in the order their transactions committed
// (https://www.postgresql.org/docs/current/sql-notify.html), so hearing a
// heartbeat sent at T means every client change committed before T was heard:
// no instance serves a row more than staleAfter older than a committed change,
// and in practice it drops it as soon as the notification arrives.
const (
	clientChannel = "aries_clients"
	heartbeat     = 100 * time.Millisecond
	staleAfter    = 500 * time.Millisecond
	// heartbeatPrefix starts a heartbeat's payload; the trigger sends
	// "change".
	heartbeatPrefix = "heartbeat "
)

type clientSignal struct {
	store *Store
	id    string    // tells this instance's heartbeats from others'
	start time.Time // the base of the monotonic times below

	epoch atomic.Uint64
	// heard is when the newest heartbeat of this instance heard back was
	// sent, in nanoseconds since start; 0 before the first.
	heard atomic.Int64

	once   sync.Once
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	heardC chan struct{} // closed and replaced each time heard moves
}

func newClientSignal(s *Store) *clientSignal {
	b := make([]byte, 8)
	rand.Read(b)
	return &clientSignal{store: s, id: hex.EncodeToString(b), start: time.Now(), heardC: make(chan struct{})}
}

// Epoch implements clientcache.Signal. The listener starts with the first
// client read, so a CLI command that never reads a client never listens.
func (c *clientSignal) Epoch() (uint64, bool) {
	c.once.Do(c.listen)
	heard := c.heard.Load()
	return c.epoch.Load(), heard > 0 && c.since()-heard <= int64(staleAfter)
}

// Fill implements clientcache.Signal. A read that saw a row from before a
// change began before the change committed, so before its notification moved
// the epoch: the row is filed under the epoch the notification leaves
// behind, and nothing more is needed.
func (c *clientSignal) Fill() (uint64, func(), bool) {
	epoch, trusted := c.Epoch()
	return epoch, func() {}, trusted
}

// changed moves the epoch once this instance's own change has committed (or
// failed), so the instance reads its own writes without waiting for the
// notification.
func (c *clientSignal) changed() { c.epoch.Add(1) }

func (c *clientSignal) since() int64 { return int64(time.Since(c.start)) }

func (c *clientSignal) listen() {
	ctx, stop := context.WithCancel(context.Background())
	c.stop, c.done = stop, make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			c.session(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second): // then connect again
			}
		}
	}()
}

// close stops the listener, if it started.
func (c *clientSignal) close() {
	c.once.Do(func() {}) // a listener cannot start after this
	if c.stop != nil {
		c.stop()
		<-c.done
	}
}

// session listens on one connection until it fails or ctx ends.
func (c *clientSignal) session(ctx context.Context) {
	conn, err := pgx.ConnectConfig(ctx, c.store.pool.Config().ConnConfig)
	if err != nil {
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+clientChannel); err != nil {
		return
	}
	// Whatever changed while nobody listened is unknown: drop every row.
	c.epoch.Add(1)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.beat(ctx)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		rest, ok := strings.CutPrefix(n.Payload, heartbeatPrefix)
		if !ok {
			c.epoch.Add(1)
			continue
		}
		sent, ok := strings.CutPrefix(rest, c.id+" ")
		if !ok {
			continue // another instance's heartbeat
		}
		if t, err := strconv.ParseInt(sent, 10, 64); err == nil && t > c.heard.Load() {
			c.heard.Store(t)
			c.mu.Lock()
			close(c.heardC)
			c.heardC = make(chan struct{})
			c.mu.Unlock()
		}
	}
}

// beat sends a heartbeat now and every heartbeat until ctx ends.
func (c *clientSignal) beat(ctx context.Context) {
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		c.send(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *clientSignal) send(ctx context.Context) int64 {
	sent := c.since()
	payload := heartbeatPrefix + c.id + " " + strconv.FormatInt(sent, 10)
	c.store.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, clientChannel, payload)
	return sent
}

// settle returns once this instance has heard every client change committed
// before the call, or ctx ends. Tests use it where another process made the
// change.
func (c *clientSignal) settle(ctx context.Context) error {
	c.once.Do(c.listen)
	sent := c.send(ctx)
	for {
		c.mu.Lock()
		wait := c.heardC
		c.mu.Unlock()
		if c.heard.Load() >= sent {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
