package clientcenter

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/introspect"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// consent records that u approved two scopes for the client.
func (e *env) consent(u store.User, clientID string) {
	e.t.Helper()
	now := time.Now()
	err := e.st.SaveConsent(context.Background(), store.Consent{
		UserID: u.ID, ClientID: clientID, Scopes: []string{"market:information", "user:information"},
		GrantedAt: now.Add(-time.Hour), LastUsedAt: now,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// issueGrant runs what the code flow stores for u and the client (a code,
// redeemed into a grant with its first refresh token) and returns the
// refresh token and the grant id.
func issueGrant(t *testing.T, e *env, u store.User, clientID string) (refresh, grantID string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	code := secret.New(secret.CodePrefix)
	g := store.Grant{ID: secret.ID("grt_"), ClientID: clientID, UserID: u.ID, Scopes: []string{"user:information"},
		AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	ac := store.AuthCode{Hash: e.hasher.Hash(code), GrantID: g.ID, ClientID: clientID, UserID: u.ID,
		RedirectURI: "https://app.example/cb", Scopes: g.Scopes, AuthTime: now, AMR: g.AMR,
		CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	if err := e.st.CreateAuthCode(ctx, ac, g); err != nil {
		t.Fatal(err)
	}
	refresh = secret.New(secret.RefreshPrefix)
	rt := store.RefreshToken{Hash: e.hasher.Hash(refresh), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := e.st.RedeemAuthCode(ctx, ac.Hash, rt, now); err != nil {
		t.Fatal(err)
	}
	return refresh, g.ID
}

func issueRefreshToken(t *testing.T, e *env, u store.User, clientID string) string {
	refresh, _ := issueGrant(t, e, u, clientID)
	return refresh
}

func TestConnectedAppsListAndRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app, _ := e.createClient(e.other, "Chart Wizard")
	kek := make([]byte, keys.KEKSize)
	rand.Read(kek)
	ring, err := keys.Open(ctx, e.st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	minter := &accesstoken.Minter{Keys: ring, Issuer: "http://aries.test", Audience: "http://aries.test"}
	verifier, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: "http://aries.test", Audience: "http://aries.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	introspection := &introspect.Handler{Store: e.st, Hasher: e.hasher, Tokens: verifier, Issuer: "http://aries.test", Now: time.Now}

	e.consent(e.dev, app.ID)
	refresh, grantID := issueGrant(t, e, e.dev, app.ID)
	access, _, err := minter.Mint(protocol.Claims{Subject: e.dev.ID, ClientID: app.ID, Scopes: []string{"user:information"}, GrantID: grantID})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's consent to the same app must survive ada's revocation.
	e.consent(e.other, app.ID)
	othersRefresh := issueRefreshToken(t, e, e.other, app.ID)
	for _, tok := range []string{refresh, access, othersRefresh} {
		if r, err := introspection.Check(ctx, tok); err != nil || !r.Active {
			t.Fatalf("before revocation: token active %v, %v; want active", r.Active, err)
		}
	}

	b := e.signedIn(e.dev)
	resp, page := b.get("/account/apps")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /account/apps: status %d", resp.StatusCode)
	}
	for _, want := range []string{"Chart Wizard", "Access live and historical market data", "market:information",
		"View user profile and personal details", "last used", `action="/account/apps/` + app.ID + `/revoke"`} {
		if !strings.Contains(page, want) {
			t.Errorf("connected apps page lacks %q", want)
		}
	}

	resp, _ = b.post("/account/apps/"+app.ID+"/revoke", nil)
	if resp.StatusCode != http.StatusSeeOther || location(resp) != "/account/apps?notice=revoked" {
		t.Fatalf("revoke: %d to %q, want 303 to /account/apps?notice=revoked", resp.StatusCode, location(resp))
	}
	for name, tok := range map[string]string{"refresh token": refresh, "access token": access} {
		if r, err := introspection.Check(ctx, tok); err != nil || r.Active {
			t.Errorf("after revocation: the %s is active=%v (%v), want inactive", name, r.Active, err)
		}
	}
	if _, _, err := e.st.RefreshTokenGrant(ctx, e.hasher.Hash(refresh), time.Now()); err == nil {
		t.Errorf("the revoked refresh token can still be used")
	}
	if r, _ := introspection.Check(ctx, othersRefresh); !r.Active {
		t.Errorf("another user's refresh token for the same app died too")
	}
	if _, err := e.st.Consent(ctx, e.dev.ID, app.ID); err == nil {
		t.Errorf("the consent survived its revocation")
	}
	_, page = b.get("/account/apps?notice=revoked")
	if strings.Contains(page, "Chart Wizard") || !strings.Contains(page, "No app has access to your account.") ||
		!strings.Contains(page, "Access removed.") {
		t.Errorf("after revocation the page still lists the app or lacks the notice:\n%s", page)
	}
}
