package registry

import (
	"encoding/json"
	"time"

	"github.com/ariesexchange/aries/internal/store"
)

// ClientView is the JSON form of a client, the same for the CLI
// (`aries clients show --json`, docs/protocol.md#cli-json-output) and the
// admin API. client_secret appears only in the answer that made the secret.
type ClientView struct {
	ClientID       string    `json:"client_id"`
	ClientSecret   string    `json:"client_secret,omitempty"`
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	FirstParty     bool      `json:"first_party"`
	ResourceServer bool      `json:"resource_server"` // docs/security.md#who-may-introspect
	RedirectURIs   []string  `json:"redirect_uris"`
	Scopes         []string  `json:"scopes"`
	Disabled       bool      `json:"disabled"`
	OwnerID        string    `json:"owner_id,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`

	// OpenID Connect (docs/oidc.md), with the field names of OpenID
	// Connect Dynamic Client Registration 1.0 section 2 and RP-Initiated
	// Logout 1.0 section 3.1.
	PostLogoutRedirectURIs   []string `json:"post_logout_redirect_uris"`
	IDTokenSignedResponseAlg string   `json:"id_token_signed_response_alg"`

	// DPoPBoundAccessTokens: the client gets DPoP-bound tokens only (RFC
	// 9449 section 5.2, docs/dpop.md).
	DPoPBoundAccessTokens bool `json:"dpop_bound_access_tokens"`

	// Financial-grade settings (docs/fapi.md), named as RFC 7591, RFC 9126
	// and docs/fapi.md name them. JWKS is the inline JWK Set, null when the
	// client has none.
	TokenEndpointAuthMethod            string          `json:"token_endpoint_auth_method"`
	JWKS                               json.RawMessage `json:"jwks"`
	Profile                            string          `json:"profile"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests"`
	RefreshTokenRotation               string          `json:"refresh_token_rotation"`
	RefreshTokenGraceSeconds           int             `json:"refresh_token_grace_seconds"`
}

// View renders c, with clientSecret when it was just made.
func View(c store.Client, clientSecret string) ClientView {
	return ClientView{
		ClientID: c.ID, ClientSecret: clientSecret, Name: c.Name, Type: string(c.Type),
		FirstParty: c.FirstParty, RedirectURIs: nonNil(c.RedirectURIs), Scopes: nonNil(c.Scopes),
		Disabled: c.Disabled, OwnerID: c.OwnerID, ResourceServer: c.ResourceServer,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), IDTokenSignedResponseAlg: idtokenAlg(c),
		DPoPBoundAccessTokens: c.DPoPBoundAccessTokens,

		TokenEndpointAuthMethod: c.AuthMethod(), JWKS: jwks(c.JWKS), Profile: c.Profile,
		RequirePushedAuthorizationRequests: c.RequirePAR,
		RefreshTokenRotation:               c.Rotation(), RefreshTokenGraceSeconds: c.RefreshTokenGraceSeconds,
	}
}

// jwks is a stored JWK Set as JSON, null for none.
func jwks(raw string) json.RawMessage {
	if raw == "" {
		return json.RawMessage("null")
	}
	return json.RawMessage(raw)
}

// nonNil keeps empty lists as [] rather than null in JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
