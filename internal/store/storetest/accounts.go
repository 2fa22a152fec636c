package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	alice := store.User{
		ID:           "usr_alice",
		Email:        "alice@example.com",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Admin:        true,
		CreatedAt:    t0,
	}
	bob := store.User{ID: "usr_bob", Email: "bob@example.com", PasswordHash: "h", CreatedAt: t0.Add(time.Hour)}
	for _, u := range []store.User{alice, bob} {
		is(t, "CreateUser", s.CreateUser(ctx(t), u), nil)
	}
	for _, want := range []store.User{alice, bob} {
		got, err := s.UserByID(ctx(t), want.ID)
		is(t, "UserByID", err, nil)
		diff(t, "UserByID", got, want)

		got, err = s.UserByEmail(ctx(t), want.Email)
		is(t, "UserByEmail", err, nil)
		diff(t, "UserByEmail", got, want)
	}

	_, err := s.UserByID(ctx(t), "usr_nobody")
	is(t, "UserByID unknown", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx(t), "nobody@example.com")
	is(t, "UserByEmail unknown", err, store.ErrNotFound)
}

func testUserEmailCase(t *testing.T, s store.Store) {
	u := store.User{ID: "usr_alice", Email: "Alice@Example.COM", PasswordHash: "h", CreatedAt: t0}
	is(t, "CreateUser", s.CreateUser(ctx(t), u), nil)

	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.COM", "aLiCe@example.com"} {
		got, err := s.UserByEmail(ctx(t), email)
		is(t, "UserByEmail("+email+")", err, nil)
		if got.ID != u.ID {
			t.Errorf("UserByEmail(%q): got id %q, want %q", email, got.ID, u.ID)
		}
		if got.Email != "alice@example.com" {
			t.Errorf("UserByEmail(%q): got email %q, want it stored lower-cased, %q", email, got.Email, "alice@example.com")
		}
	}
}

func testUserConflicts(t *testing.T, s store.Store) {
	u := store.User{ID: "usr_alice", Email: "alice@example.com", PasswordHash: "h", CreatedAt: t0}
	is(t, "CreateUser", s.CreateUser(ctx(t), u), nil)

	tests := []struct {
		name string
		u    store.User
	}{
		{"same email", store.User{ID: "usr_other", Email: "alice@example.com", PasswordHash: "h", CreatedAt: t0}},
		{"same email other case", store.User{ID: "usr_other", Email: "ALICE@example.com", PasswordHash: "h", CreatedAt: t0}},
		{"same id", store.User{ID: "usr_alice", Email: "other@example.com", PasswordHash: "h", CreatedAt: t0}},
	}
	for _, tt := range tests {
		is(t, "CreateUser with "+tt.name, s.CreateUser(ctx(t), tt.u), store.ErrConflict)
	}
	got, err := s.UserByID(ctx(t), "usr_alice")
	is(t, "UserByID", err, nil)
	diff(t, "user after conflicts", got, u)
}

func testClients(t *testing.T, s store.Store) {
	c := store.Client{
		ID:         "aries_ci_app",
		Name:       "Trading App",
		Type:       store.Confidential,
		FirstParty: true,
		SecretHash: "v1$abc",
		// Kept character for character and in order: the authorize
		// endpoint compares redirect URIs exactly.
		RedirectURIs: []string{
			"https://app.example/cb?x=1&y=%2F",
			"http://127.0.0.1:8080/callback",
			"com.example.app:/oauth2redirect",
			"https://App.Example/CB",
			"https://app.example/a b\"c'd\\e",
			"https://app.example/ünïcode",
		},
		Scopes:         []string{"user:information", "order:execution", "account:information"},
		Disabled:       false,
		OwnerID:        "",
		ResourceServer: true, // and false for the public client below
		CreatedAt:      t0,
		UpdatedAt:      t0.Add(time.Minute),
	}
	public := store.Client{
		ID:           "aries_ci_cli",
		Name:         "CLI",
		Type:         store.Public,
		RedirectURIs: []string{"http://127.0.0.1/callback"},
		Scopes:       []string{"market:information"},
		CreatedAt:    t0,
		UpdatedAt:    t0,
	}
	for _, c := range []store.Client{c, public} {
		is(t, "CreateClient", s.CreateClient(ctx(t), c), nil)
	}
	for _, want := range []store.Client{c, public} {
		got, err := s.Client(ctx(t), want.ID)
		is(t, "Client", err, nil)
		diff(t, "Client", got, want)
	}

	_, err := s.Client(ctx(t), "aries_ci_nobody")
	is(t, "Client unknown", err, store.ErrNotFound)

	dup := public
	dup.ID = c.ID
	is(t, "CreateClient with a taken id", s.CreateClient(ctx(t), dup), store.ErrConflict)
	got, err := s.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after conflict", got, c)
}

