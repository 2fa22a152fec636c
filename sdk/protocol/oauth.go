package protocol

// Paths of the authorization server's endpoints. The authorization endpoint
// is served on the host of the hosted pages (https://app.aries.com in
// production), every other one on the API host (https://api.aries.com).
const (
	AuthorizePath           = "/oauth2/authorize"     // RFC 6749 section 3.1, browser
	TokenPath               = "/v1/oauth2/token"      // RFC 6749 section 3.2
	RevokePath              = "/v1/oauth2/revoke"     // RFC 7009
	IntrospectPath          = "/v1/oauth2/introspect" // RFC 7662
	PARPath                 = "/v1/oauth2/par"        // RFC 9126 section 2
	FirstPartyAuthorizePath = "/v1/oauth2/authorize"  // first-party sign-in, JSON
	MFAVerifyPath           = "/v1/oauth2/mfa/verify"
	UserInfoPath            = "/v1/oauth2/userinfo"               // OpenID Connect Core 1.0 section 5.3
	EndSessionPath          = "/oauth2/logout"                    // OpenID Connect RP-Initiated Logout 1.0, browser
	OpenIDConfigurationPath = "/.well-known/openid-configuration" // OpenID Connect Discovery 1.0 section 4
)

// Grant types of the token endpoint. GrantCode is the spelling of the Aries
// guide; the server accepts both it and RFC 6749's authorization_code.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantCode              = "code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Error codes the Aries endpoints answer with: RFC 6749 section 5.2 and
// section 4.1.2.1, RFC 6750 section 3.1, RFC 7009 section 2.2.1, OpenID
// Connect Core 1.0 section 3.1.2.6 (login_required, consent_required,
// interaction_required), and
// the Aries additions. This is the one list: the server's package oauth
// names these same constants.
const (
	ErrInvalidRequest            = "invalid_request"
	ErrInvalidClient             = "invalid_client"
	ErrInvalidGrant              = "invalid_grant"
	ErrUnauthorizedClient        = "unauthorized_client"
	ErrUnsupportedGrantType      = "unsupported_grant_type"
	ErrUnsupportedResponseType   = "unsupported_response_type"
	ErrUnsupportedTokenType      = "unsupported_token_type"
	ErrInvalidScope              = "invalid_scope"
	ErrAccessDenied              = "access_denied"
	ErrServerError               = "server_error"
	ErrTemporarilyUnavailable    = "temporarily_unavailable"
	ErrInvalidToken              = "invalid_token"
	ErrInsufficientScope         = "insufficient_scope"
	ErrLoginRequired             = "login_required"
	ErrConsentRequired           = "consent_required"
	ErrInteractionRequired       = "interaction_required"
	ErrRedirectURIMismatch       = "redirect_uri_mismatch"
	ErrInsufficientAuthorization = "insufficient_authorization"
	ErrInvalidMFACode            = "invalid_mfa_code"
	ErrRateLimited               = "rate_limited"
	// RFC 9449 sections 5, 7.1, 8 and 9: a DPoP proof that fails a check
	// of section 4.3, and the answer that asks for a proof carrying the
	// server's nonce (in the DPoP-Nonce header).
	ErrInvalidDPoPProof = "invalid_dpop_proof"
	ErrUseDPoPNonce     = "use_dpop_nonce"

	// RFC 9101 section 10.2, which RFC 9126 section 4 uses for a
	// request_uri that is unknown, expired, already used or another
	// client's.
	ErrInvalidRequestURI = "invalid_request_uri"
)

// RequestURIPrefix begins every request_uri the PAR endpoint hands out
// (RFC 9126 section 2.2).
const RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// PARResponse is the 201 answer of the pushed authorization request
// endpoint (RFC 9126 section 2.2): a reference to the pushed request, to
// send to the authorization endpoint with client_id within ExpiresIn
// seconds, once.
type PARResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int64  `json:"expires_in"`
}

// Token types of the token endpoint's answer (RFC 6749 section 7.1) and
// of introspection: a bearer token, or one bound to the client's key
// (RFC 9449 section 5) that is sent with the DPoP scheme and a proof.
const (
	TokenTypeBearer = "Bearer"
	TokenTypeDPoP   = "DPoP"
)

// TokenResponse is the successful answer of the token endpoint (RFC 6749
// section 5.1). Scope is always present and lists the granted scopes with
// the coarse bundles (read, trade, withdraw) expanded.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	// IDToken is the OpenID Connect ID token (Core 1.0 section 3.1.3.3),
	// present when the grant carries the openid scope.
	IDToken string `json:"id_token,omitempty"`
}

// IntrospectionResponse is the answer of the introspection endpoint (RFC
// 7662 section 2.2). An inactive token is {"active":false} and nothing
// else; TokenType is "Bearer" for an access token, "DPoP" for one bound to
// a key, and "refresh_token" for a refresh token.
type IntrospectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Audience  Audience `json:"aud,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	// Confirmation names the key a DPoP-bound access token is bound to
	// (RFC 9449 section 6.2); absent for a bearer token. TokenType is then
	// "DPoP".
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// ErrorResponse is the error body of every Aries endpoint (RFC 6749 section
// 5.2). The first-party authorization endpoint adds MFARequired,
// SessionToken and ExpiresIn to its insufficient_authorization answer.
type ErrorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	MFARequired      bool   `json:"mfa_required,omitempty"`
	SessionToken     string `json:"session_token,omitempty"`
	ExpiresIn        int64  `json:"expires_in,omitempty"`
}

// AuthorizeRequest is the JSON body of POST /v1/oauth2/authorize, the
// first-party sign-in of clients registered with --first-party. The client
// authenticates as at the token endpoint (ClientSecret when confidential);
// a public client binds the code to its verifier with CodeChallenge (S256,
// RFC 7636 section 4.3).
type AuthorizeRequest struct {
	ClientID            string `json:"client_id"`
	ClientSecret        string `json:"client_secret,omitempty"`
	Email               string `json:"email"`
	Password            string `json:"password"`
	Scope               string `json:"scope,omitempty"`
	RedirectURI         string `json:"redirect_uri,omitempty"`
	CodeChallenge       string `json:"code_challenge,omitempty"`
	CodeChallengeMethod string `json:"code_challenge_method,omitempty"`
}

// AuthorizeResponse is the 200 answer of the first-party authorization and
// MFA verification endpoints: an authorization code, exchanged at the token
// endpoint like one from the browser flow.
type AuthorizeResponse struct {
	AuthorizationCode string `json:"authorization_code"`
}

// MFAVerifyRequest is the JSON body of POST /v1/oauth2/mfa/verify: the
// 6-digit TOTP code and the session token of the 403 mfa_required answer,
// with client authentication.
type MFAVerifyRequest struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
	Code         string `json:"code"`
	SessionToken string `json:"session_token"`
}
