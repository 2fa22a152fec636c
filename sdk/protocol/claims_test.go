package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var (
	issued = time.Unix(1_793_000_000, 0)
	signIn = issued.Add(-time.Minute)
)

func userClaims() Claims {
	return Claims{
		Issuer:   "https://aries.example",
		Subject:  "usr_1",
		Audience: []string{"https://api.aries.example"},
		ClientID: "aries_ci_1",
		Scopes:   []string{"account:information", "order:execution"},
		AuthTime: signIn,
		AMR:      []string{"pwd", "otp"},
		JTI:      "jti_1",
		GrantID:  "grt_1",
		Expiry:   issued.Add(15 * time.Minute),
		IssuedAt: issued,
	}
}

// The claims set is written in the order and shape the server has always
// minted: one audience as a string, scope space-separated, the user-only
// claims left out of a client's own token (RFC 9068 section 2.2).
func TestClaimsWireFormat(t *testing.T) {
	client := Claims{
		Issuer: "https://aries.example", Subject: "aries_ci_1", Audience: []string{"https://api.aries.example"},
		ClientID: "aries_ci_1", Scopes: []string{"market:information"}, JTI: "jti_2",
		Expiry: issued.Add(15 * time.Minute), IssuedAt: issued,
	}
	bound := client
	bound.Confirmation = Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
	tests := []struct {
		name string
		c    Claims
		want string
	}{
		{"user", userClaims(), `{"iss":"https://aries.example","sub":"usr_1","aud":"https://api.aries.example","exp":1793000900,"iat":1793000000,"jti":"jti_1","client_id":"aries_ci_1","scope":"account:information order:execution","auth_time":1792999940,"amr":["pwd","otp"],"grant_id":"grt_1"}`},
		{"client_credentials", client, `{"iss":"https://aries.example","sub":"aries_ci_1","aud":"https://api.aries.example","exp":1793000900,"iat":1793000000,"jti":"jti_2","client_id":"aries_ci_1","scope":"market:information"}`}, // RFC 9449 section 6.1: a DPoP-bound token's "cnf", last.
		{"DPoP-bound", bound, `{"iss":"https://aries.example","sub":"aries_ci_1","aud":"https://api.aries.example","exp":1793000900,"iat":1793000000,"jti":"jti_2","client_id":"aries_ci_1","scope":"market:information","cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b, tt.want)
		}
		var back Claims
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tt.c) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", tt.name, back, tt.c)
		}
	}
}

// Decoding follows RFC 7519: "aud" is a string or an array of strings, a
// date is a JSON number of seconds (a fraction is dropped), and a claim of
// the wrong type fails the whole set.
func TestClaimsDecoding(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    Claims
		wantErr bool
	}{
		{name: "audience array", json: `{"aud":["a","b"]}`, want: Claims{Audience: []string{"a", "b"}, Scopes: []string{}}},
		{name: "audience string", json: `{"aud":"a"}`, want: Claims{Audience: []string{"a"}, Scopes: []string{}}},
		{name: "fractional dates", json: `{"exp":1793000900.9,"iat":1793000000.2}`,
			want: Claims{Expiry: time.Unix(1793000900, 0), IssuedAt: time.Unix(1793000000, 0), Scopes: []string{}}},
		{name: "null dates are absent", json: `{"exp":null,"nbf":null,"auth_time":null}`, want: Claims{Scopes: []string{}}},
		{name: "nbf", json: `{"nbf":1793000000}`, want: Claims{NotBefore: issued, Scopes: []string{}}},
		{name: "scope with extra spaces", json: `{"scope":" a  b "}`, want: Claims{Scopes: []string{"a", "b"}}},
		{name: "unknown claims ignored", json: `{"sub":"s","acr":"urn:x","cnf":{"x5t#S256":"y"}}`, want: Claims{Subject: "s", Scopes: []string{}}},
		// RFC 9449 section 6.1: a DPoP-bound token.
		{name: "cnf jkt", json: `{"sub":"s","cnf":{"jkt":"x"}}`, want: Claims{Subject: "s", Scopes: []string{}, Confirmation: Confirmation{JKT: "x"}}},
		{name: "cnf not an object", json: `{"cnf":"x"}`, wantErr: true},
		{name: "audience null", json: `{"aud":null}`, wantErr: true},
		{name: "audience number", json: `{"aud":1}`, wantErr: true},
		{name: "audience of numbers", json: `{"aud":["a",1]}`, wantErr: true},
		{name: "date as a string", json: `{"exp":"1793000900"}`, wantErr: true},
		{name: "date beyond range", json: `{"nbf":9.3e18}`, wantErr: true},
		{name: "scope as an array", json: `{"scope":["a"]}`, wantErr: true},
		{name: "not an object", json: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		var got Claims
		err := json.Unmarshal([]byte(tt.json), &got)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: got error %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}

func TestClaimsHelpers(t *testing.T) {
	c := userClaims()
	if !c.HasScope("order:execution") || c.HasScope("order") || c.HasScope("ORDER:EXECUTION") {
		t.Errorf("HasScope on %v: want an exact, case-sensitive match", c.Scopes)
	}
	if got := c.UserID(); got != "usr_1" {
		t.Errorf("UserID() = %q, want usr_1", got)
	}
	c.Subject = c.ClientID
	if got := c.UserID(); got != "" {
		t.Errorf("UserID() of a client acting as itself = %q, want empty", got)
	}
}

// An introspection answer names one audience as a string (RFC 7662 section
// 2.2 takes "aud" from RFC 7519), and an inactive token is nothing but
// {"active":false}.
func TestIntrospectionResponseWireFormat(t *testing.T) {
	tests := []struct {
		r    IntrospectionResponse
		want string
	}{
		{IntrospectionResponse{}, `{"active":false}`},
		{IntrospectionResponse{Active: true, Scope: "a b", ClientID: "c", Subject: "u", TokenType: "Bearer",
			ExpiresAt: 2, IssuedAt: 1, Issuer: "i", Audience: Audience{"aud"}, JTI: "j", AuthTime: 1, AMR: []string{"pwd"}},
			`{"active":true,"scope":"a b","client_id":"c","sub":"u","token_type":"Bearer","exp":2,"iat":1,"iss":"i","aud":"aud","jti":"j","auth_time":1,"amr":["pwd"]}`},
		{IntrospectionResponse{Active: true, Audience: Audience{"a", "b"}}, `{"active":true,"aud":["a","b"]}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.r)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got %s, want %s", b, tt.want)
		}
	}
}
