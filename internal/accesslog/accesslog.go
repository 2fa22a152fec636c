// Package accesslog carries what the access log line of a request needs to
// learn from inside the handlers (aries serve --access-log,
// docs/deployment.md#logs): the client the request authenticated as. The
// server's outermost middleware puts an Entry in the request's context and
// writes the line when the handler returns; a handler that authenticates a
// client records it with SetClient. It costs one small allocation per
// request and nothing when no line is written.
package accesslog

import "context"

// Entry is one request's record. It is written by the request's handler
// and read after the handler has returned, so it needs no lock.
type Entry struct {
	clientID string
}

type entryKey struct{}

// With returns ctx carrying a new Entry, and the Entry.
func With(ctx context.Context) (context.Context, *Entry) {
	e := &Entry{}
	return context.WithValue(ctx, entryKey{}, e), e
}

// SetClient records the client that the request authenticated as (never a
// client id that was merely named). Without an Entry in ctx it does nothing.
func SetClient(ctx context.Context, clientID string) {
	if e, ok := ctx.Value(entryKey{}).(*Entry); ok {
		e.clientID = clientID
	}
}

// ClientID is the client SetClient recorded, or "".
func (e *Entry) ClientID() string { return e.clientID }
