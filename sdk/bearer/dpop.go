package bearer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// DPoPConfig configures the DPoP scheme of a Verifier (RFC 9449 section 7).
// Its zero value is usable.
type DPoPConfig struct {
	// Algorithms, Window, Replay and Nonces configure the checks of a
	// proof as dpop.Config documents them. Replay must be shared by every
	// instance of a service (a dpop.ReplayCache on Redis or a database);
	// the default remembers proofs in this process only, so a proof
	// replayed to another instance would be accepted there. Nonces, when
	// set, makes every proof carry a server nonce (section 9).
	Algorithms []string
	Window     time.Duration
	Replay     dpop.ReplayCache
	Nonces     dpop.Nonces
	// BaseURL is the service's public base URL, for example
	// https://api.example.com: a proof's "htu" must be it followed by the
	// request's path. Empty means the URL the request itself names: https
	// when it came over TLS, else http, and its Host header. Behind a
	// proxy that terminates TLS or rewrites Host, set BaseURL.
	BaseURL string
}

// The schemes of the Authorization header (RFC 6750 section 2.1, RFC 9449
// section 7.1), as Credentials.Scheme names them.
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP"
)

// Credentials are the access token of a request's Authorization header and
// the scheme it came with, SchemeBearer or SchemeDPoP.
type Credentials struct {
	Scheme string
	Token  string
}

// CredentialsFromRequest reads the Authorization header of r: a token
// under the Bearer scheme (RFC 6750 section 2.1) or the DPoP scheme (RFC
// 9449 section 7.1); schemes are case-insensitive (RFC 9110 section 11.1).
// It returns zero Credentials when r carries neither (no header, or
// another scheme such as Basic), and fails, with a description fit for an
// invalid_request answer (RFC 6750 section 3.1), when the request is
// malformed: the token is in the query string (RFC 6750 section 2.3 is not
// supported: URLs end up in logs), there are several Authorization
// headers, or the token is empty.
//
// It is the one place Aries reads an access token from a request:
// TokenFromRequest, Require and VerifyRequest use it.
func CredentialsFromRequest(r *http.Request) (Credentials, error) {
	if strings.Contains(r.URL.RawQuery, "access_token") && r.URL.Query().Has("access_token") {
		return Credentials{}, errTokenInQuery
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return Credentials{}, nil
	case 1:
	default:
		return Credentials{}, errSeveralHeaders
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	switch {
	case strings.EqualFold(scheme, SchemeBearer):
		scheme = SchemeBearer
	case strings.EqualFold(scheme, SchemeDPoP):
		scheme = SchemeDPoP
	default:
		return Credentials{}, nil
	}
	token := strings.TrimSpace(rest)
	if token == "" {
		return Credentials{}, errEmptyToken
	}
	return Credentials{Scheme: scheme, Token: token}, nil
}

// RequestError is why VerifyRequest refused a request, as the resource
// answers it: Status 400 (invalid_request) or 401, Code the error code of
// RFC 6750 section 3.1 or RFC 9449 section 7.1 (invalid_request,
// invalid_token, invalid_dpop_proof, use_dpop_nonce; "" when the request
// carried no token at all), Description fixed text safe to send, and
// Scheme the scheme the request used, whose challenge carries the error.
type RequestError struct {
	Status      int
	Code        string
	Description string
	Scheme      string
}

func (e *RequestError) Error() string {
	if e.Code == "" {
		return "bearer: " + e.Description
	}
	return "bearer: " + e.Code + ": " + e.Description
}

// VerifyRequest checks the access token a request presents: its
// Authorization header (CredentialsFromRequest), the token itself
// (Verify), and how it is presented. A bearer token must come with the
// Bearer scheme; a token bound to a DPoP key (Claims.Bound) must come with
// the DPoP scheme and a DPoP header whose proof passes every check of RFC
// 9449 section 4.3 for this request, its "ath" naming the token and its
// key the one the token is bound to: a bound token presented as Bearer is
// invalid_token, whoever presents it.
//
// A request the resource must refuse is a *RequestError. Any other error
// means the token could not be checked (the JWKS, the revocation check or
// the replay cache failed): answer 503, the token may be fine.
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request) (*Claims, error) {
	cred, err := CredentialsFromRequest(r)
	if err != nil {
		return nil, &RequestError{Status: http.StatusBadRequest, Code: protocol.ErrInvalidRequest, Description: err.Error(), Scheme: SchemeBearer}
	}
	if cred.Token == "" {
		return nil, &RequestError{Status: http.StatusUnauthorized, Description: "no access token in the Authorization header", Scheme: SchemeBearer}
	}
	refuse := func(code, description string) error {
		return &RequestError{Status: http.StatusUnauthorized, Code: code, Description: description, Scheme: cred.Scheme}
	}
	c, err := v.Verify(ctx, cred.Token)
	if err != nil {
		if bad, ok := errors.AsType[*InvalidTokenError](err); ok {
			return nil, refuse(protocol.ErrInvalidToken, bad.Reason)
		}
		return nil, err
	}
	switch {
	case cred.Scheme == SchemeBearer && c.Bound():
		// RFC 9449 section 7.1: a bound token is worthless without the
		// key; presented as Bearer it is someone else's copy.
		v.stolen(ctx, r, c, "a DPoP-bound token presented as Bearer")
		return nil, refuse(protocol.ErrInvalidToken, "the access token is bound to a DPoP key: send it with the DPoP scheme and a proof")
	case cred.Scheme == SchemeDPoP && !c.Bound():
		return nil, refuse(protocol.ErrInvalidToken, "the access token is not bound to a DPoP key: send it with the Bearer scheme")
	case cred.Scheme == SchemeBearer:
		return c, nil
	}
	_, err = v.proofs.Verify(ctx, dpop.Request{
		Proofs: r.Header.Values(dpop.Header), Method: r.Method, URL: v.requestURL(r),
		AccessToken: cred.Token, BoundKey: c.Confirmation.JKT,
	})
	if err != nil {
		if bad, ok := errors.AsType[*dpop.Error](err); ok {
			switch {
			case dpop.Replayed(err):
				v.stolen(ctx, r, c, "a DPoP proof replayed")
			case bad.Code == protocol.ErrInvalidToken:
				v.stolen(ctx, r, c, "a DPoP-bound token with a proof of another key")
			}
			return nil, refuse(bad.Code, bad.Description)
		}
		return nil, fmt.Errorf("bearer: checking the DPoP proof: %w", err)
	}
	return c, nil
}

