package userinfo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/accesstoken"
	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/internal/testenv"
	"github.com/ariesexchange/aries/sdk/bearer"
	"github.com/ariesexchange/aries/sdk/protocol"
)

func TestUserInfo(t *testing.T) {
	e := testenv.New(t)
	ring := e.Keyring()
	tokens, err := bearer.NewVerifier(bearer.Config{
		KeySet: func(context.Context) ([]byte, error) { return json.Marshal(ring.JWKS()) },
		Issuer: testenv.Issuer, Audience: testenv.Issuer, Now: e.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Handler{Tokens: tokens, Claims: &idtoken.Issuer{Users: e.Store, Profiles: e.Store}}).Register(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	minter := &accesstoken.Minter{Keys: ring, Issuer: testenv.Issuer, Audience: testenv.Issuer, Now: e.Clock.Now}
	token := func(sub, scopes string) string {
		tok, _, err := minter.Mint(protocol.Claims{Subject: sub, ClientID: "aries_ci_rp", Scopes: strings.Fields(scopes)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name, method, token string
		status              int
		want                string // the body, or the WWW-Authenticate error
	}{
		{"openid", "GET", token(e.User.ID, "openid"), http.StatusOK, `{"sub":"usr_trader"}`},
		{"openid email", "POST", token(e.User.ID, "openid email"), http.StatusOK, `{"sub":"usr_trader","email":"trader@example.com","email_verified":false}`},
		{"without openid", "GET", token(e.User.ID, "email read"), http.StatusForbidden, "insufficient_scope"},
		{"an app acting as itself", "GET", token("aries_ci_rp", "openid"), http.StatusUnauthorized, "invalid_token"},
		{"a user who is gone", "GET", token("usr_gone", "openid"), http.StatusUnauthorized, "invalid_token"},
		{"no token", "GET", "", http.StatusUnauthorized, `Bearer realm="aries"`},
	}
	for _, tt := range tests {
		a := testenv.Call(t, srv.URL, tt.method, protocol.UserInfoPath, tt.token, nil)
		got := strings.TrimSpace(string(a.Body))
		if a.Status == http.StatusOK {
			if got != tt.want || a.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: %s, Cache-Control %q; want %s, no-store", tt.name, got, a.Header.Get("Cache-Control"), tt.want)
			}
			continue
		}
		if a.Status != tt.status || !strings.Contains(a.Header.Get("WWW-Authenticate"), tt.want) {
			t.Errorf("%s: %d, WWW-Authenticate %q; want %d naming %s", tt.name, a.Status, a.Header.Get("WWW-Authenticate"), tt.status, tt.want)
		}
	}
}
