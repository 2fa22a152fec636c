package store

import "time"

// DefaultTimeout bounds every store call unless the operator chooses
// otherwise (aries serve --db-timeout, docs/deployment.md#bounded-waits-on-the-database):
// a database that stops answering costs a request at most this long before
// the handler answers 503 with Retry-After, instead of hanging it until the
// client or the load balancer gives up.
const DefaultTimeout = 2 * time.Second
