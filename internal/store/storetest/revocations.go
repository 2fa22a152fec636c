package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

func testAuthCodeLookup(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	code, _ := w.issue(t, "a")
	got, err := s.AuthCode(ctx(t), code.Hash, t0)
	is(t, "AuthCode of a live code", err, nil)
	diff(t, "AuthCode", got, code)

	_, err = s.AuthCode(ctx(t), code.Hash, code.ExpiresAt)
	is(t, "AuthCode at its expiry", err, store.ErrNotFound)
	_, err = s.AuthCode(ctx(t), "code_nobody", t0)
	is(t, "AuthCode unknown", err, store.ErrNotFound)

	// Looking does not spend it; redeeming does.
	now := t0.Add(time.Second)
	_, err = s.RedeemAuthCode(ctx(t), code.Hash, next("rt_a", now), now)
	is(t, "RedeemAuthCode after AuthCode", err, nil)
	_, err = s.AuthCode(ctx(t), code.Hash, now)
	is(t, "AuthCode of a used code", err, store.ErrNotFound)
}

// revocations returns what RevocationsSince(since) reports, as sets of ids.
func revocations(t *testing.T, s store.Store, since time.Time) (jtis, grants, clients map[string]time.Time) {
	t.Helper()
	r, err := s.RevocationsSince(ctx(t), since)
	is(t, "RevocationsSince", err, nil)
	jtis, grants, clients = map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	for _, a := range r.AccessTokens {
		jtis[a.JTI] = a.RevokedAt
	}
	for _, g := range r.Grants {
		grants[g.ID] = g.RevokedAt
	}
	for _, c := range r.Clients {
		clients[c.ID] = c.RevokedAt
	}
	return jtis, grants, clients
}

func keys(m map[string]time.Time) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func testRevocationsSince(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	jtis, grants, clients := revocations(t, s, t0.Add(-time.Hour))
	if len(jtis)+len(grants)+len(clients) != 0 {
		t.Fatalf("a fresh store reports revocations: %v %v %v", jtis, grants, clients)
	}

	// Grants: revoked directly, by withdrawing consent, by disabling the
	// client.
	_, g1 := w.login(t, "one")
	_, g2 := w.login(t, "two")
	_, live := w.login(t, "live")
	is(t, "RevokeGrant", s.RevokeGrant(ctx(t), g1.ID, t0.Add(time.Minute)), nil)
	is(t, "RevokeGrant", s.RevokeGrant(ctx(t), g2.ID, t0.Add(3*time.Minute)), nil)
	_, grants, _ = revocations(t, s, t0.Add(time.Minute))
	diff(t, "grants revoked since t0+1m", keys(grants), []string{g1.ID, g2.ID})
	sameTime(t, "RevokedAt of the first grant", grants[g1.ID], t0.Add(time.Minute))
	_, grants, _ = revocations(t, s, t0.Add(2*time.Minute))
	diff(t, "grants revoked since t0+2m", keys(grants), []string{g2.ID})
	if _, ok := grants[live.ID]; ok {
		t.Error("a live grant is reported revoked")
	}

	other := mustClient(t, s, "aries_ci_other", "", t0)
	_, og := loginFor(t, s, "other", other.ID, w.user.ID)
	is(t, "DeleteConsent", s.DeleteConsent(ctx(t), w.user.ID, other.ID, t0.Add(4*time.Minute)), nil)
	_, grants, _ = revocations(t, s, t0.Add(4*time.Minute))
	diff(t, "grants revoked by DeleteConsent", keys(grants), []string{og.ID})

	// Clients: disabling reports the client at the time of disabling, and
	// its grants with it; disabling again after enabling moves the time.
	off := t0.Add(5 * time.Minute)
	is(t, "SetClientDisabled", s.SetClientDisabled(ctx(t), w.client.ID, true, off), nil)
	_, grants, clients = revocations(t, s, off)
	diff(t, "clients revoked by disabling", keys(clients), []string{w.client.ID})
	sameTime(t, "RevokedAt of the disabled client", clients[w.client.ID], off)
	if _, ok := grants[live.ID]; !ok {
		t.Error("the disabled client's live grant is not reported revoked")
	}
	is(t, "SetClientDisabled(false)", s.SetClientDisabled(ctx(t), w.client.ID, false, off.Add(time.Minute)), nil)
	_, _, clients = revocations(t, s, off.Add(time.Minute))
	if len(clients) != 0 {
		t.Errorf("enabling a client reports %v, want nothing new", keys(clients))
	}
	again := off.Add(2 * time.Minute)
	is(t, "SetClientDisabled again", s.SetClientDisabled(ctx(t), w.client.ID, true, again), nil)
	_, _, clients = revocations(t, s, again)
	sameTime(t, "RevokedAt after disabling again", clients[w.client.ID], again)

	// Deleting a client reports it even though its rows are gone. Its
	// time is the database's clock, like that of revoked access tokens.
	doomed := mustClient(t, s, "aries_ci_doomed", "", t0)
	before := time.Now().Add(-time.Second)
	is(t, "DeleteClient", s.DeleteClient(ctx(t), doomed.ID), nil)
	is(t, "RevokeAccessToken", s.RevokeAccessToken(ctx(t), "at_1", t0.Add(time.Hour)), nil)
	after := time.Now().Add(time.Second)
	jtis, _, clients = revocations(t, s, before)
	if at, ok := clients[doomed.ID]; !ok || at.Before(before) || at.After(after) {
		t.Errorf("deleted client: got %v reported at %v, want it reported between %v and %v", ok, at, before, after)
	}
	if at, ok := jtis["at_1"]; !ok || at.Before(before) || at.After(after) {
		t.Errorf("revoked access token: got %v reported at %v, want it reported between %v and %v", ok, at, before, after)
	}
	r, err := s.RevocationsSince(ctx(t), before)
	is(t, "RevocationsSince", err, nil)
	for _, a := range r.AccessTokens {
		if a.JTI == "at_1" {
			sameTime(t, "ExpiresAt of the revoked access token", a.ExpiresAt, t0.Add(time.Hour))
		}
	}
	jtis, _, clients = revocations(t, s, after)
	if len(jtis)+len(clients) != 0 {
		t.Errorf("RevocationsSince a time after them reports %v %v", keys(jtis), keys(clients))
	}
}
