package bearer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	// fetchTimeout bounds one JWKS fetch, whatever the caller's context.
	fetchTimeout = 10 * time.Second
	// maxJWKSSize bounds the JWKS body.
	maxJWKSSize = 1 << 20
)

// keySet is one fetched JWKS: the usable verification keys by key id.
type keySet struct {
	keys    map[string]jose.JSONWebKey
	fetched time.Time
}

// errUnknownKey is what Verify reports for a key id the JWKS does not have.
var errUnknownKey = invalid("unknown signing key")

// key returns the verification key named kid.
func (v *Verifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	ks := v.keys.Load()
	if ks != nil {
		if k, ok := ks.keys[kid]; ok {
			if v.cfg.Now().Sub(ks.fetched) >= v.cfg.RefreshInterval {
				v.refreshInBackground(ks)
			}
			return k, nil
		}
	}
	// No keys yet, or a kid we have not seen: perhaps the server rotated.
	ks, err := v.refresh(ctx, ks)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	if k, ok := ks.keys[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, errUnknownKey
}

// refresh fetches the JWKS to replace seen, the set the caller found
// wanting, and returns the set to use. Fetches are serialised: a caller that
// waited while another replaced seen uses the new set without fetching, and
// a caller within MinRefreshInterval of the last attempt gets the current
// set (or, if that attempt failed, its error) without fetching. So
// concurrent and repeated unknown key ids cost at most one fetch per
// interval.
func (v *Verifier) refresh(ctx context.Context, seen *keySet) (*keySet, error) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if cur := v.keys.Load(); cur != seen {
		return cur, nil
	}
	now := v.cfg.Now()
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < v.cfg.MinRefreshInterval {
		if v.lastErr != nil {
			return nil, v.lastErr
		}
		return seen, nil
	}
	return v.fetchLocked(ctx, now)
}

// Refresh fetches the JWKS now, regardless of the cache, and reports whether
// it could. Services may call it at start-up or from a readiness check.
func (v *Verifier) Refresh(ctx context.Context) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	_, err := v.fetchLocked(ctx, v.cfg.Now())
	return err
}

// refreshInBackground refreshes a set older than RefreshInterval without
// holding up the request that noticed it; the old keys serve meanwhile.
func (v *Verifier) refreshInBackground(seen *keySet) {
	if !v.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer v.refreshing.Store(false)
		v.refresh(context.Background(), seen)
	}()
}

// fetchLocked fetches and installs the JWKS. The caller holds fetchMu.
// A failed fetch keeps the previous set.
func (v *Verifier) fetchLocked(ctx context.Context, now time.Time) (*keySet, error) {
	v.lastAttempt = now
	ks, err := v.fetch(ctx, now)
	if err != nil {
		v.lastErr = fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
		v.cfg.Logger.WarnContext(ctx, "fetching the JWKS failed", "url", v.cfg.JWKSURL, "err", err)
		return nil, v.lastErr
	}
	v.lastErr = nil
	v.keys.Store(ks)
	return ks, nil
}

// fetch downloads (or asks Config.KeySet for) and parses the JWKS. The
// caller's cancellation does not abort it, since callers waiting on fetchMu
// share its result.
func (v *Verifier) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	if v.cfg.KeySet != nil {
		body, err := v.cfg.KeySet(ctx)
		if err != nil {
			return nil, err
		}
		return parseKeySet(body, now)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %s", v.cfg.JWKSURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSSize {
		return nil, errors.New("JWKS larger than 1 MiB")
	}
	return parseKeySet(body, now)
}

// parseKeySet keeps the keys of a JWKS (RFC 7517 section 5) that can verify
// signatures. A key this package cannot use (an unknown kty, an encryption
// key, a symmetric key, no kid) is skipped rather than failing the set, so a
// server may publish keys newer than this code.
func parseKeySet(body []byte, now time.Time) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("parsing the JWKS: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`JWKS has no "keys" member`)
	}
	ks := &keySet{keys: make(map[string]jose.JSONWebKey, len(doc.Keys)), fetched: now}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		// Only an asymmetric public key may verify: a symmetric or private
		// key in a JWKS is a published secret, not a trust anchor.
		if !k.IsPublic() || !k.Valid() {
			continue
		}
		if _, dup := ks.keys[k.KeyID]; dup {
			continue
		}
		ks.keys[k.KeyID] = k
	}
	return ks, nil
}