func testClientList(t *testing.T, s store.Store) {
	mustUser(t, s, "usr_dev", "dev@example.com")
	// Inserted out of order: the list is by creation time.
	c3 := mustClient(t, s, "aries_ci_3", "usr_dev", t0.Add(2*time.Hour))
	c1 := mustClient(t, s, "aries_ci_1", "usr_dev", t0)
	c2 := mustClient(t, s, "aries_ci_2", "", t0.Add(time.Hour))

	tests := []struct {
		owner string
		want  []store.Client
	}{
		{"", []store.Client{c1, c2, c3}},
		{"usr_dev", []store.Client{c1, c3}},
		{"usr_nobody", nil},
	}
	for _, tt := range tests {
		got, err := s.Clients(ctx(t), tt.owner)
		is(t, "Clients("+tt.owner+")", err, nil)
		diff(t, "Clients("+tt.owner+")", got, tt.want)
	}
}

func testUpdateClient(t *testing.T, s store.Store) {
	mustUser(t, s, "usr_dev", "dev@example.com")
	c := mustClient(t, s, "aries_ci_app", "usr_dev", t0)

	update := store.Client{
		ID:             c.ID,
		Name:           "Renamed",
		FirstParty:     true,
		ResourceServer: true,
		RedirectURIs:   []string{"https://new.example/cb", "http://[::1]:9000/cb"},
		Scopes:         []string{"market:information"},
		UpdatedAt:      t0.Add(time.Hour),
		// Not UpdateClient's to change:
		Type:       store.Public,
		SecretHash: "v1$other",
		Disabled:   true,
		OwnerID:    "usr_other",
		CreatedAt:  t0.Add(time.Hour),
	}
	is(t, "UpdateClient", s.UpdateClient(ctx(t), update), nil)

	want := c
	want.Name = update.Name
	want.FirstParty = update.FirstParty
	want.ResourceServer = update.ResourceServer
	want.RedirectURIs = update.RedirectURIs
	want.Scopes = update.Scopes
	want.UpdatedAt = update.UpdatedAt
	got, err := s.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after UpdateClient", got, want)

	// The flags can be taken away again.
	update.FirstParty, update.ResourceServer = false, false
	is(t, "UpdateClient clearing flags", s.UpdateClient(ctx(t), update), nil)
	want.FirstParty, want.ResourceServer = false, false
	got, err = s.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after clearing flags", got, want)

	update.ID = "aries_ci_nobody"
	is(t, "UpdateClient unknown", s.UpdateClient(ctx(t), update), store.ErrNotFound)
}

func testSetClientSecret(t *testing.T, s store.Store) {
	c := mustClient(t, s, "aries_ci_app", "", t0)
	now := t0.Add(time.Hour)
	is(t, "SetClientSecret", s.SetClientSecret(ctx(t), c.ID, "v1$rotated", now), nil)

	want := c
	want.SecretHash = "v1$rotated"
	want.UpdatedAt = now
	got, err := s.Client(ctx(t), c.ID)
	is(t, "Client", err, nil)
	diff(t, "Client after SetClientSecret", got, want)

	is(t, "SetClientSecret unknown", s.SetClientSecret(ctx(t), "aries_ci_nobody", "x", now), store.ErrNotFound)
}

