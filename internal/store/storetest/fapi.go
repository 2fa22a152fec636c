package storetest

import (
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// testFinancialGradeClientSettings: the settings of docs/fapi.md read back
// as written, are changed by UpdateClient, and a client made without them
// reads back the zero values that mean today's behaviour.
func testFinancialGradeClientSettings(t *testing.T, s store.Store) {
	plain := mustClient(t, s, "aries_ci_plain", "", t0)
	partner := store.Client{
		ID: "aries_ci_partner", Name: "Partner", Type: store.Confidential,
		RedirectURIs: []string{"https://partner.example/cb"}, Scopes: []string{"account:information"},
		CreatedAt: t0, UpdatedAt: t0, DPoPBoundAccessTokens: true,
		TokenEndpointAuthMethod: store.AuthPrivateKeyJWT,
		JWKS:                    `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		Profile:                 store.ProfileFAPI2, RequirePAR: true,
		RefreshTokenRotation: store.RotationNone, RefreshTokenGraceSeconds: 0,
	}
	is(t, "CreateClient partner", s.CreateClient(ctx(t), partner), nil)
	for _, want := range []store.Client{plain, partner} {
		got, err := s.Client(ctx(t), want.ID)
		is(t, "Client "+want.ID, err, nil)
		diff(t, "Client "+want.ID, got, want)
	}

	plain.TokenEndpointAuthMethod, plain.RefreshTokenRotation, plain.RefreshTokenGraceSeconds = store.AuthSecretPost, store.RotationRotate, 30
	plain.RequirePAR, plain.UpdatedAt = true, t0.Add(time.Minute)
	partner.Profile, partner.JWKS, partner.RequirePAR = "", "", false
	partner.TokenEndpointAuthMethod, partner.UpdatedAt = store.AuthSecretBasic, t0.Add(time.Minute)
	is(t, "UpdateClient plain", s.UpdateClient(ctx(t), plain), nil)
	is(t, "UpdateClient partner", s.UpdateClient(ctx(t), partner), nil)
	list, err := s.Clients(ctx(t), "")
	is(t, "Clients", err, nil)
	diff(t, "Clients after update", list, []store.Client{partner, plain})
}
