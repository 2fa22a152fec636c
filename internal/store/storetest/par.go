package storetest

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

func pushed(hash, clientID string) store.PushedRequest {
	return store.PushedRequest{
		Hash:     hash,
		ClientID: clientID,
		Params: url.Values{
			"response_type":  {"code"},
			"redirect_uri":   {"https://app.example/cb?x=1&y=a b"},
			"scope":          {"user:information account:information"},
			"state":          {"s&t=ä"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		},
		CreatedAt: t0,
		ExpiresAt: t0.Add(time.Minute),
	}
}

// testPushedRequests: a pushed authorization request (RFC 9126) reads back
// as written once, only for its client, only before it expires; its hash
// is unique; expired ones are swept.
func testPushedRequests(t *testing.T, s store.Store) {
	a := pushed("par_a", "aries_ci_app")
	is(t, "SavePushedRequest a", s.SavePushedRequest(ctx(t), a), nil)
	is(t, "SavePushedRequest a again", s.SavePushedRequest(ctx(t), pushed("par_a", "aries_ci_other")), store.ErrConflict)

	_, err := s.TakePushedRequest(ctx(t), "par_a", "aries_ci_other", t0)
	is(t, "TakePushedRequest by another client", err, store.ErrNotFound)
	_, err = s.TakePushedRequest(ctx(t), "par_unknown", "aries_ci_app", t0)
	is(t, "TakePushedRequest of an unknown hash", err, store.ErrNotFound)

	got, err := s.TakePushedRequest(ctx(t), "par_a", "aries_ci_app", t0.Add(59*time.Second))
	is(t, "TakePushedRequest a", err, nil)
	diff(t, "TakePushedRequest a", got, a)
	_, err = s.TakePushedRequest(ctx(t), "par_a", "aries_ci_app", t0.Add(59*time.Second))
	is(t, "TakePushedRequest a again", err, store.ErrNotFound)

	b := pushed("par_b", "aries_ci_app")
	is(t, "SavePushedRequest b", s.SavePushedRequest(ctx(t), b), nil)
	_, err = s.TakePushedRequest(ctx(t), "par_b", "aries_ci_app", b.ExpiresAt)
	is(t, "TakePushedRequest b at its expiry", err, store.ErrNotFound)

	// DeleteExpired removes b (expired) and keeps c (live).
	c := pushed("par_c", "aries_ci_app")
	c.ExpiresAt = t0.Add(2 * time.Minute)
	is(t, "SavePushedRequest c", s.SavePushedRequest(ctx(t), c), nil)
	is(t, "DeleteExpired", s.DeleteExpired(ctx(t), b.ExpiresAt), nil)
	_, err = s.TakePushedRequest(ctx(t), "par_b", "aries_ci_app", t0)
	is(t, "TakePushedRequest b after DeleteExpired, at a time it was live", err, store.ErrNotFound)
	_, err = s.TakePushedRequest(ctx(t), "par_c", "aries_ci_app", t0)
	is(t, "TakePushedRequest c after DeleteExpired", err, nil)
}

// testTakePushedRequestConcurrently: of 20 concurrent uses of one
// request_uri, exactly one gets the request.
func testTakePushedRequestConcurrently(t *testing.T, s store.Store) {
	is(t, "SavePushedRequest", s.SavePushedRequest(ctx(t), pushed("par_race", "aries_ci_app")), nil)
	errs := race(20, func(int) error {
		_, err := s.TakePushedRequest(ctx(t), "par_race", "aries_ci_app", t0)
		return err
	})
	var won int
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("taker %d: got error %v, want success or ErrNotFound", i, err)
		}
	}
	if won != 1 {
		t.Errorf("got %d takers with the request, want exactly 1", won)
	}
}