func testDisableClient(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	other := mustClient(t, s, "aries_ci_other", "", t0)
	rt, g := w.login(t, "a")
	code, codeGrant := w.issue(t, "pending")
	otherRT, _ := loginFor(t, s, "other", other.ID, w.user.ID)

	off := t0.Add(10 * time.Second)
	is(t, "SetClientDisabled(true)", s.SetClientDisabled(ctx(t), w.client.ID, true, off), nil)
	c, err := s.Client(ctx(t), w.client.ID)
	is(t, "Client", err, nil)
	if !c.Disabled {
		t.Errorf("Client.Disabled after disabling: got false, want true")
	}
	sameTime(t, "Client.UpdatedAt after disabling", c.UpdatedAt, off)

	for _, id := range []string{g.ID, codeGrant.ID} {
		got, err := s.Grant(ctx(t), id)
		is(t, "Grant", err, nil)
		sameTime(t, "RevokedAt of grant "+id, got.RevokedAt, off)
	}
	w.rotate(t, rt.Hash, "rt_after_disable", off.Add(time.Second), store.ErrRevoked)
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_pending", off), off.Add(time.Second))
	is(t, "RedeemAuthCode of a code issued before disabling", err, store.ErrRevoked)

	// Enabling again does not bring revoked tokens back.
	on := off.Add(time.Minute)
	is(t, "SetClientDisabled(false)", s.SetClientDisabled(ctx(t), w.client.ID, false, on), nil)
	c, err = s.Client(ctx(t), w.client.ID)
	is(t, "Client", err, nil)
	if c.Disabled {
		t.Errorf("Client.Disabled after enabling: got true, want false")
	}
	w.rotate(t, rt.Hash, "rt_after_enable", on.Add(time.Second), store.ErrRevoked)

	// Another client's tokens are untouched.
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: other.ID, Hash: otherRT.Hash, Next: next("rt_other_2", on)}, on)
	is(t, "RotateRefreshToken of another client", err, nil)

	is(t, "SetClientDisabled unknown", s.SetClientDisabled(ctx(t), "aries_ci_nobody", true, on), store.ErrNotFound)
}

func testDeleteClient(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	other := mustClient(t, s, "aries_ci_other", "", t0)
	rt, g := w.login(t, "a")
	code, _ := w.issue(t, "pending")
	is(t, "SaveConsent", s.SaveConsent(ctx(t), store.Consent{
		UserID: w.user.ID, ClientID: w.client.ID, Scopes: []string{"user:information"}, GrantedAt: t0,
	}), nil)
	otherRT, _ := loginFor(t, s, "other", other.ID, w.user.ID)

	is(t, "DeleteClient", s.DeleteClient(ctx(t), w.client.ID), nil)

	now := t0.Add(time.Minute)
	_, err := s.Client(ctx(t), w.client.ID)
	is(t, "Client after delete", err, store.ErrNotFound)
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: w.client.ID, Hash: rt.Hash, Next: next("rt_2", now)}, now)
	is(t, "RotateRefreshToken after delete", err, store.ErrNotFound)
	_, _, err = s.RefreshTokenGrant(ctx(t), rt.Hash, now)
	is(t, "RefreshTokenGrant after delete", err, store.ErrNotFound)
	_, err = s.Grant(ctx(t), g.ID)
	is(t, "Grant after delete", err, store.ErrNotFound)
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_pending", now), t0.Add(time.Second))
	is(t, "RedeemAuthCode after delete", err, store.ErrNotFound)
	_, err = s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent after delete", err, store.ErrNotFound)

	list, err := s.Clients(ctx(t), "")
	is(t, "Clients", err, nil)
	diff(t, "Clients after delete", list, []store.Client{other})
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: other.ID, Hash: otherRT.Hash, Next: next("rt_other_2", now)}, now)
	is(t, "RotateRefreshToken of another client", err, nil)

	is(t, "DeleteClient again", s.DeleteClient(ctx(t), w.client.ID), store.ErrNotFound)
}