// stolen logs, at WARN, a request that used a copy of someone's token or
// proof: whose token, and from where. The token is never logged.
func (v *Verifier) stolen(ctx context.Context, r *http.Request, c *Claims, what string) {
	v.cfg.Logger.WarnContext(ctx, what+"; refused", "client_id", c.ClientID, "sub", c.Subject, "jti", c.JTI, "source", r.RemoteAddr)
}

// requestURL is the URL a proof's "htu" must name for r (DPoPConfig.BaseURL).
func (v *Verifier) requestURL(r *http.Request) string {
	if base := v.cfg.DPoP.BaseURL; base != "" {
		return strings.TrimSuffix(base, "/") + r.URL.EscapedPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// DPoPNonce returns the nonce resources answer DPoP requests with in the
// DPoP-Nonce header, or "" when the verifier asks for none.
func (v *Verifier) DPoPNonce() string { return v.proofs.Nonce() }

// DPoPAlgorithms returns the proof algorithms the verifier accepts, as
// the "algs" of its DPoP challenge.
func (v *Verifier) DPoPAlgorithms() []string { return v.proofs.Algorithms() }

// Refuse answers a request VerifyRequest refused, or one whose token lacks
// scope (403 insufficient_scope), as Require does: with the challenges of
// both schemes, first the one the request used, carrying the error (RFC
// 6750 section 3, RFC 9449 section 7.1), then the other, bare, so a client
// learns it may use either; a use_dpop_nonce answer carries the nonce to
// use (section 9); the body is JSON {"error","error_description"}.
func (v *Verifier) Refuse(w http.ResponseWriter, e *RequestError, scope string) {
	algs := strings.Join(v.proofs.Algorithms(), " ")
	used, other := challenge(SchemeBearer, v.cfg.Realm, "", e.Code, e.Description, scope), challenge(SchemeDPoP, v.cfg.Realm, algs, "", "", "")
	if e.Scheme == SchemeDPoP {
		used, other = challenge(SchemeDPoP, v.cfg.Realm, algs, e.Code, e.Description, scope), challenge(SchemeBearer, v.cfg.Realm, "", "", "", "")
	}
	h := w.Header()
	h.Set("WWW-Authenticate", used)
	h.Add("WWW-Authenticate", other)
	if e.Code == protocol.ErrUseDPoPNonce {
		h.Set(dpop.NonceHeader, v.proofs.Nonce())
	}
	code := e.Code
	if code == "" {
		code = protocol.ErrInvalidToken
	}
	writeError(w, e.Status, code, e.Description)
}

// challenge is one WWW-Authenticate challenge (RFC 9110 section 11.6.1)
// of scheme, with the auth-params of RFC 6750 section 3 and, for DPoP,
// the "algs" of RFC 9449 section 7.1. Characters RFC 6750 section 3
// excludes from quoted values are dropped.
func challenge(scheme, realm, algs, code, description, scope string) string {
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString(` realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	if algs != "" {
		b.WriteString(`, algs="` + quotable(algs) + `"`)
	}
	if code != "" {
		b.WriteString(`, error="` + code + `", error_description="` + quotable(description) + `"`)
	}
	if scope != "" {
		b.WriteString(`, scope="` + quotable(scope) + `"`)
	}
	return b.String()
}
