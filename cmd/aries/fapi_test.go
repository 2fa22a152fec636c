package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// partnerJWKS writes a JWK Set of one fresh P-256 public key to dir and
// returns its path and content.
func partnerJWKS(t *testing.T, dir, kid string) (string, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: kid, Use: "sig", Algorithm: "ES256"}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, kid+".jwks")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, string(b)
}

// compactJSON is raw JSON without insignificant whitespace, to compare
// what the CLI printed with what was registered.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return b.String()
}

// TestClientsCreateFAPI2 is `aries clients create --profile fapi2 --jwks
// FILE` (docs/fapi.md): a partner registered with one setting gets what
// the profile implies and no secret, and `clients show` prints every
// setting, in JSON under the field names of docs/fapi.md.
func TestClientsCreateFAPI2(t *testing.T) {
	dir := t.TempDir()
	path, jwks := partnerJWKS(t, dir, "partner-1")
	created := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Partner",
		"--redirect-uri", "https://partner.example/cb", "--scope", "read", "--profile", "fapi2", "--jwks", path)
	if created.ClientSecret != "" {
		t.Errorf("a private_key_jwt client got a secret")
	}
	raw := ariesJSON[map[string]any](t, dir, "clients", "show", created.ClientID)
	want := map[string]any{
		"token_endpoint_auth_method":            "private_key_jwt",
		"profile":                               "fapi2",
		"require_pushed_authorization_requests": true,
		"dpop_bound_access_tokens":              true,
		"refresh_token_rotation":                "none",
		"refresh_token_grace_seconds":           float64(0),
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("clients show --json: %s = %v, want %v", k, raw[k], v)
		}
	}
	shown := ariesJSON[clientJSON](t, dir, "clients", "show", created.ClientID)
	if got := compactJSON(t, shown.JWKS); got != jwks {
		t.Errorf("jwks = %s, want the file's %s", got, jwks)
	}
	// Times are stored to the millisecond; create prints them as made.
	created.ClientSecret, created.CreatedAt, created.UpdatedAt = "", shown.CreatedAt, shown.UpdatedAt
	if diff := cmp.Diff(shown, created); diff != "" {
		t.Errorf("create --json differs from show --json (-show +create):\n%s", diff)
	}

	text, _, status := aries(t, dir, "clients", "show", created.ClientID)
	if status != 0 {
		t.Fatalf("clients show: status %d", status)
	}
	for _, line := range [][]string{
		{"token_endpoint_auth_method", "private_key_jwt"},
		{"jwks", "1 key(s): partner-1"},
		{"profile", "fapi2"},
		{"require_pushed_authorization_requests", "true"},
		{"refresh_token_rotation", "none"},
		{"refresh_token_grace_seconds", "0"},
	} {
		if !containsLine(text, line[0], line[1]) {
			t.Errorf("clients show lacks %s %s:\n%s", line[0], line[1], text)
		}
	}
	// A plain client shows the defaults.
	plain := ariesJSON[map[string]any](t, dir, "clients", "create", "--name", "Plain",
		"--redirect-uri", "https://plain.example/cb", "--scope", "read")
	if plain["token_endpoint_auth_method"] != "client_secret_basic" || plain["jwks"] != nil || plain["profile"] != "" ||
		plain["refresh_token_rotation"] != "rotate" || plain["require_pushed_authorization_requests"] != false {
		t.Errorf("plain client: %v", plain)
	}
}

// containsLine reports whether text has a line whose fields are name and
// then value.
func containsLine(text, name, value string) bool {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == name && strings.Join(f[1:], " ") == value {
			return true
		}
	}
	return false
}