func testSigningKeys(t *testing.T, s store.Store) {
	got, err := s.SigningKeys(ctx(t))
	is(t, "SigningKeys of an empty store", err, nil)
	if len(got) != 0 {
		t.Fatalf("SigningKeys of an empty store: got %d keys, want 0", len(got))
	}

	key := func(id string, created time.Time) store.SigningKey {
		return store.SigningKey{
			ID:                  id,
			Algorithm:           "ES256",
			EncryptedPrivateKey: []byte{0x00, 0xff, 0x10, byte(len(id))},
			PublicJWK:           []byte(`{"kty":"EC","crv":"P-256","kid":"` + id + `"}`),
			CreatedAt:           created,
		}
	}
	k1, k2, k3 := key("k1", t0), key("k2", t0.Add(time.Hour)), key("k3", t0.Add(2*time.Hour))
	for _, k := range []store.SigningKey{k2, k3, k1} {
		is(t, "CreateSigningKey "+k.ID, s.CreateSigningKey(ctx(t), k), nil)
	}
	got, err = s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)
	diff(t, "SigningKeys (newest first)", got, []store.SigningKey{k3, k2, k1})

	is(t, "CreateSigningKey with a taken id", s.CreateSigningKey(ctx(t), key("k1", t0.Add(3*time.Hour))), store.ErrConflict)

	retire1 := t0.Add(3 * time.Hour)
	is(t, "RetireSigningKeys", s.RetireSigningKeys(ctx(t), "k3", retire1), nil)
	k1.RetiredAt, k2.RetiredAt = retire1, retire1
	got, err = s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)
	diff(t, "SigningKeys after retiring all but k3", got, []store.SigningKey{k3, k2, k1})

	// A key retired earlier keeps its first retirement time.
	k4 := key("k4", t0.Add(4*time.Hour))
	is(t, "CreateSigningKey k4", s.CreateSigningKey(ctx(t), k4), nil)
	retire2 := t0.Add(5 * time.Hour)
	is(t, "RetireSigningKeys", s.RetireSigningKeys(ctx(t), "k4", retire2), nil)
	k3.RetiredAt = retire2
	got, err = s.SigningKeys(ctx(t))
	is(t, "SigningKeys", err, nil)
	diff(t, "SigningKeys after retiring all but k4", got, []store.SigningKey{k4, k3, k2, k1})
}

