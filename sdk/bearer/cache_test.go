package bearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// countingKey is an ES256 public key that counts the signatures it checks.
type countingKey struct {
	pub    *ecdsa.PublicKey
	checks *atomic.Int64
}

func (k countingKey) VerifyPayload(input, signature []byte, alg jose.SignatureAlgorithm) error {
	k.checks.Add(1)
	if alg != jose.ES256 || len(signature) != 64 {
		return errors.New("not an ES256 signature")
	}
	h := sha256.Sum256(input)
	r, s := new(big.Int).SetBytes(signature[:32]), new(big.Int).SetBytes(signature[32:])
	if !ecdsa.Verify(k.pub, h[:], r, s) {
		return errors.New("bad signature")
	}
	return nil
}

func (k countingKey) Equal(x crypto.PublicKey) bool {
	o, ok := x.(countingKey)
	return ok && k.pub.Equal(o.pub)
}

// countingVerifier returns a verifier whose key set is a's key k1 as a
// countingKey, and the count of signatures checked with it.
func countingVerifier(t testing.TB, a *authority, cfg Config) (*Verifier, *atomic.Int64) {
	t.Helper()
	cfg.JWKSURL, cfg.Issuer, cfg.Audience, cfg.Logger = a.srv.URL, issuer, audience, quiet
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	checks := new(atomic.Int64)
	k1 := countingKey{pub: &a.key("k1").PublicKey, checks: checks}
	v.keys.Store(&keySet{keys: map[string]jose.JSONWebKey{"k1": {Key: k1, KeyID: "k1", Algorithm: "ES256"}}, fetched: now})
	return v, checks
}

func TestVerifiedCacheSkipsSignature(t *testing.T) {
	a := newAuthority(t)
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	ctx := context.Background()
	tests := []struct {
		size       int
		wantChecks int64
	}{
		{0, 1},  // the default cache
		{-1, 3}, // no cache
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("size ", tt.size), func(t *testing.T) {
			v, checks := countingVerifier(t, a, Config{VerifiedCacheSize: tt.size})
			for range 3 {
				c, err := v.Verify(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				if c.Subject != "usr_1" || c.JTI != "at_1" {
					t.Errorf("got sub %q jti %q, want usr_1 at_1", c.Subject, c.JTI)
				}
			}
			if got := checks.Load(); got != tt.wantChecks {
				t.Errorf("got %d signature checks for three calls, want %d", got, tt.wantChecks)
			}
			if got := a.hits.Load(); got != 0 {
				t.Errorf("got %d JWKS fetches, want 0", got)
			}
		})
	}
}

// TestVerifiedCacheChecksTimes: a remembered token is held to the times
// as a new one is: expired (beyond the leeway) it is refused without a
// signature check.
func TestVerifiedCacheChecksTimes(t *testing.T) {
	a := newAuthority(t)
	clock := now
	// No background refresh of the JWKS, which would replace the counting key.
	v, checks := countingVerifier(t, a, Config{Now: func() time.Time { return clock }, RefreshInterval: time.Hour})
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims()) // exp now+15m
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(15*time.Minute + DefaultLeeway - time.Second)
	if _, err := v.Verify(ctx, token); err != nil {
		t.Errorf("within the leeway: got %v, want it accepted", err)
	}
	clock = now.Add(15*time.Minute + DefaultLeeway)
	_, err := v.Verify(ctx, token)
	if bad, ok := errors.AsType[*InvalidTokenError](err); !ok || bad.Reason != "token expired" {
		t.Errorf("after exp and the leeway: got %v, want token expired", err)
	}
	if got := checks.Load(); got != 1 {
		t.Errorf("got %d signature checks, want 1", got)
	}
}

