package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

const demoEmail = "demo@aries.local"

// seedDemo creates, once, a demo user and two clients (confidential and
// public) that land on the server's own /demo/callback page, and prints
// how to try them. Secrets exist in clear only in this output, so a later
// start prints the ids and says how to get new credentials.
func seedDemo(ctx context.Context, e *env, issuer string, w io.Writer) error {
	callback := issuer + "/demo/callback"
	_, err := e.store.UserByEmail(ctx, demoEmail)
	if err == nil {
		fmt.Fprintf(w, "\nDemo already seeded: user %s; its password and the client secret were printed at the first start.\n"+
			"List the clients with `aries clients list`, give one a new secret with `aries clients rotate-secret ID`,\n"+
			"or start from a fresh data directory.\n\n", demoEmail)
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
	fmt.Fprintf(w, `
Aries demo (seeded now; the secrets below are shown only this once)

  user            %s
  password        %s

  confidential    CLIENT_ID=%s
                  CLIENT_SECRET=%s
  public (PKCE)   PUBLIC_CLIENT_ID=%s
  redirect URI    %s

Sign in with the confidential client (open in a browser):
  %s

or with the public client and PKCE (keep CODE_VERIFIER=%s for the exchange):
  %s

`, demoEmail, password, conf.ID, confSecret, pub.ID, callback,
		authURL(conf.ID, nil), verifier,
		authURL(pub.ID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}}))
	return nil
}
