package authorize

import (
	"net/http"

	"github.com/ariesexchange/aries/internal/store"
)

// CurrentUser returns the user signed in to the browser that sent r, for
// other HTML routes (the Client Center, the account pages) that share the
// hosted sign-in. ok is false when the browser has no live session. Call it
// only after Register, which decides the session cookie's name.
func (h *Handler) CurrentUser(r *http.Request) (u store.User, ok bool, err error) {
	_, u, ok, err = h.currentSession(r)
	return u, ok, err
}
