package authorize

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/signin"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Parameters of the authorization request (RFC 6749 section 4.1.1, RFC 7636
// section 4.3, OpenID Connect Core 1.0 section 3.1.2.1), in the order forms
// repeat them.
const (
	paramResponseType        = "response_type"
	paramClientID            = "client_id"
	paramRedirectURI         = "redirect_uri"
	paramScope               = "scope"
	paramState               = "state"
	paramCodeChallenge       = "code_challenge"
	paramCodeChallengeMethod = "code_challenge_method"
	paramPrompt              = "prompt"
	paramNonce               = "nonce"
	paramMaxAge              = "max_age"
	paramLoginHint           = "login_hint"
	paramIDTokenHint         = "id_token_hint"
	paramDPoPJKT             = "dpop_jkt"

	// paramRequestURI names a pushed request (RFC 9126 section 4); it
	// replaces the parameters above rather than being one of them.
	paramRequestURI = "request_uri"
	// paramRequest is a request object (RFC 9101), which Aries does not
	// support.
	paramRequest = "request"
)

var requestParams = []string{
	paramResponseType, paramClientID, paramRedirectURI, paramScope, paramState,
	paramCodeChallenge, paramCodeChallengeMethod, paramPrompt,
	paramNonce, paramMaxAge, paramLoginHint, paramIDTokenHint,
	paramDPoPJKT,
}

// request is a validated authorization request.
type request struct {
	client      store.Client
	redirectURI string
	state       string
	scopes      []string // bundles expanded, canonical names in table order
	challenge   string
	method      string
	prompt      prompt
	// params holds the recognised parameters as sent (one value each),
	// to repeat them in forms and in the sign-in return path.
	params url.Values

	// OpenID Connect Core 1.0 section 3.1.2.1 (oidc.go).
	nonce     string
	maxAge    time.Duration // how old the sign-in may be; negative: any age
	loginHint string        // an email to fill in on the sign-in page
	hint      *protocol.IDTokenClaims

	// dpopJKT binds the code to a DPoP key (RFC 9449 section 10).
	dpopJKT string

	// pushed says the request came from the PAR endpoint (par.go): the
	// pages it passes through carry it on by request_uri, never by its
	// parameters.
	pushed bool
}

// prompt is the OpenID Connect prompt parameter, which Aries honours for
// plain OAuth too: none (fail instead of showing a page), login (sign in
// again), consent (ask again), select_account (let the user choose the
// account, or switch to another).
type prompt struct {
	none, login, consent, selectAccount bool
}

// pageError is an error shown to the user as a page, because the redirect
// URI cannot be trusted yet (RFC 6749 section 4.1.2.1, first paragraph).
type pageError struct {
	code, title, description string
	// api is the description for a JSON answer (the PAR endpoint), which
	// a developer reads rather than the user.
	api string
}

func (e *pageError) Error() string { return e.code + ": " + e.description }

func unknownClient(description string) *pageError {
	return &pageError{code: oauth.InvalidClient, title: "Unknown application", description: description +
		" Aries cannot send you back to it.", api: "unknown client"}
}

func badRedirect(description, api string) *pageError {
	return &pageError{code: oauth.RedirectURIMismatch, title: "Invalid return address", description: description +
		" For your safety, Aries will not send you there.", api: api}
}

// parse validates an authorization request: a pushed one when it names a
// request_uri (par.go), otherwise the parameters as sent. Its error is a
// *pageError while the client or redirect URI is in doubt; after that an
// *oauth.Error to send back to the redirect URI, with req holding
// redirectURI and state; any other error is internal.
func (h *Handler) parse(ctx context.Context, q url.Values) (*request, error) {
	if _, ok := q[paramRequestURI]; ok {
		return h.parsePushed(ctx, q)
	}
	vals, dups := single(q)
	client, err := h.client(ctx, vals.Get(paramClientID), slices.Contains(dups, paramClientID))
	if err != nil {
		return nil, err
	}
	return h.validate(client, vals, dups, false)
}