// TestClientsUpdateKeepsEverySetting: `clients update` changes only the
// settings given; every other one, financial-grade settings included,
// stays as stored.
func TestClientsUpdateKeepsEverySetting(t *testing.T) {
	dir := t.TempDir()
	path, _ := partnerJWKS(t, dir, "k1")
	id := ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Broker",
		"--redirect-uri", "https://broker.example/cb", "--scope", "read trade", "--first-party", "--resource-server",
		"--post-logout-redirect-uri", "https://broker.example/bye", "--id-token-alg", "ES256", "--dpop-bound",
		"--auth-method", "private_key_jwt", "--jwks", path, "--require-par", "--refresh-rotation", "none").ClientID
	want := ariesJSON[clientJSON](t, dir, "clients", "show", id)
	want.JWKS = json.RawMessage(compactJSON(t, want.JWKS))

	newPath, newJWKS := partnerJWKS(t, dir, "k2")
	steps := []struct {
		name   string
		args   []string
		change func(*clientJSON)
	}{
		{"name only", []string{"--name", "Broker 2"}, func(c *clientJSON) { c.Name = "Broker 2" }},
		{"keys replaced", []string{"--jwks", newPath}, func(c *clientJSON) { c.JWKS = json.RawMessage(newJWKS) }},
		{"rotation with grace", []string{"--refresh-rotation", "rotate", "--refresh-grace", "30"}, func(c *clientJSON) {
			c.RefreshTokenRotation, c.RefreshTokenGraceSeconds = "rotate", 30
		}},
		{"PAR no longer required", []string{"--require-par=false"}, func(c *clientJSON) { c.RequirePushedAuthorizationRequests = false }},
		{"fapi2", []string{"--profile", "fapi2", "--refresh-rotation", "none", "--refresh-grace", "0"}, func(c *clientJSON) {
			c.Profile, c.RequirePushedAuthorizationRequests = "fapi2", true
			c.RefreshTokenRotation, c.RefreshTokenGraceSeconds = "none", 0
		}},
		{"ID token algorithm only, under fapi2", []string{"--id-token-alg", "RS256"}, func(c *clientJSON) { c.IDTokenSignedResponseAlg = "RS256" }},
		{"profile cleared", []string{"--profile", "none"}, func(c *clientJSON) { c.Profile = "" }},
	}
	for _, step := range steps {
		step.change(&want)
		got := ariesJSON[clientJSON](t, dir, append([]string{"clients", "update", id}, step.args...)...)
		got.UpdatedAt = want.UpdatedAt
		got.JWKS = json.RawMessage(compactJSON(t, got.JWKS))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("%s: client after update (-want +got):\n%s", step.name, diff)
		}
	}
}

// TestClientsJWKSFromStdin: --jwks - reads the key set from standard
// input.
func TestClientsJWKSFromStdin(t *testing.T) {
	dir := t.TempDir()
	_, jwks := partnerJWKS(t, dir, "stdin-key")
	var out, errOut bytes.Buffer
	status := run(context.Background(), []string{"aries", "--db", "sqlite:" + filepath.Join(dir, "aries.db"),
		"clients", "create", "--name", "Piped", "--redirect-uri", "https://piped.example/cb", "--scope", "read",
		"--auth-method", "private_key_jwt", "--jwks", "-", "--json"}, strings.NewReader(jwks+"\n"), &out, &errOut)
	if status != 0 {
		t.Fatalf("status %d: %s", status, errOut.String())
	}
	var c clientJSON
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if got := compactJSON(t, c.JWKS); got != jwks || c.TokenEndpointAuthMethod != "private_key_jwt" {
		t.Errorf("got method %q jwks %s, want private_key_jwt %s", c.TokenEndpointAuthMethod, got, jwks)
	}
}

// TestClientsFAPIRefusals: settings the registry refuses fail with its
// message on stderr and register nothing.
func TestClientsFAPIRefusals(t *testing.T) {
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	private, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k}}})
	privatePath := filepath.Join(dir, "private.jwks")
	if err := os.WriteFile(privatePath, private, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb", "--scope", "read"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"private key", []string{"--auth-method", "private_key_jwt", "--jwks", privatePath}, "private key material"},
		{"no keys", []string{"--auth-method", "private_key_jwt"}, "register a JWKS"},
		{"missing file", []string{"--profile", "fapi2", "--jwks", filepath.Join(dir, "nope.jwks")}, "--jwks"},
		{"unknown method", []string{"--auth-method", "tls_client_auth"}, "token_endpoint_auth_method must be"},
		{"unknown profile", []string{"--profile", "fapi1"}, "profile must be fapi2"},
		{"rotation none, bearer", []string{"--refresh-rotation", "none"}, "DPoP-bound"},
		{"grace too long", []string{"--refresh-grace", "61"}, "0-60"},
		{"public fapi2", []string{"--public", "--profile", "fapi2"}, "confidential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, status := aries(t, dir, append(base, tc.args...)...)
			if status == 0 || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("status %d, stdout %q, stderr %q: want failure mentioning %q", status, stdout, stderr, tc.want)
			}
		})
	}
	if list := ariesJSON[[]clientJSON](t, dir, "clients", "list"); len(list) != 0 {
		t.Errorf("refused creates registered %d clients", len(list))
	}
}
