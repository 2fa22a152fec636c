package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

const demoEmail = "demo@aries.local"

// seedDemo creates, once, a demo user and three clients (confidential,
// public and first-party) that land on the server's own /demo/callback
// page, and prints how to try them. Secrets exist in clear only in this
// output and in envFile, so a later start prints the ids and says how to
// get new credentials.
//
// envFile, when not "", receives the same credentials as shell variables,
// so docs/quickstart.md can be followed by copy and paste (`set -a; .
// ./aries-data/demo.env; set +a`). It is written once, mode 0600, beside
// the database and its secret.key, which already unlocks everything in
// that folder; a server started without --demo never writes it.
func seedDemo(ctx context.Context, e *env, issuer, envFile string, out say) error {
	callback := issuer + "/demo/callback"
	_, err := e.store.UserByEmail(ctx, demoEmail)
	if err == nil {
		out.line(fmt.Sprintf("\nDemo already seeded: user %s; its password and the client secret were printed at the first start.\n"+
			"List the clients with `aries clients list`, give one a new secret with `aries clients rotate-secret ID`,\n"+
			"or start from a fresh data directory.\n\n", demoEmail),
			"demo already seeded; its password and the client secret were printed at the first start", "user", demoEmail)
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	password := rand.Text()[:20]
	if _, err := createUser(ctx, e, demoEmail, password, false, false); err != nil {
		return err
	}
	conf, confSecret, err := registry.Create(ctx, e.store, e.hasher, registry.Operator, registry.Spec{
		Name: "Demo web app", RedirectURIs: []string{callback}, Scopes: "read trade",
	}, e.now())
	if err != nil {
		return err
	}
	pub, _, err := registry.Create(ctx, e.store, e.hasher, registry.Operator, registry.Spec{
		Name: "Demo mobile app", Public: true, RedirectURIs: []string{callback}, Scopes: "read trade",
	}, e.now())
	if err != nil {
		return err
	}
	// A first-party client signs the demo user in without a browser
	// (docs/first-party.md), which the Quick Start's terminal steps need.
	first, firstSecret, err := registry.Create(ctx, e.store, e.hasher, registry.Operator, registry.Spec{
		Name: "Demo first-party app", FirstParty: true, RedirectURIs: []string{callback}, Scopes: "read trade",
	}, e.now())
	if err != nil {
		return err
	}

	verifierBytes := make([]byte, 32)
	rand.Read(verifierBytes)
	verifier := base64.RawURLEncoding.EncodeToString(verifierBytes)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	authURL := func(clientID string, extra url.Values) string {
		q := url.Values{
			"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {callback},
			"scope": {"read trade"}, "state": {rand.Text()[:16]},
		}
		for k, v := range extra {
			q[k] = v
		}
		return issuer + "/oauth2/authorize?" + q.Encode()
	}
	confURL := authURL(conf.ID, nil)
	pubURL := authURL(pub.ID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
	out.line(fmt.Sprintf(`
Aries demo (seeded now; the secrets below are shown only this once)

  user            %s
  password        %s

  confidential    CLIENT_ID=%s
                  CLIENT_SECRET=%s
  public (PKCE)   PUBLIC_CLIENT_ID=%s
  first-party     FIRST_PARTY_CLIENT_ID=%s
                  FIRST_PARTY_CLIENT_SECRET=%s
  redirect URI    %s

Sign in with the confidential client (open in a browser):
  %s

or with the public client and PKCE (keep CODE_VERIFIER=%s for the exchange):
  %s

`, demoEmail, password, conf.ID, confSecret, pub.ID, first.ID, firstSecret, callback,
		confURL, verifier, pubURL),
		"demo seeded; the secrets are shown only this once",
		"user", demoEmail, "password", password, "client_id", conf.ID, "client_secret", confSecret,
		"public_client_id", pub.ID, "redirect_uri", callback, "authorize_url", confURL,
		"public_authorize_url", pubURL, "code_verifier", verifier,
		"first_party_client_id", first.ID, "first_party_client_secret", firstSecret)
	if envFile == "" {
		return nil
	}
	vars := fmt.Sprintf("# Written once by `aries serve --demo`: the demo's credentials (docs/quickstart.md).\n"+
		"ARIES_API_URL=%s\nARIES_CLIENT_ID=%s\nARIES_CLIENT_SECRET=%s\nARIES_PUBLIC_CLIENT_ID=%s\n"+
		"ARIES_FIRST_PARTY_CLIENT_ID=%s\nARIES_FIRST_PARTY_CLIENT_SECRET=%s\nARIES_REDIRECT_URI=%s\n"+
		"ARIES_DEMO_EMAIL=%s\nARIES_DEMO_PASSWORD=%s\n",
		issuer, conf.ID, confSecret, pub.ID, first.ID, firstSecret, callback, demoEmail, password)
	if err := os.WriteFile(envFile, []byte(vars), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", envFile, err)
	}
	out.line(fmt.Sprintf("The same credentials, as shell variables: %s\n  (load them with: set -a; . %s; set +a)\n\n", envFile, envFile),
		"demo credentials written", "env_file", envFile)
	return nil
}

// demoEnvFile is where serve --demo writes its credentials: demo.env beside
// a SQLite database; "" for PostgreSQL, which has no local folder of its own.
func demoEnvFile(dsn string) string {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok || path == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(path), "demo.env")
}
