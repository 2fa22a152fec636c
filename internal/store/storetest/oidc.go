package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// What OpenID Connect adds to the store (docs/oidc.md): a user's
// email_verified, a client's post-logout redirect URIs and ID token
// algorithm, the nonce and sid a code carries to its ID token, the sid a
// grant carries to the ID tokens of its refreshes, and signing keys retired
// per algorithm.

func testOIDCClientSettings(t *testing.T, s store.Store) {
	c := store.Client{
		ID:           "aries_ci_rp",
		Name:         "Relying party",
		Type:         store.Confidential,
		SecretHash:   "v1$rp",
		RedirectURIs: []string{"https://rp.example/cb"},
		Scopes:       []string{"openid", "email"},
		CreatedAt:    t0,
		UpdatedAt:    t0,
		// Kept character for character and in order, like redirect URIs:
		// RP-initiated logout matches them exactly.
		PostLogoutRedirectURIs:   []string{"https://rp.example/bye?x=1&y=%2F", "com.example.app:/bye"},
		IDTokenSignedResponseAlg: "ES256",
	}
	plain := store.Client{
		ID: "aries_ci_plain", Name: "Plain", Type: store.Public,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, Scopes: []string{"openid"},
		CreatedAt: t0, UpdatedAt: t0,
	}
	for _, c := range []store.Client{c, plain} {
		is(t, "CreateClient "+c.ID, s.CreateClient(ctx(t), c), nil)
		got, err := s.Client(ctx(t), c.ID)
		is(t, "Client "+c.ID, err, nil)
		diff(t, "Client "+c.ID, got, c)
	}

	c.PostLogoutRedirectURIs = []string{"https://rp.example/signed-out"}
	c.IDTokenSignedResponseAlg = "RS256"
	c.UpdatedAt = t0.Add(time.Minute)
	is(t, "UpdateClient", s.UpdateClient(ctx(t), c), nil)
	list, err := s.Clients(ctx(t), "")
	is(t, "Clients", err, nil)
	diff(t, "Clients after update (oldest first, then by id)", list, []store.Client{plain, c})

	c.PostLogoutRedirectURIs = nil
	is(t, "UpdateClient clearing the list", s.UpdateClient(ctx(t), c), nil)
	got, err := s.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after clearing post-logout URIs", got, c)
}

func testUserEmailVerified(t *testing.T, s store.Store) {
	verified := store.User{ID: "usr_v", Email: "Verified@Example.com", PasswordHash: "x", CreatedAt: t0, EmailVerified: true}
	unverified := store.User{ID: "usr_u", Email: "unverified@example.com", PasswordHash: "x", CreatedAt: t0}
	for _, u := range []store.User{verified, unverified} {
		is(t, "CreateUser "+u.ID, s.CreateUser(ctx(t), u), nil)
	}
	verified.Email = "verified@example.com" // stored lower-cased
	for _, want := range []store.User{verified, unverified} {
		got, err := s.UserByID(ctx(t), want.ID)
		is(t, "UserByID", err, nil)
		diff(t, "UserByID "+want.ID, got, want)
		got, err = s.UserByEmail(ctx(t), want.Email)
		is(t, "UserByEmail", err, nil)
		diff(t, "UserByEmail "+want.ID, got, want)
	}
}

func testAuthCodeNonceAndSession(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	tests := []struct {
		name, nonce, sid string
	}{
		{"oidc", "n-0S6_WzA2Mj", "sid_browser"},
		// Any printable text up to 512 bytes, kept as sent: the client
		// compares it with its own copy.
		{"long", "ünïcode nonce \"'\\ " + strings.Repeat("x", 480), "sid_2"},
		{"plain OAuth", "", ""},
	}
	for _, tt := range tests {
		c, g := newCode(tt.name, w.client.ID, w.user.ID)
		c.Nonce, c.SessionID, g.SessionID = tt.nonce, tt.sid, tt.sid
		is(t, "CreateAuthCode "+tt.name, s.CreateAuthCode(ctx(t), c, g), nil)

		looked, err := s.AuthCode(ctx(t), c.Hash, t0)
		is(t, "AuthCode "+tt.name, err, nil)
		diff(t, "AuthCode "+tt.name, looked, c)

		now := t0.Add(time.Second)
		redeemed, err := s.RedeemAuthCode(ctx(t), c.Hash, next("rt_"+tt.name, now), now)
		is(t, "RedeemAuthCode "+tt.name, err, nil)
		if redeemed.Nonce != tt.nonce || redeemed.SessionID != tt.sid {
			t.Errorf("%s: redeemed code has nonce %q, sid %q; want %q, %q", tt.name, redeemed.Nonce, redeemed.SessionID, tt.nonce, tt.sid)
		}

		got, err := s.Grant(ctx(t), g.ID)
		is(t, "Grant "+tt.name, err, nil)
		diff(t, "Grant "+tt.name, got, g)
		_, got, err = s.RefreshTokenGrant(ctx(t), "rt_"+tt.name, now)
		is(t, "RefreshTokenGrant "+tt.name, err, nil)
		diff(t, "RefreshTokenGrant "+tt.name, got, g)
		got = w.rotate(t, "rt_"+tt.name, "rt_"+tt.name+"_2", now.Add(time.Second), nil)
		if got.SessionID != tt.sid {
			t.Errorf("%s: rotated grant has sid %q, want %q", tt.name, got.SessionID, tt.sid)
		}
	}
}

func testRetireSigningKeysPerAlgorithm(t *testing.T, s store.Store) {
	key := func(id, alg string, created time.Time) store.SigningKey {
		return store.SigningKey{ID: id, Algorithm: alg, EncryptedPrivateKey: []byte{1, byte(len(id))},
			PublicJWK: []byte(`{"kid":"` + id + `"}`), CreatedAt: created}
	}
	es1, rs1 := key("es1", "ES256", t0), key("rs1", "RS256", t0)
	es2, rs2 := key("es2", "ES256", t0.Add(time.Hour)), key("rs2", "RS256", t0.Add(2*time.Hour))
	for _, k := range []store.SigningKey{es1, rs1, es2} {
		is(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx(t), k), nil)
	}

	// Rotating the access-token key leaves the ID-token key in use.
	at := t0.Add(time.Hour)
	is(t, "RetireSigningKeys es2", s.RetireSigningKeys(ctx(t), "es2", at), nil)
	es1.RetiredAt = at
	got, err := s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)
	diff(t, "SigningKeys after rotating ES256", got, []store.SigningKey{es2, rs1, es1})

	is(t, "CreateSigningKey rs2", s.CreateSigningKey(ctx(t), rs2), nil)
	at = t0.Add(2 * time.Hour)
	is(t, "RetireSigningKeys rs2", s.RetireSigningKeys(ctx(t), "rs2", at), nil)
	rs1.RetiredAt = at
	got, err = s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)
	diff(t, "SigningKeys after rotating RS256", got, []store.SigningKey{rs2, es2, rs1, es1})
}
