// Package clientcache keeps client rows in memory between requests, for the
// stores to put in front of their client reads. A client_credentials token
// request otherwise spends a quarter of its CPU reading and decoding the
// client row (BENCHMARKS.md).
//
// A cached row is never served after a change to any client has been
// written, by this process or another one (another aries instance, the CLI):
// entries are not expired on a timer but invalidated by a Signal, which each
// backend implements with what it shares between processes (a lock file
// beside the SQLite database; LISTEN/NOTIFY on PostgreSQL).
package clientcache

import (
	"context"
	"slices"
	"sync"

	"github.com/ariesexchange/aries/internal/store"
)

// Signal tells the cache when client rows may have changed anywhere.
type Signal interface {
	// Epoch returns a counter that moves whenever a client change has
	// started being written anywhere, and whether cached rows may be
	// trusted at all right now (false: read every row from the store).
	Epoch() (epoch uint64, trusted bool)
	// Fill is called before a row is read to be cached. It returns the
	// epoch to file the row under, and done, to call once the row is read.
	// ok is false when the row must not be cached: a change may be under
	// way, so what the read returns could be about to change without the
	// epoch moving again.
	Fill() (epoch uint64, done func(), ok bool)
}

// MaxEntries bounds the cache. Clients are registered by people, so a
// deployment has far fewer; past it the cache starts over rather than
// growing (client ids that do not exist are never cached).
const MaxEntries = 4096

// Cache is safe for concurrent use.
type Cache struct {
	signal Signal
	mu     sync.RWMutex
	rows   map[string]entry
}

type entry struct {
	epoch  uint64
	client store.Client
}

// New returns an empty cache invalidated by signal.
func New(signal Signal) *Cache {
	return &Cache{signal: signal, rows: map[string]entry{}}
}

// Client returns client id from the cache if it is current, otherwise from
// load (the store's read), caching what load returns when the signal allows.
// Errors, store.ErrNotFound included, are returned and not cached.
func (c *Cache) Client(ctx context.Context, id string, load func(context.Context, string) (store.Client, error)) (store.Client, error) {
	if epoch, trusted := c.signal.Epoch(); trusted {
		c.mu.RLock()
		e, ok := c.rows[id]
		c.mu.RUnlock()
		if ok && e.epoch == epoch {
			return clone(e.client), nil
		}
	}
	epoch, done, ok := c.signal.Fill()
	if !ok {
		return load(ctx, id)
	}
	cl, err := load(ctx, id)
	done()
	if err != nil {
		return store.Client{}, err
	}
	c.mu.Lock()
	if len(c.rows) >= MaxEntries {
		clear(c.rows)
	}
	c.rows[id] = entry{epoch: epoch, client: clone(cl)}
	c.mu.Unlock()
	return cl, nil
}

// clone copies the slices of a client so that no caller can change what
// the cache holds.
func clone(c store.Client) store.Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return c
}