// client returns the enabled client named by clientID; its error is a
// *pageError, or internal.
func (h *Handler) client(ctx context.Context, clientID string, repeated bool) (store.Client, error) {
	switch {
	case repeated:
		return store.Client{}, unknownClient("The request names more than one application (client_id).")
	case clientID == "":
		return store.Client{}, unknownClient("The request does not say which application is asking (client_id is missing).")
	case !oauth.ValidIdentifier(clientID):
		// Checked before the store sees it: PostgreSQL refuses a NUL
		// byte or invalid UTF-8 with an error that would read as an
		// outage (docs/security.md#identifiers-are-checked-before-the-store).
		return store.Client{}, unknownClient("The application that sent you here is not registered with Aries.")
	}
	client, err := h.Store.Client(ctx, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Client{}, unknownClient("The application that sent you here is not registered with Aries.")
	case err != nil:
		return store.Client{}, fmt.Errorf("authorize: client: %w", err)
	case client.Disabled:
		return store.Client{}, unknownClient("The application that sent you here has been disabled.")
	}
	return client, nil
}

// validate checks the parameters vals of an authorization request from
// client (dups: those given more than once) with the rules of RFC 6749
// section 4.1.1, RFC 7636 section 4.3, OpenID Connect Core 1.0 section
// 3.1.2.1 and RFC 9449 section 10. The authorization endpoint and the PAR
// endpoint both call it, so a pushed request passes the same rules when
// pushed and again when used. pushed says the request came through the PAR
// endpoint; a client that must push (RFC 9126 section 5) is refused
// otherwise. Errors are as parse's.
func (h *Handler) validate(client store.Client, vals url.Values, dups []string, pushed bool) (*request, error) {
	redirectURI := vals.Get(paramRedirectURI)
	switch {
	case slices.Contains(dups, paramRedirectURI):
		return nil, badRedirect("The application gave more than one return address (redirect_uri).",
			"redirect_uri was given more than once")
	case redirectURI == "":
		return nil, badRedirect("The application did not say where to send you back (redirect_uri is missing).",
			"redirect_uri is missing")
	case !matchRedirectURI(client, redirectURI):
		return nil, badRedirect("The application asked Aries to send you back to an address it has not registered.",
			"redirect_uri is not one registered for this client")
	}

	// From here on the redirect URI is trusted: errors go back to it.
	req := &request{client: client, redirectURI: redirectURI, state: vals.Get(paramState), params: vals, pushed: pushed}

	if !pushed && h.mustPush(client) {
		return req, oauth.Errorf(oauth.InvalidRequest, "this client must push its authorization requests to the pushed authorization request endpoint (RFC 9126)")
	}
	switch rt := vals.Get(paramResponseType); {
	case rt == "":
		return req, oauth.Errorf(oauth.InvalidRequest, "response_type is missing")
	case rt != "code":
		return req, oauth.Errorf(oauth.UnsupportedResponseType, "only response_type=code is supported")
	}
	// RFC 6749 section 3.1: parameters must not be included more than once.
	if len(dups) > 0 {
		return req, oauth.Errorf(oauth.InvalidRequest, "%s was given more than once", dups[0])
	}

	requested := vals.Get(paramScope)
	if requested == "" {
		requested = signin.DefaultScope(client)
	}
	scopes, oerr := signin.ParseScopes(requested, client)
	if oerr != nil {
		return req, oerr
	}
	req.scopes = scopes

	req.challenge, req.method = vals.Get(paramCodeChallenge), vals.Get(paramCodeChallengeMethod)
	if oerr := signin.CheckPKCE(req.challenge, req.method, client); oerr != nil {
		return req, oerr
	}

	p, ok := parsePrompt(vals.Get(paramPrompt))
	if !ok {
		return req, oauth.Errorf(oauth.InvalidRequest, "prompt must be none, or any of login, consent and select_account")
	}
	req.prompt = p
	if oerr := h.parseOIDC(req, vals); oerr != nil {
		return req, oerr
	}
	req.dpopJKT = vals.Get(paramDPoPJKT)
	if req.dpopJKT != "" && !dpop.ValidThumbprint(req.dpopJKT) {
		return req, oauth.Errorf(oauth.InvalidRequest, "dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key (RFC 9449 section 10)")
	}
	return req, nil
}

