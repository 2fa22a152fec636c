package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// email_verified travels with email and only with it (OpenID Connect Core
// 1.0 section 5.4: the email scope asks for both), and the claims come back
// as they were written.
func TestIDTokenWireFormat(t *testing.T) {
	base := IDTokenClaims{
		Issuer: "https://aries.example", Subject: "usr_1", Audience: []string{"aries_ci_1"},
		Expiry: issued.Add(15 * time.Minute), IssuedAt: issued, AuthTime: signIn,
		AMR: []string{"pwd"}, AuthorizedParty: "aries_ci_1",
	}
	withEmail := base
	withEmail.Nonce, withEmail.SessionID, withEmail.Email, withEmail.Name = "n-0S6", "sid1", "ada@example.com", "Ada"
	tests := []struct {
		name string
		c    IDTokenClaims
		want string
	}{
		{"openid only", base, `{"iss":"https://aries.example","sub":"usr_1","aud":"aries_ci_1","exp":1793000900,"iat":1793000000,"auth_time":1792999940,"amr":["pwd"],"azp":"aries_ci_1"}`},
		{"email and profile", withEmail, `{"iss":"https://aries.example","sub":"usr_1","aud":"aries_ci_1","exp":1793000900,"iat":1793000000,"auth_time":1792999940,"nonce":"n-0S6","amr":["pwd"],"azp":"aries_ci_1","sid":"sid1","email":"ada@example.com","email_verified":false,"name":"Ada"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.c)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b, tt.want)
		}
		var back IDTokenClaims
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tt.c) {
			t.Errorf("%s: round trip got %+v, want %+v", tt.name, back, tt.c)
		}
	}
}

func TestUserInfoWireFormat(t *testing.T) {
	tests := []struct {
		u    UserInfo
		want string
	}{
		{UserInfo{Subject: "usr_1"}, `{"sub":"usr_1"}`},
		{UserInfo{Subject: "usr_1", Email: "ada@example.com", EmailVerified: true}, `{"sub":"usr_1","email":"ada@example.com","email_verified":true}`},
		{UserInfo{Subject: "usr_1", Name: "Ada"}, `{"sub":"usr_1","name":"Ada"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.u)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.want {
			t.Errorf("got %s, want %s", b, tt.want)
		}
		var back UserInfo
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back != tt.u {
			t.Errorf("round trip got %+v, want %+v", back, tt.u)
		}
	}
}
