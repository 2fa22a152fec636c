package protocol

import (
	"encoding/json"
	"time"
)

// OpenID Connect scopes (Core 1.0 sections 3.1.2.1 and 5.4). openid makes
// an authorization request an OpenID Connect one; profile and email ask
// for the claims below.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// IDTokenClaims are the claims of an Aries ID token (OpenID Connect Core
// 1.0 section 2), as the server mints them and the Go SDK verifies them.
// Email and EmailVerified are set only when the email scope was granted,
// Name only when the profile scope was and the user has a name (Core 1.0
// section 5.4).
//
// The JSON form is the JWT claims set: times are NumericDates, "aud" is a
// string when there is one audience, and email_verified is written exactly
// when email is.
type IDTokenClaims struct {
	Issuer   string
	Subject  string // the user id, as in the access token's sub
	Audience []string
	Expiry   time.Time
	IssuedAt time.Time
	AuthTime time.Time // when the user last signed in to Aries
	Nonce    string    // the authorization request's nonce; "" after a refresh
	AMR      []string  // RFC 8176 methods: "pwd", "otp"
	// AuthorizedParty (azp) is the client the token was issued to.
	AuthorizedParty string
	// SessionID (sid) names the Aries browser session of the sign-in
	// (OpenID Connect Front-Channel Logout 1.0 section 3); "" when the
	// user signed in without one (first-party sign-in).
	SessionID string
	// AccessTokenHash (at_hash, Core 1.0 section 3.1.3.6) binds the ID
	// token to the access token issued with it.
	AccessTokenHash string
	Email           string
	EmailVerified   bool
	Name            string
}

type idTokenJSON struct {
	Issuer          string       `json:"iss"`
	Subject         string       `json:"sub"`
	Audience        Audience     `json:"aud,omitempty"`
	Expiry          *numericDate `json:"exp,omitempty"`
	IssuedAt        *numericDate `json:"iat,omitempty"`
	AuthTime        *numericDate `json:"auth_time,omitempty"`
	Nonce           string       `json:"nonce,omitempty"`
	AMR             []string     `json:"amr,omitempty"`
	AuthorizedParty string       `json:"azp,omitempty"`
	SessionID       string       `json:"sid,omitempty"`
	AccessTokenHash string       `json:"at_hash,omitempty"`
	Email           string       `json:"email,omitempty"`
	EmailVerified   *bool        `json:"email_verified,omitempty"`
	Name            string       `json:"name,omitempty"`
}

// MarshalJSON writes the JWT claims set. A zero time or empty string
// leaves its claim out.
func (c IDTokenClaims) MarshalJSON() ([]byte, error) {
	return json.Marshal(idTokenJSON{
		Issuer:          c.Issuer,
		Subject:         c.Subject,
		Audience:        c.Audience,
		Expiry:          dateOf(c.Expiry),
		IssuedAt:        dateOf(c.IssuedAt),
		AuthTime:        dateOf(c.AuthTime),
		Nonce:           c.Nonce,
		AMR:             c.AMR,
		AuthorizedParty: c.AuthorizedParty,
		SessionID:       c.SessionID,
		AccessTokenHash: c.AccessTokenHash,
		Email:           c.Email,
		EmailVerified:   verifiedOf(c.Email, c.EmailVerified),
		Name:            c.Name,
	})
}

// UnmarshalJSON reads a JWT claims set; claims it does not know are
// ignored (RFC 7519 section 4).
func (c *IDTokenClaims) UnmarshalJSON(b []byte) error {
	var w idTokenJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = IDTokenClaims{
		Issuer:          w.Issuer,
		Subject:         w.Subject,
		Audience:        []string(w.Audience),
		Expiry:          w.Expiry.time(),
		IssuedAt:        w.IssuedAt.time(),
		AuthTime:        w.AuthTime.time(),
		Nonce:           w.Nonce,
		AMR:             w.AMR,
		AuthorizedParty: w.AuthorizedParty,
		SessionID:       w.SessionID,
		AccessTokenHash: w.AccessTokenHash,
		Email:           w.Email,
		EmailVerified:   w.EmailVerified != nil && *w.EmailVerified,
		Name:            w.Name,
	}
	return nil
}

// UserInfo is the answer of the UserInfo endpoint (OpenID Connect Core 1.0
// section 5.3.2): sub always, the other claims per the access token's
// scopes as for IDTokenClaims.
type UserInfo struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

type userInfoJSON struct {
	Subject       string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

// MarshalJSON writes sub and the claims that are set; email_verified goes
// with email.
func (u UserInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(userInfoJSON{Subject: u.Subject, Email: u.Email,
		EmailVerified: verifiedOf(u.Email, u.EmailVerified), Name: u.Name})
}

// UnmarshalJSON reads a UserInfo answer.
func (u *UserInfo) UnmarshalJSON(b []byte) error {
	var w userInfoJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = UserInfo{Subject: w.Subject, Email: w.Email, EmailVerified: w.EmailVerified != nil && *w.EmailVerified, Name: w.Name}
	return nil
}

// verifiedOf is the email_verified claim: present exactly when email is,
// so a reader never takes a missing claim for "not verified" of an email
// it was not given.
func verifiedOf(email string, verified bool) *bool {
	if email == "" {
		return nil
	}
	return &verified
}
