package main

// Interoperability: a DPoP client this project did not write, the npm
// package oauth4webapi (interop/package.json pins it, interop/dpop.mjs
// drives it), gets DPoP-bound tokens from `aries serve` and calls its API
// with its own proofs (RFC 9449).

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/testenv"
)

// interopDir returns the Node project of interop/ with its packages
// installed (`cd interop && npm ci`, which .ci/run does), and node. Without
// them the test skips on a developer's machine and fails in CI.
func interopDir(t *testing.T) (dir, node string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	why := ""
	switch {
	case err != nil:
		why = "node is not installed"
	default:
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "oauth4webapi", "package.json")); err != nil {
			why = "interop/node_modules is missing: run (cd interop && npm ci)"
		}
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must run the interop test: %s", why)
		}
		t.Skipf("skipped: %s", why)
	}
	return dir, node
}

// interopResult is what interop/dpop.mjs prints at the end.
type interopResult struct {
	Error           string   `json:"error"`
	Cause           string   `json:"cause"`
	JKT             string   `json:"jkt"`
	NonceChallenges int      `json:"nonce_challenges"`
	Algs            []string `json:"dpop_signing_alg_values_supported"`
	UserID          string   `json:"user_id"`
	Code            struct {
		TokenType    string `json:"token_type"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	} `json:"code"`
	Refresh struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
	} `json:"refresh"`
	ClientCredentials struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
		JKT         string `json:"jkt"`
	} `json:"client_credentials"`
}

// TestInteropDPoP: oauth4webapi's proofs (ES256 for a public client,
// EdDSA for a confidential one) are accepted for the code, refresh and
// client credentials grants and on the API, with and without server
// nonces, and the tokens are bound to its keys.
func TestInteropDPoP(t *testing.T) {
	dir, node := interopDir(t)
	for _, tt := range []struct {
		name       string
		flags      []string
		challenges bool // oauth4webapi must have answered nonce challenges
	}{
		{"without nonces", nil, false},
		{"with --dpop-nonce", []string{"--dpop-nonce"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, append(tt.flags, generous...)...)
			got := runInterop(t, f, dir, node)
			if got.Error != "" {
				t.Fatalf("oauth4webapi failed: %s (%s)", got.Error, got.Cause)
			}
			// oauth4webapi lower-cases token types (RFC 6749 section 5.1:
			// they compare case-insensitively).
			for what, typ := range map[string]string{"code": got.Code.TokenType, "refresh": got.Refresh.TokenType, "client_credentials": got.ClientCredentials.TokenType} {
				if !strings.EqualFold(typ, "DPoP") {
					t.Errorf("%s: token_type %q, want DPoP", what, typ)
				}
			}
			if got.UserID != f.userID {
				t.Errorf("GET /v1/users/me with oauth4webapi's proof: user %q, want %q", got.UserID, f.userID)
			}
			if !slices.Equal(got.Algs, []string{"ES256", "EdDSA", "Ed25519", "PS256", "RS256"}) {
				t.Errorf("metadata as oauth4webapi read it: %v", got.Algs)
			}
			for what, tok := range map[string][2]string{
				"code":               {got.Code.AccessToken, got.JKT},
				"refresh":            {got.Refresh.AccessToken, got.JKT},
				"refresh token":      {got.Code.RefreshToken, got.JKT}, // spent, so inactive: checked below
				"client_credentials": {got.ClientCredentials.AccessToken, got.ClientCredentials.JKT},
			} {
				if what == "refresh token" {
					continue
				}
				in := f.introspectDPoP(t, tok[0])
				if !in.Active || in.TokenType != "DPoP" || in.Confirmation == nil || in.Confirmation.JKT != tok[1] {
					t.Errorf("%s token: introspection %+v, want active and bound to oauth4webapi's key %s", what, in, tok[1])
				}
			}
			if tt.challenges != (got.NonceChallenges > 0) {
				t.Errorf("oauth4webapi answered %d nonce challenges; want some: %t", got.NonceChallenges, tt.challenges)
			}
		})
	}
}

// runInterop runs interop/dpop.mjs against f, playing the user on the
// hosted pages for the authorization URL it prints.
func runInterop(t *testing.T, f *fixture, dir, node string) interopResult {
	t.Helper()
	var got interopResult
	runNodeFlow(t, f, dir, node, "dpop.mjs", []string{
		"ARIES_PUBLIC_CLIENT_ID=" + f.public.ClientID,
		"ARIES_CLIENT_ID=" + f.conf.ClientID, "ARIES_CLIENT_SECRET=" + f.conf.ClientSecret,
	}, &got)
	return got
}

// runNodeFlow runs the interop script (a file in dir) with node, its
// environment naming f's issuer and redirect URI plus env. The script
// prints one JSON line with the authorization URL it wants a user to
// visit; the test plays that user on the hosted pages and writes the URL
// the browser was sent back to on the script's standard input; the
// script's second JSON line is decoded into result.
func runNodeFlow(t *testing.T, f *fixture, dir, node, script string, env []string, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "ARIES_ISSUER="+f.URL, "ARIES_REDIRECT_URI="+f.redirectURI), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	var first struct {
		AuthorizationURL string `json:"authorization_url"`
		Error            string `json:"error"`
		Cause            string `json:"cause"`
	}
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), &first) != nil || first.AuthorizationURL == "" {
		cmd.Wait()
		t.Fatalf("interop/%s did not print an authorization URL: %q %s %s\n%s", script, lines.Text(), first.Error, first.Cause, stderr.String())
	}
	loc := testenv.AuthorizeURL(t, browser(t), f.URL, testenv.Person{Email: f.email, Password: f.password}, first.AuthorizationURL)
	io.WriteString(stdin, loc.String()+"\n")
	stdin.Close()
	if !lines.Scan() || json.Unmarshal(lines.Bytes(), result) != nil {
		cmd.Wait()
		t.Fatalf("interop/%s printed no result: %q\n%s", script, lines.Text(), stderr.String())
	}
	cmd.Wait()
}
