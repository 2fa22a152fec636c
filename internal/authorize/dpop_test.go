package authorize

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/store"
)

// jkt is a SHA-256 JWK thumbprint, the form of a dpop_jkt.
const jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

// TestDPoPJKT: dpop_jkt (RFC 9449 section 10) binds the code to a key; a
// value that cannot be a thumbprint is sent back as invalid_request.
func TestDPoPJKT(t *testing.T) {
	tests := []struct {
		name    string
		value   []string
		want    string // the code's DPoPJKT, or "" with wantErr
		wantErr bool
	}{
		{name: "none"},
		{name: "a thumbprint", value: []string{jkt}, want: jkt},
		{name: "too short", value: []string{jkt[:42]}, wantErr: true},
		{name: "too long", value: []string{jkt + "A"}, wantErr: true},
		{name: "padded", value: []string{jkt[:42] + "="}, wantErr: true},
		{name: "not base64url", value: []string{strings.Repeat("+", 43)}, wantErr: true},
		{name: "twice", value: []string{jkt, jkt}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			params := pubParams()
			params["dpop_jkt"] = tt.value
			if tt.wantErr {
				p := e.authorize(params)
				if p.StatusCode != http.StatusFound || p.location().Query().Get("error") != "invalid_request" {
					t.Fatalf("got %d to %s, want a redirect with invalid_request", p.StatusCode, p.Header.Get("Location"))
				}
				return
			}
			res := e.completeFlow(params)
			ac, err := e.store.RedeemAuthCode(context.Background(), e.h.Hasher.Hash(res.code), store.RefreshToken{Hash: "rt_test"}, e.clock.Now())
			if err != nil {
				t.Fatalf("RedeemAuthCode: %v", err)
			}
			if ac.DPoPJKT != tt.want {
				t.Errorf("code bound to %q, want %q", ac.DPoPJKT, tt.want)
			}
		})
	}
}