func testSessions(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	sess := store.Session{
		IDHash:    "sess_1",
		UserID:    w.user.ID,
		AuthTime:  t0.Add(-time.Minute),
		AMR:       []string{"pwd", "otp"},
		CreatedAt: t0,
		ExpiresAt: t0.Add(8 * time.Hour),
	}
	other := store.Session{IDHash: "sess_2", UserID: w.user.ID, AuthTime: t0, AMR: []string{"pwd"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	is(t, "CreateSession", s.CreateSession(ctx(t), sess), nil)
	is(t, "CreateSession", s.CreateSession(ctx(t), other), nil)
	is(t, "CreateSession with a taken id", s.CreateSession(ctx(t), sess), store.ErrConflict)

	tests := []struct {
		name string
		hash string
		now  time.Time
		want error
	}{
		{"live", sess.IDHash, t0, nil},
		{"last live millisecond", sess.IDHash, sess.ExpiresAt.Add(-time.Millisecond), nil},
		{"at expiry", sess.IDHash, sess.ExpiresAt, store.ErrNotFound},
		{"after expiry", sess.IDHash, sess.ExpiresAt.Add(time.Hour), store.ErrNotFound},
		{"unknown", "sess_nobody", t0, store.ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Session(ctx(t), tt.hash, tt.now)
		is(t, "Session "+tt.name, err, tt.want)
		if tt.want == nil {
			diff(t, "Session "+tt.name, got, sess)
		}
	}

	is(t, "DeleteSession", s.DeleteSession(ctx(t), sess.IDHash), nil)
	_, err := s.Session(ctx(t), sess.IDHash, t0)
	is(t, "Session after delete", err, store.ErrNotFound)
	is(t, "DeleteSession again", s.DeleteSession(ctx(t), sess.IDHash), nil)
	_, err = s.Session(ctx(t), other.IDHash, t0)
	is(t, "other Session after delete", err, nil)
}

func testConsents(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c2 := mustClient(t, s, "aries_ci_two", "", t0)
	bob := mustUser(t, s, "usr_bob", "bob@example.com")

	_, err := s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent before any", err, store.ErrNotFound)

	first := store.Consent{
		UserID:    w.user.ID,
		ClientID:  w.client.ID,
		Scopes:    []string{"user:information", "account:information", "user:information"},
		GrantedAt: t0,
	}
	is(t, "SaveConsent", s.SaveConsent(ctx(t), first), nil)
	got, err := s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent", err, nil)
	want := first
	want.Scopes = []string{"user:information", "account:information"}
	diff(t, "Consent (duplicates dropped)", got, want)

	// A second consent adds scopes; it never removes any. GrantedAt stays
	// the time of the first consent.
	used := t0.Add(time.Hour)
	is(t, "SaveConsent again", s.SaveConsent(ctx(t), store.Consent{
		UserID:     w.user.ID,
		ClientID:   w.client.ID,
		Scopes:     []string{"account:information", "order:execution"},
		GrantedAt:  used,
		LastUsedAt: used,
	}), nil)
	got, err = s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent", err, nil)
	want = store.Consent{
		UserID:     w.user.ID,
		ClientID:   w.client.ID,
		Scopes:     []string{"user:information", "account:information", "order:execution"},
		GrantedAt:  t0,
		LastUsedAt: used,
	}
	diff(t, "Consent after merge", got, want, sortStrings)

	second := store.Consent{UserID: w.user.ID, ClientID: c2.ID, Scopes: []string{"market:information"}, GrantedAt: t0.Add(time.Minute)}
	bobs := store.Consent{UserID: bob.ID, ClientID: w.client.ID, Scopes: []string{"order:information"}, GrantedAt: t0}
	is(t, "SaveConsent", s.SaveConsent(ctx(t), second), nil)
	is(t, "SaveConsent", s.SaveConsent(ctx(t), bobs), nil)

	list, err := s.Consents(ctx(t), w.user.ID)
	is(t, "Consents", err, nil)
	diff(t, "Consents (oldest first, this user's only)", list, []store.Consent{want, second}, sortStrings)

	list, err = s.Consents(ctx(t), "usr_nobody")
	is(t, "Consents of a user without any", err, nil)
	if len(list) != 0 {
		t.Errorf("Consents of a user without any: got %d, want 0", len(list))
	}
}

func testDeleteConsent(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	c2 := mustClient(t, s, "aries_ci_two", "", t0)
	bob := mustUser(t, s, "usr_bob", "bob@example.com")
	for _, c := range []store.Consent{
		{UserID: w.user.ID, ClientID: w.client.ID, Scopes: []string{"user:information"}, GrantedAt: t0},
		{UserID: w.user.ID, ClientID: c2.ID, Scopes: []string{"user:information"}, GrantedAt: t0},
		{UserID: bob.ID, ClientID: w.client.ID, Scopes: []string{"user:information"}, GrantedAt: t0},
	} {
		is(t, "SaveConsent", s.SaveConsent(ctx(t), c), nil)
	}
	rt1, g1 := w.login(t, "one")
	_, g2 := w.login(t, "two")
	rtOtherClient, _ := loginFor(t, s, "otherclient", c2.ID, w.user.ID)
	rtBob, _ := loginFor(t, s, "bob", w.client.ID, bob.ID)

	now := t0.Add(time.Hour)
	is(t, "DeleteConsent", s.DeleteConsent(ctx(t), w.user.ID, w.client.ID, now), nil)

	_, err := s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent after delete", err, store.ErrNotFound)
	for _, id := range []string{g1.ID, g2.ID} {
		g, err := s.Grant(ctx(t), id)
		is(t, "Grant", err, nil)
		sameTime(t, "RevokedAt of "+id, g.RevokedAt, now)
	}
	w.rotate(t, rt1.Hash, "rt_one_2", now, store.ErrRevoked)

	// The user's other clients and other users of this client keep theirs.
	_, err = s.Consent(ctx(t), w.user.ID, c2.ID)
	is(t, "Consent for another client", err, nil)
	_, err = s.Consent(ctx(t), bob.ID, w.client.ID)
	is(t, "Consent of another user", err, nil)
	_, err = s.UseRefreshToken(ctx(t), store.RefreshUse{ClientID: c2.ID, Hash: rtOtherClient.Hash, Next: next("rt_oc_2", now)}, now)
	is(t, "RotateRefreshToken for another client", err, nil)
	w.rotate(t, rtBob.Hash, "rt_bob_2", now, nil)

	is(t, "DeleteConsent again", s.DeleteConsent(ctx(t), w.user.ID, w.client.ID, now), nil)
}

// testSaveConsentConcurrently: consents saved at once for one user and
// client (two tabs approving different scopes) lose no scope. A backend that
// reads, merges and writes without a lock loses updates or fails here.
func testSaveConsentConcurrently(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	const n = 20
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint("scope:", i))
	}
	errs := race(n, func(i int) error {
		return s.SaveConsent(ctx(t), store.Consent{
			UserID: w.user.ID, ClientID: w.client.ID, Scopes: []string{"user:information", want[i]}, GrantedAt: t0,
		})
	})
	for i, err := range errs {
		is(t, fmt.Sprint("SaveConsent ", i), err, nil)
	}
	got, err := s.Consent(ctx(t), w.user.ID, w.client.ID)
	is(t, "Consent", err, nil)
	want = append(want, "user:information")
	slices.Sort(want)
	diff(t, "scopes after concurrent saves", got.Scopes, want, sortStrings)
}
