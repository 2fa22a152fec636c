package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// TestFloorPostgres checks that the PostgreSQL floor does its statements:
// a refresh token rotates once (a second use fails), codes are redeemed
// once, the client's secret is read from its row (a secret rotated in the
// database stops working at once) and GET /v1/users/me answers from the
// user's row.
func TestFloorPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	m, _ := secret.NewMaster()
	h := m.Hasher()
	workers, hashes := workerTokens(h, 2)
	const clientID, clientSecret, userID = "aries_ci_floor", "floor secret", "usr_floor"
	if err := seedFloorPostgres(ctx, dsn, h, "grt_bench_", clientID, clientSecret, userID, "user:information",
		seedFamilies(25, hashes, 1), time.Now()); err != nil {
		t.Fatal(err)
	}
	pool, err := openFloorPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var stored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens`).Scan(&stored); err != nil || stored != 25+2 {
		t.Fatalf("seeded refresh tokens: got %d (%v), want 27", stored, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &floor{pg: pool, hasher: h, clientID: clientID, issuer: "http://floor.invalid", key: key,
		header: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"floor","typ":"at+jwt"}`))}
	token := func(form url.Values, sec string) (int, floorTokenResponse) {
		r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(clientID, sec)
		w := httptest.NewRecorder()
		f.token(w, r)
		var tr floorTokenResponse
		json.NewDecoder(w.Body).Decode(&tr)
		return w.Code, tr
	}
	refresh := func(tok string) (int, floorTokenResponse) {
		return token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, clientSecret)
	}

	status, tr := refresh(workers[0])
	if status != http.StatusOK || tr.RefreshToken == "" || tr.AccessToken == "" {
		t.Fatalf("rotating a worker token: status %d, %+v; want 200 with both tokens", status, tr)
	}
	if status, _ := refresh(workers[0]); status != http.StatusBadRequest {
		t.Errorf("rotating it again: status %d, want 400", status)
	}
	if status, next := refresh(tr.RefreshToken); status != http.StatusOK || next.RefreshToken == "" {
		t.Errorf("rotating its successor: status %d, want 200", status)
	}

	codes := []string{secret.New(secret.CodePrefix)}
	if err := floorCodesPostgres(ctx, dsn, userID, "user:information", []string{h.Hash(codes[0])}, time.Now()); err != nil {
		t.Fatal(err)
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {codes[0]}}
	if status, tr := token(exchange, clientSecret); status != http.StatusOK || tr.RefreshToken == "" {
		t.Errorf("exchanging a code: status %d, want 200 with a refresh token", status)
	}
	if status, _ := token(exchange, clientSecret); status != http.StatusBadRequest {
		t.Errorf("exchanging it again: status %d, want 400", status)
	}

	me := func(access string) (int, map[string]string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/users/me", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		w := httptest.NewRecorder()
		f.me(w, r)
		var v map[string]string
		json.NewDecoder(w.Body).Decode(&v)
		return w.Code, v
	}
	if status, v := me(tr.AccessToken); status != http.StatusOK || v["id"] != userID || v["email"] != benchEmail {
		t.Errorf("GET /v1/users/me: status %d, %v; want 200 with the user's row", status, v)
	}

	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}}
	if status, _ := token(cc, clientSecret); status != http.StatusOK {
		t.Errorf("client_credentials: status %d, want 200", status)
	}
	if _, err := pool.Exec(ctx, `UPDATE clients SET secret_hash = $1 WHERE id = $2`, h.Hash("rotated"), clientID); err != nil {
		t.Fatal(err)
	}
	if status, _ := token(cc, clientSecret); status != http.StatusUnauthorized {
		t.Errorf("client_credentials with the secret rotated away: status %d, want 401", status)
	}
	if status, _ := token(cc, "rotated"); status != http.StatusOK {
		t.Errorf("client_credentials with the new secret: status %d, want 200", status)
	}
}

// TestSeedFamiliesStream checks the shape of the seeded families and that
// they are made as they are consumed: stopping early after a few of ten
// million does not make the rest.
func TestSeedFamiliesStream(t *testing.T) {
	var sizes []int
	var used, live int
	for fam := range seedFamilies(25, []string{"w1", "w2"}, 7) {
		sizes = append(sizes, len(fam))
		for _, r := range fam {
			if r.used {
				used++
			} else {
				live++
			}
		}
	}
	if want := []int{10, 10, 5, 1, 1}; !slices.Equal(sizes, want) || used != 22 || live != 5 {
		t.Errorf("families of 25 stored and 2 workers: sizes %v, %d used, %d live; want %v, 22 used, 5 live", sizes, used, live, want)
	}
	start := time.Now()
	n := 0
	for range seedFamilies(10_000_000, nil, 7) {
		if n++; n == 3 {
			break
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("taking 3 families of 10 million took %v: they are not made lazily", d)
	}
	first := func(seed uint64) string {
		for fam := range seedFamilies(10, nil, seed) {
			return fam[0].hash
		}
		return ""
	}
	if first(1) != first(1) || first(1) == first(2) {
		t.Error("seeded hashes are not determined by the seed alone")
	}
}
