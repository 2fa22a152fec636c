package registry

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/store"
)

// keySet is a JWK Set of keys (public or private, as given).
func keySet(t *testing.T, keys ...jose.JSONWebKey) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ecKey(t *testing.T, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestClientKeys: a client registers public signing keys of the kinds an
// assertion may be signed with, and nothing else.
func TestClientKeys(t *testing.T) {
	ec := ecKey(t, elliptic.P256())
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaSmall, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ok := keySet(t,
		jose.JSONWebKey{Key: ec.Public(), KeyID: "ec", Use: "sig"},
		jose.JSONWebKey{Key: ed.Public(), KeyID: "ed"},
		jose.JSONWebKey{Key: rsa2048.Public(), KeyID: "rsa", Algorithm: "PS256"})
	keys, err := ClientKeys(ok)
	if err != nil {
		t.Fatalf("ClientKeys of P-256, Ed25519 and RSA-2048 public keys: %v", err)
	}
	if len(keys) != 3 {
		t.Errorf("got %d keys, want 3", len(keys))
	}
	for name, tc := range map[string]struct{ raw, want string }{
		"too large":   {`{"keys":[` + strings.Repeat(" ", MaxJWKSBytes) + `]}`, "at most"},
		"not JSON":    {`keys: [...]`, "not a JWK Set"},
		"a lone key":  {`{"kty":"EC","crv":"P-256","x":"","y":""}`, "holds no key"},
		"empty":       {`{"keys":[]}`, "holds no key"},
		"private key": {keySet(t, jose.JSONWebKey{Key: ec, KeyID: "ec"}), "private key material"},
		"shared key":  {keySet(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs"}), "private key material"},
		"enc key":     {keySet(t, jose.JSONWebKey{Key: ec.Public(), Use: "enc"}), `use "enc"`},
		"P-384":       {keySet(t, jose.JSONWebKey{Key: ecKey(t, elliptic.P384()).Public()}), "P-256"},
		"RSA-1024":    {keySet(t, jose.JSONWebKey{Key: rsaSmall.Public()}), "2048 bits"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ClientKeys(tc.raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// TestFinancialGradeRules: the combinations docs/fapi.md allows and those
// the registry refuses, on create, each refusal naming what is wrong.
func TestFinancialGradeRules(t *testing.T) {
	jwks := keySet(t, jose.JSONWebKey{Key: ecKey(t, elliptic.P256()).Public(), KeyID: "k1"})
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		want string // "" when accepted; else in the refusal
	}{
		{name: "defaults", edit: func(*Spec) {}},
		{name: "client_secret_basic", edit: func(s *Spec) { s.AuthMethod = store.AuthSecretBasic }},
		{name: "client_secret_post", edit: func(s *Spec) { s.AuthMethod = store.AuthSecretPost }},
		{name: "private_key_jwt", edit: func(s *Spec) { s.AuthMethod, s.JWKS = store.AuthPrivateKeyJWT, jwks }},
		{name: "fapi2", edit: func(s *Spec) { s.Profile, s.JWKS = store.ProfileFAPI2, jwks }},
		{name: "fapi2 with a grace window", edit: func(s *Spec) {
			s.Profile, s.JWKS, s.RefreshRotation, s.RefreshGrace = store.ProfileFAPI2, jwks, store.RotationRotate, 30
		}},
		{name: "rotation none, DPoP-bound", edit: func(s *Spec) { s.RefreshRotation, s.DPoPBound = store.RotationNone, true }},
		{name: "grace 60", edit: func(s *Spec) { s.RefreshGrace = 60 }},
		{name: "public, none", edit: func(s *Spec) { s.Public, s.AuthMethod = true, store.AuthNone }},

		{name: "unknown method", edit: func(s *Spec) { s.AuthMethod = "client_secret_jwt" }, want: "token_endpoint_auth_method must be"},
		{name: "none for a confidential client", edit: func(s *Spec) { s.AuthMethod = store.AuthNone }, want: "none is for public clients"},
		{name: "public, secret method", edit: func(s *Spec) { s.Public, s.AuthMethod = true, store.AuthSecretBasic }, want: "public client authenticates with token_endpoint_auth_method none"},
		{name: "private_key_jwt without keys", edit: func(s *Spec) { s.AuthMethod = store.AuthPrivateKeyJWT }, want: "register a JWKS"},
		{name: "bad JWKS", edit: func(s *Spec) { s.AuthMethod, s.JWKS = store.AuthPrivateKeyJWT, `{"keys":[]}` }, want: "holds no key"},
		{name: "unknown profile", edit: func(s *Spec) { s.Profile = "fapi1" }, want: "profile must be fapi2"},
		{name: "fapi2 public", edit: func(s *Spec) { s.Public, s.Profile = true, store.ProfileFAPI2 }, want: "fapi2 profile is for confidential clients"},
		{name: "fapi2 with a secret", edit: func(s *Spec) { s.Profile, s.AuthMethod = store.ProfileFAPI2, store.AuthSecretBasic }, want: "authenticates clients with private_key_jwt"},
		{name: "fapi2 rotating without grace", edit: func(s *Spec) {
			s.Profile, s.JWKS, s.RefreshRotation = store.ProfileFAPI2, jwks, store.RotationRotate
		}, want: "only with a grace window"},
		{name: "rotation none, bearer tokens", edit: func(s *Spec) { s.RefreshRotation = store.RotationNone }, want: "DPoP-bound"},
		{name: "rotation none, public", edit: func(s *Spec) { s.Public, s.RefreshRotation, s.DPoPBound = true, store.RotationNone, true }, want: "only for confidential clients"},
		{name: "rotation none with grace", edit: func(s *Spec) {
			s.RefreshRotation, s.DPoPBound, s.RefreshGrace = store.RotationNone, true, 10
		}, want: "with rotation none set it to 0"},
		{name: "unknown rotation", edit: func(s *Spec) { s.RefreshRotation = "sometimes" }, want: "rotate or none"},
		{name: "grace 61", edit: func(s *Spec) { s.RefreshGrace = 61 }, want: "0-60"},
		{name: "grace negative", edit: func(s *Spec) { s.RefreshGrace = -1 }, want: "0-60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRegistryEnv(t)
			s := spec("read")
			tc.edit(&s)
			_, _, err := Create(e.ctx, e.st, e.h, Operator, s, e.now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var refusal *Refusal
			if !errors.As(err, &refusal) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a refusal mentioning %q", err, tc.want)
			}
		})
	}
}

// TestFAPI2Defaults: a fapi2 client gets what the profile implies
// (private_key_jwt, PAR, DPoP-bound tokens, no rotation) and no secret,
// and View shows every setting under its docs/fapi.md name.
func TestFAPI2Defaults(t *testing.T) {
	e := newRegistryEnv(t)
	jwks := keySet(t, jose.JSONWebKey{Key: ecKey(t, elliptic.P256()).Public(), KeyID: "k1", Use: "sig"})
	s := spec("read")
	s.Profile, s.JWKS = store.ProfileFAPI2, jwks
	c, sec, err := Create(e.ctx, e.st, e.h, Operator, s, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if sec != "" || c.SecretHash != "" {
		t.Errorf("a private_key_jwt client got a secret")
	}
	stored, err := e.st.Client(e.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := View(stored, "")
	got := map[string]any{
		"token_endpoint_auth_method": v.TokenEndpointAuthMethod, "profile": v.Profile,
		"require_pushed_authorization_requests": v.RequirePushedAuthorizationRequests,
		"dpop_bound_access_tokens":              v.DPoPBoundAccessTokens,
		"refresh_token_rotation":                v.RefreshTokenRotation, "refresh_token_grace_seconds": v.RefreshTokenGraceSeconds,
	}
	want := map[string]any{
		"token_endpoint_auth_method": "private_key_jwt", "profile": "fapi2",
		"require_pushed_authorization_requests": true, "dpop_bound_access_tokens": true,
		"refresh_token_rotation": "none", "refresh_token_grace_seconds": 0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("View (-want +got):\n%s", diff)
	}
	if string(v.JWKS) != jwks {
		t.Errorf("View jwks = %s, want %s", v.JWKS, jwks)
	}
	if _, err := RotateSecret(e.ctx, e.st, e.h, c.ID, e.now); err == nil {
		t.Error("RotateSecret gave a private_key_jwt client a secret")
	}
	// A plain client shows the effective defaults.
	plain, _, err := Create(e.ctx, e.st, e.h, Operator, spec("read"), e.now)
	if err != nil {
		t.Fatal(err)
	}
	if v := View(plain, ""); v.TokenEndpointAuthMethod != "client_secret_basic" || v.RefreshTokenRotation != "rotate" || string(v.JWKS) != "null" || v.Profile != "" {
		t.Errorf("plain client View: method %q rotation %q jwks %s profile %q", v.TokenEndpointAuthMethod, v.RefreshTokenRotation, v.JWKS, v.Profile)
	}
}

// TestSwitchToSecret: a private_key_jwt client moved to a secret method
// needs a secret, which RotateSecret then gives it.
func TestSwitchToSecret(t *testing.T) {
	e := newRegistryEnv(t)
	s := spec("read")
	s.AuthMethod, s.JWKS = store.AuthPrivateKeyJWT, keySet(t, jose.JSONWebKey{Key: ecKey(t, elliptic.P256()).Public()})
	c := e.existing(t, s)
	if NeedsSecret(c) {
		t.Error("a private_key_jwt client needs no secret")
	}
	s.AuthMethod = store.AuthSecretBasic
	c, err := Update(e.ctx, e.st, Operator, c, s, e.now)
	if err != nil {
		t.Fatalf("Update to client_secret_basic: %v", err)
	}
	if !NeedsSecret(c) {
		t.Error("NeedsSecret is false for a client_secret_basic client without a secret")
	}
	sec, err := RotateSecret(e.ctx, e.st, e.h, c.ID, e.now)
	if err != nil || sec == "" {
		t.Fatalf("RotateSecret: %q, %v", sec, err)
	}
	if c, _ = e.st.Client(e.ctx, c.ID); NeedsSecret(c) || !e.h.Verify(sec, c.SecretHash) {
		t.Error("the new secret is not the client's")
	}
}
