package main

// The DPoP cases (RFC 9449, docs/dpop.md): the bearer cases again, with a
// proof on every request, so that the report can say what DPoP adds to the
// server's work per request. They run against Aries only: the floor has no
// DPoP, and the comparison that matters is Aries with and without it. The
// loader signs the proofs (its CPU is not the server's).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ariesexchange/aries/sdk/dpop"
)

// dpopPairs names each DPoP case with the bearer case it is compared to.
var dpopPairs = [][2]string{
	{"client_credentials", "client_credentials_dpop"},
	{"refresh_token", "refresh_token_dpop"},
	{"api_users_me", "api_users_me_dpop"},
}

// signers gives each worker a DPoP key of its own, as each client holds
// one: ES256, what the Go SDK makes by default.
func signers(n int) ([]*dpop.Signer, error) {
	out := make([]*dpop.Signer, n)
	for w := range out {
		k, err := dpop.GenerateKey()
		if err != nil {
			return nil, err
		}
		if out[w], err = dpop.NewSigner(k, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// clientCredentialsDPoP is clientCredentials with a fresh proof on each
// request: the server checks it (signature, htm, htu, iat), records its jti
// and binds the token to its key.
func clientCredentialsDPoP(ctx context.Context, t *target, _ int) (sender, error) {
	keys, err := signers(len(t.access))
	if err != nil {
		return nil, err
	}
	body := []byte("grant_type=client_credentials&scope=market%3Ainformation")
	tokenURL := t.base + "/v1/oauth2/token"
	return func(ctx context.Context, w int) int {
		proof, err := keys[w].Proof(http.MethodPost, tokenURL, "", "")
		if err != nil {
			return 0
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader(body))
		if err != nil {
			return 0
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", proof)
		req.SetBasicAuth(url.QueryEscape(t.clientID), url.QueryEscape(t.clientSecret))
		resp, err := t.client.Do(req)
		if err != nil {
			return 0
		}
		defer drain(resp)
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode
		}
		var tr tokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.TokenType != "DPoP" {
			return statusBadAnswer
		}
		return http.StatusOK
	}, nil
}

// refreshTokenDPoP is refreshToken with a proof on each rotation: each
// worker's chain, as in the bearer case, now answered with DPoP-bound
// access tokens.
func refreshTokenDPoP(ctx context.Context, t *target, _ int) (sender, error) {
	keys, err := signers(len(t.access))
	if err != nil {
		return nil, err
	}
	tokenURL := t.base + "/v1/oauth2/token"
	return func(ctx context.Context, w int) int {
		status, _ := t.rotateDPoP(ctx, w, keys[w], tokenURL)
		return status
	}, nil
}

// rotateDPoP is rotate with a proof of key: it returns the status and the
// DPoP-bound access token.
func (t *target) rotateDPoP(ctx context.Context, w int, key *dpop.Signer, tokenURL string) (int, string) {
	old, err := t.refreshToken(w)
	if err != nil {
		return statusNoToken, ""
	}
	proof, err := key.Proof(http.MethodPost, tokenURL, "", "")
	if err != nil {
		return 0, ""
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old},
		"client_id": {t.clientID}, "client_secret": {t.clientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, bytes.NewReader([]byte(form.Encode())))
	if err != nil {
		return 0, ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := t.client.Do(req)
	if err != nil {
		// The server may have rotated it before the connection broke.
		t.setRefreshToken(w, "")
		return 0, ""
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		t.setRefreshToken(w, "")
		return resp.StatusCode, ""
	}
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.RefreshToken == "" || tr.TokenType != "DPoP" {
		t.setRefreshToken(w, "")
		return statusBadAnswer, ""
	}
	t.setRefreshToken(w, tr.RefreshToken)
	return http.StatusOK, tr.AccessToken
}

// usersMeDPoP is usersMe with a DPoP-bound token and a proof carrying its
// hash on each request: the server checks the token, then the proof, and
// records its jti.
func usersMeDPoP(ctx context.Context, t *target, _ int) (sender, error) {
	keys, err := signers(len(t.access))
	if err != nil {
		return nil, err
	}
	// Each worker refreshes its token once with a proof: the access token
	// it gets is bound to its key (a confidential client's refresh token
	// is not, so the bearer cases keep working with the same chain).
	tokens := make([]string, len(keys))
	tokenURL, me := t.base+"/v1/oauth2/token", t.base+"/v1/users/me"
	for w := range tokens {
		status, tok := t.rotateDPoP(ctx, w, keys[w], tokenURL)
		if status != http.StatusOK {
			return nil, fmt.Errorf("getting a DPoP-bound token from %s: %s", t.name, statusLabel(status))
		}
		tokens[w] = tok
	}
	return func(ctx context.Context, w int) int {
		proof, err := keys[w].Proof(http.MethodGet, me, tokens[w], "")
		if err != nil {
			return 0
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, me, nil)
		if err != nil {
			return 0
		}
		req.Header.Set("Authorization", "DPoP "+tokens[w])
		req.Header.Set("DPoP", proof)
		resp, err := t.client.Do(req)
		if err != nil {
			return 0
		}
		drain(resp)
		return resp.StatusCode
	}, nil
}
