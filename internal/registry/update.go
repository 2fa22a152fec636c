package registry

import (
	"context"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// Update applies an edit to client c on behalf of by, under the same rules
// as Create: the name, redirect URIs, scopes, first-party and
// resource-server flags, post-logout redirect URIs, ID token algorithm,
// DPoP binding and financial-grade settings come from s; the type, the secret, the owner and the
// disabled flag cannot be changed this way (s.Public and s.OwnerID are
// ignored). It returns the client as stored, or a *Refusal.
func Update(ctx context.Context, st store.ClientStore, by Actor, c store.Client, s Spec, now time.Time) (store.Client, error) {
	s = s.withProfileDefaults()
	if c.Type == store.Public {
		s.AuthMethod = store.AuthNone
	}
	scopes, err := s.check(by, &c)
	if err != nil {
		return store.Client{}, err
	}
	c.Name = strings.TrimSpace(s.Name)
	c.RedirectURIs = s.RedirectURIs
	c.Scopes = scopes
	c.FirstParty = s.FirstParty
	c.ResourceServer = s.ResourceServer
	c.PostLogoutRedirectURIs = s.PostLogoutRedirectURIs
	c.IDTokenSignedResponseAlg = s.idTokenAlg()
	c.DPoPBoundAccessTokens = s.DPoPBound
	c.TokenEndpointAuthMethod = s.AuthMethod
	c.JWKS = s.JWKS
	c.Profile = s.Profile
	c.RequirePAR = s.RequirePAR
	c.RefreshTokenRotation = s.RefreshRotation
	c.RefreshTokenGraceSeconds = s.RefreshGrace
	c.UpdatedAt = now
	if err := st.UpdateClient(ctx, c); err != nil {
		return store.Client{}, err
	}
	return c, nil
}
