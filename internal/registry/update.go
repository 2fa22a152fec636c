package registry

import (
	"context"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// Update applies an edit to client c under the same rules as Create: the
// name, redirect URIs, scopes and first-party flag come from s; the type,
// the secret, the owner and the disabled flag cannot be changed this way
// (s.Public and s.OwnerID are ignored). It returns the client as stored.
func Update(ctx context.Context, st store.Store, c store.Client, s Spec, now time.Time) (store.Client, error) {
	scopes, err := s.Validate()
	if err != nil {
		return store.Client{}, err
	}
	c.Name = strings.TrimSpace(s.Name)
	c.RedirectURIs = s.RedirectURIs
	c.Scopes = scopes
	c.FirstParty = s.FirstParty
	c.UpdatedAt = now
	if err := st.UpdateClient(ctx, c); err != nil {
		return store.Client{}, err
	}
	return c, nil
}
