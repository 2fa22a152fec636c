package main

// DPoP across instances, on the harness of cluster_test.go: a proof used
// at one instance is refused at another, whether the instances share the
// proofs through Redis (--redis) or through PostgreSQL alone; and a nonce
// handed out by one instance is accepted by another.

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/sdk/protocol"
)

func TestScaleOutDPoP(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	for _, shared := range []struct {
		name  string
		redis string
		db    string
	}{
		{"proofs in Redis", redisURL, db},
		{"proofs in PostgreSQL", "", pgtest.Database(t)},
	} {
		t.Run(shared.name, func(t *testing.T) {
			c := newCluster(t, shared.db, shared.redis, clusterConfig{instances: 2, flags: generous})
			a, b := c.instances[0], c.instances[1]
			// Proofs name the public URL, the balancer's, whichever
			// instance they reach.
			tokenURL, me := c.lb.URL+protocol.TokenPath, c.lb.URL+"/v1/users/me"
			alice := newDPoPKey(t)

			t.Run("a proof used at A is refused at B's token endpoint", func(t *testing.T) {
				cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
				p := alice.proof(t, "POST", tokenURL, "", "")
				first := tokenWithProof(t, a.URL, cc, p, c.f.conf.ClientID, c.f.conf.ClientSecret)
				if first.Status != http.StatusOK || first.TokenType != "DPoP" {
					t.Fatalf("at A: %d %s (%s)", first.Status, first.Error, first.Description)
				}
				wantError(t, tokenWithProof(t, b.URL, cc, p, c.f.conf.ClientID, c.f.conf.ClientSecret), http.StatusBadRequest, protocol.ErrInvalidDPoPProof)
			})

			t.Run("a proof used at A is refused at B's API", func(t *testing.T) {
				code := c.f.code(t, c.f.conf.ClientID, nil)
				tok := tokenWithProof(t, a.URL, url.Values{"grant_type": {"code"}, "code": {code}, "redirect_uri": {c.f.redirectURI}},
					alice.proof(t, "POST", tokenURL, "", ""), c.f.conf.ClientID, c.f.conf.ClientSecret)
				if tok.Status != http.StatusOK || tok.TokenType != "DPoP" {
					t.Fatalf("code at A: %d %s (%s)", tok.Status, tok.Error, tok.Description)
				}
				p := alice.proof(t, "GET", me, tok.AccessToken, "")
				wantAnswer(t, "at A", callAPI(t, a.URL, "/v1/users/me", "DPoP", tok.AccessToken, p), http.StatusOK, "")
				wantAnswer(t, "replayed at B", callAPI(t, b.URL, "/v1/users/me", "DPoP", tok.AccessToken, p), http.StatusUnauthorized, protocol.ErrInvalidDPoPProof)
				// A fresh proof works at B: the token is good there.
				wantAnswer(t, "fresh at B", callAPI(t, b.URL, "/v1/users/me", "DPoP", tok.AccessToken, alice.proof(t, "GET", me, tok.AccessToken, "")), http.StatusOK, "")
				// And the copy, as Bearer, nowhere.
				wantAnswer(t, "as Bearer at B", callAPI(t, b.URL, "/v1/users/me", "Bearer", tok.AccessToken, ""), http.StatusUnauthorized, protocol.ErrInvalidToken)
			})

			t.Run("the proofs are where the flags say", func(t *testing.T) {
				inTable := proofsInTable(t, shared.db)
				if (shared.redis != "") == (inTable > 0) {
					t.Errorf("with --redis %t: %d proofs in PostgreSQL's dpop_proofs", shared.redis != "", inTable)
				}
			})
		})
	}

	t.Run("a nonce from A is accepted at B", func(t *testing.T) {
		c := newCluster(t, pgtest.Database(t), redisURL, clusterConfig{instances: 2, flags: append([]string{"--dpop-nonce"}, generous...)})
		a, b := c.instances[0], c.instances[1]
		tokenURL := c.lb.URL + protocol.TokenPath
		alice := newDPoPKey(t)
		cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
		challenge := tokenWithProof(t, a.URL, cc, alice.proof(t, "POST", tokenURL, "", ""), c.f.conf.ClientID, c.f.conf.ClientSecret)
		wantError(t, challenge, http.StatusBadRequest, protocol.ErrUseDPoPNonce)
		nonce := challenge.Header.Get("DPoP-Nonce")
		got := tokenWithProof(t, b.URL, cc, alice.proof(t, "POST", tokenURL, "", nonce), c.f.conf.ClientID, c.f.conf.ClientSecret)
		if got.Status != http.StatusOK || got.TokenType != "DPoP" {
			t.Errorf("A's nonce at B: %d %s (%s)", got.Status, got.Error, got.Description)
		}
	})
}

// proofsInTable counts the rows of the dpop_proofs table of db.
func proofsInTable(t *testing.T, db string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM dpop_proofs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