// TestVerifiedCacheFollowsKeySet: a remembered token passes only while the
// key that verified it is in the JWKS under the same id.
func TestVerifiedCacheFollowsKeySet(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(t *testing.T, a *authority)
		want   string
	}{
		{"kid retired", func(t *testing.T, a *authority) {
			a.mu.Lock()
			delete(a.keys, "k1")
			a.mu.Unlock()
		}, "unknown signing key"},
		{"kid reused for another key", func(t *testing.T, a *authority) { a.addKey(t, "k1") }, "bad signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthority(t)
			clock := now
			v := a.verifier(t, func() time.Time { return clock })
			token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
			if _, err := v.Verify(ctx, token); err != nil {
				t.Fatal(err)
			}
			tt.change(t, a)
			clock = now.Add(DefaultMinRefreshInterval)
			if err := v.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := v.Verify(ctx, token)
			if bad, ok := errors.AsType[*InvalidTokenError](err); !ok || bad.Reason != tt.want {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

// TestVerifiedCacheRevocation: Config.Revoked is asked on every call, and
// a token it could not clear is not remembered.
func TestVerifiedCacheRevocation(t *testing.T) {
	a := newAuthority(t)
	var asked atomic.Int64
	var revoked, down atomic.Bool
	down.Store(true)
	v, checks := countingVerifier(t, a, Config{Revoked: func(context.Context, *Claims) (bool, error) {
		asked.Add(1)
		if down.Load() {
			return false, errors.New("db down")
		}
		return revoked.Load(), nil
	}})
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	ctx := context.Background()
	if _, err := v.Verify(ctx, token); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("revocation store down: got %v, want its error", err)
	}
	down.Store(false)
	for range 2 {
		if _, err := v.Verify(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if got := checks.Load(); got != 2 {
		t.Errorf("got %d signature checks, want 2: the failed call must not be remembered", got)
	}
	revoked.Store(true)
	if _, err := v.Verify(ctx, token); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked: got %v, want ErrInvalidToken", err)
	}
	if got := asked.Load(); got != 4 {
		t.Errorf("Revoked asked %d times for 4 calls, want 4", got)
	}
}

// TestVerifiedCacheCopiesClaims: what callers (and Config.Revoked) do to
// the claims they are handed does not reach the next caller.
func TestVerifiedCacheCopiesClaims(t *testing.T) {
	a := newAuthority(t)
	v, _ := countingVerifier(t, a, Config{Revoked: func(_ context.Context, c *Claims) (bool, error) {
		c.Scopes[0] += "!" // would pile up if it reached the cache
		return false, nil
	}})
	token := sign(t, a.key("k1"), "k1", "at+jwt", validClaims())
	ctx := context.Background()
	first, err := v.Verify(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	want := *cloneClaims(first) // Scopes[0] "account:information!"
	first.Subject = "usr_2"
	first.Audience[0] = "https://evil.test"
	first.AMR[0] = "none"
	first.Scopes = append(first.Scopes[:0], "admin", "admin")
	for range 2 {
		got, err := v.Verify(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("got %+v, want %+v", *got, want)
		}
		got.Audience[0] = "https://evil.test"
	}
}

// TestCloneClaimsCoversEveryField fails when Claims gains a field holding a
// reference that cloneClaims would share with the cache.
func TestCloneClaimsCoversEveryField(t *testing.T) {
	cloned := map[string]bool{"Audience": true, "Scopes": true, "AMR": true}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for f := range typ.Fields() {
			switch f.Type.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
				if !cloned[prefix+f.Name] {
					t.Errorf("Claims.%s%s is a reference that cloneClaims does not copy", prefix, f.Name)
				}
			case reflect.Struct:
				if f.Type != reflect.TypeFor[time.Time]() {
					walk(prefix+f.Name+".", f.Type)
				}
			}
		}
	}
	walk("", reflect.TypeFor[Claims]())
}

func TestVerifiedCacheBound(t *testing.T) {
	a := newAuthority(t)
	v, _ := countingVerifier(t, a, Config{VerifiedCacheSize: 4})
	ctx := context.Background()
	for i := range 20 {
		token := sign(t, a.key("k1"), "k1", "at+jwt", with(func(c map[string]any) { c["jti"] = fmt.Sprint("at_", i) }))
		if _, err := v.Verify(ctx, token); err != nil {
			t.Fatal(err)
		}
		if n := len(v.verified.tokens); n > 4 || n == 0 {
			t.Fatalf("after %d tokens: %d remembered, want 1 to 4", i+1, n)
		}
	}
}

// TestVerifiedCachePut: a full cache drops its expired entries first and
// starts over only when that frees too little.
func TestVerifiedCachePut(t *testing.T) {
	entry := func(exp time.Time) verifiedToken { return verifiedToken{claims: Claims{Expiry: exp}} }
	sum := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	live, dead := now.Add(time.Minute), now.Add(-time.Minute)

	vc := newVerifiedCache(4)
	vc.put(sum(0), entry(dead), now, 0)
	vc.put(sum(1), entry(dead), now, 0)
	vc.put(sum(2), entry(live), now, 0)
	vc.put(sum(3), entry(live), now, 0)
	vc.put(sum(4), entry(live), now, 0)
	if _, ok := vc.get(sum(2)); !ok || len(vc.tokens) != 3 {
		t.Errorf("got %d entries (live one kept: %v), want the 2 expired dropped and 3 left", len(vc.tokens), ok)
	}
	vc.put(sum(2), entry(live), now, 0) // present: replaced, nothing dropped
	vc.put(sum(5), entry(live), now, 0)
	if len(vc.tokens) != 4 {
		t.Fatalf("got %d entries, want 4", len(vc.tokens))
	}
	vc.put(sum(6), entry(live), now, 0) // full of live entries: start over
	if _, ok := vc.get(sum(6)); !ok || len(vc.tokens) != 1 {
		t.Errorf("got %d entries, want only the new one", len(vc.tokens))
	}
}

// TestVerifiedCacheDPoP: a remembered DPoP-bound token still needs a fresh
// proof of its key on every request, and the DPoP scheme.
func TestVerifiedCacheDPoP(t *testing.T) {
	a := newAuthority(t)
	alice, mallory := newHolder(t), newHolder(t)
	bound := alice.boundToken(t, a)
	v := dpopVerifier(t, a, DPoPConfig{})
	h := protected(v, "", new(*Claims))
	proof := alice.proof(t, "GET", resourceURL, bound, "")
	if w := send(h, "GET", resourceURL, "DPoP "+bound, proof); w.Code != 200 {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	if _, ok := v.cachedClaims(sha256.Sum256([]byte(bound))); !ok {
		t.Fatal("the bound token was not remembered")
	}
	tests := []struct {
		name          string
		authorization string
		proofs        []string
		want          string
	}{
		{"replayed proof", "DPoP " + bound, []string{proof}, "invalid_dpop_proof"},
		{"no proof", "DPoP " + bound, nil, "invalid_dpop_proof"},
		{"proof of another key", "DPoP " + bound, []string{mallory.proof(t, "GET", resourceURL, bound, "")}, "invalid_token"},
		{"as Bearer", "Bearer " + bound, nil, "invalid_token"},
	}
	for _, tt := range tests {
		w := send(h, "GET", resourceURL, tt.authorization, tt.proofs...)
		if w.Code != 401 || bodyError(t, w) != tt.want {
			t.Errorf("%s: got %d %s, want 401 %s", tt.name, w.Code, w.Body, tt.want)
		}
	}
	if w := send(h, "GET", resourceURL, "DPoP "+bound, alice.proof(t, "GET", resourceURL, bound, "")); w.Code != 200 {
		t.Errorf("a fresh proof: %d %s", w.Code, w.Body)
	}
}

// TestVerifiedCacheConcurrent is for -race: callers verifying (and
// changing the claims of) the same tokens at once.
func TestVerifiedCacheConcurrent(t *testing.T) {
	a := newAuthority(t)
	v, _ := countingVerifier(t, a, Config{VerifiedCacheSize: 3})
	var tokens []string
	for i := range 5 {
		tokens = append(tokens, sign(t, a.key("k1"), "k1", "at+jwt", with(func(c map[string]any) { c["jti"] = fmt.Sprint("at_", i) })))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(tokens)
				c, err := v.Verify(ctx, tokens[n])
				if err != nil {
					t.Error(err)
					return
				}
				if want := fmt.Sprint("at_", n); c.JTI != want {
					t.Errorf("got jti %q, want %q", c.JTI, want)
				}
				c.Audience[0], c.Scopes[0], c.JTI = "x", "x", "x"
			}
		})
	}
	wg.Wait()
}