// single returns the recognised parameters (names, or those of the
// authorization request when none are given) with one value each, dropping
// empty values (RFC 6749 section 3.1: a parameter without a value is
// omitted), and the names of those given more than once.
func single(q url.Values, names ...string) (url.Values, []string) {
	if len(names) == 0 {
		names = requestParams
	}
	out := url.Values{}
	var dups []string
	for _, name := range names {
		var n int
		for _, v := range q[name] {
			if v == "" {
				continue
			}
			if n == 0 {
				out.Set(name, v)
			}
			n++
		}
		if n > 1 {
			dups = append(dups, name)
		}
	}
	return out, dups
}

// matchRedirectURI applies the registration rules' matching (exact, with
// RFC 8252's free port on loopback for public clients only).
func matchRedirectURI(c store.Client, uri string) bool {
	return registry.MatchRedirectURI(c, uri)
}

func parsePrompt(s string) (prompt, bool) {
	var p prompt
	for _, v := range strings.Fields(s) {
		switch v {
		case "none":
			p.none = true
		case "login":
			p.login = true
		case "consent":
			p.consent = true
		case "select_account":
			p.selectAccount = true
		default:
			return p, false
		}
	}
	// none means "show nothing"; it cannot be combined with a page
	// (OpenID Connect Core 1.0 section 3.1.2.1).
	return p, !(p.none && (p.login || p.consent || p.selectAccount))
}

// afterSignIn returns the request's parameters for the return path of a
// sign-in page: without "login" and "select_account" in prompt, max_age,
// login_hint and id_token_hint, which that sign-in has answered. Coming
// back with them would ask for the password forever.
func (req *request) afterSignIn() url.Values {
	q := withoutPrompt(req.params, "login", "select_account")
	q.Del(paramMaxAge)
	q.Del(paramLoginHint)
	q.Del(paramIDTokenHint)
	return q
}

// withoutPrompt returns a copy of params with the values drop removed from
// prompt, and prompt removed once empty.
func withoutPrompt(params url.Values, drop ...string) url.Values {
	q := cloneValues(params)
	var rest []string
	for _, v := range strings.Fields(q.Get(paramPrompt)) {
		if !slices.Contains(drop, v) {
			rest = append(rest, v)
		}
	}
	if len(rest) == 0 {
		q.Del(paramPrompt)
	} else {
		q.Set(paramPrompt, strings.Join(rest, " "))
	}
	return q
}

// fields returns the parameters as hidden form fields, in a fixed order.
// prompt, max_age and the hints are left out: they have done their work
// once the page is shown (a consent page is shown to a session they
// accepted), and the nonce goes on to the code. A pushed request is
// carried by a fresh request_uri instead (returnURL).
func (h *Handler) fields(ctx context.Context, req *request) ([]web.Field, error) {
	if req.pushed {
		q := withoutPrompt(req.params, "none", "login", "consent", "select_account")
		q.Del(paramMaxAge)
		q.Del(paramLoginHint)
		q.Del(paramIDTokenHint)
		uri, err := h.push(ctx, req.client.ID, q, ContinuationTTL)
		if err != nil {
			return nil, err
		}
		return []web.Field{
			{Name: paramClientID, Value: req.client.ID},
			{Name: paramRequestURI, Value: uri},
		}, nil
	}
	var out []web.Field
	for _, name := range requestParams {
		switch name {
		case paramPrompt, paramMaxAge, paramLoginHint, paramIDTokenHint:
			continue
		}
		if v := req.params.Get(name); v != "" {
			out = append(out, web.Field{Name: name, Value: v})
		}
	}
	return out, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// redirectURL adds params to the query of redirectURI, keeping the query it
// already has (RFC 6749 section 3.1.2). It never concatenates strings, so a
// value cannot inject a parameter.
func redirectURL(redirectURI string, params url.Values) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	u.ForceQuery = false
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// errorDescription makes s safe for error_description, whose characters RFC
// 6749 section 4.1.2.1 limits to printable ASCII without '"' and '\'.
func errorDescription(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}
