package admin

import (
	"bytes"
	"encoding/json"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/registry"
)

// fapiCreate are the financial-grade settings of POST /admin/v1/clients
// (docs/fapi.md), under the names `clients show --json` prints: each
// optional, the registry's defaults (and the fapi2 profile's) otherwise.
// jwks is a JWK Set object.
type fapiCreate struct {
	TokenEndpointAuthMethod            string          `json:"token_endpoint_auth_method"`
	JWKS                               json.RawMessage `json:"jwks"`
	Profile                            string          `json:"profile"`
	RequirePushedAuthorizationRequests bool            `json:"require_pushed_authorization_requests"`
	RefreshTokenRotation               string          `json:"refresh_token_rotation"`
	RefreshTokenGraceSeconds           int             `json:"refresh_token_grace_seconds"`
}

// fapiUpdate are the same settings in PATCH /admin/v1/clients/{id}: a
// field left out keeps its value; "jwks": null removes the keys.
type fapiUpdate struct {
	TokenEndpointAuthMethod            *string         `json:"token_endpoint_auth_method"`
	JWKS                               json.RawMessage `json:"jwks"`
	Profile                            *string         `json:"profile"`
	RequirePushedAuthorizationRequests *bool           `json:"require_pushed_authorization_requests"`
	RefreshTokenRotation               *string         `json:"refresh_token_rotation"`
	RefreshTokenGraceSeconds           *int            `json:"refresh_token_grace_seconds"`
}

// apply sets the settings of f on s.
func (f fapiCreate) apply(s *registry.Spec) *oauth.Error {
	jwks, _, e := jwksText(f.JWKS)
	if e != nil {
		return e
	}
	s.AuthMethod, s.JWKS, s.Profile = f.TokenEndpointAuthMethod, jwks, f.Profile
	s.RequirePAR = f.RequirePushedAuthorizationRequests
	s.RefreshRotation, s.RefreshGrace = f.RefreshTokenRotation, f.RefreshTokenGraceSeconds
	return nil
}

// apply sets on s, which holds the client's stored settings, those f
// names.
func (f fapiUpdate) apply(s *registry.Spec) *oauth.Error {
	jwks, given, e := jwksText(f.JWKS)
	if e != nil {
		return e
	}
	if given {
		s.JWKS = jwks
	}
	if f.TokenEndpointAuthMethod != nil {
		s.AuthMethod = *f.TokenEndpointAuthMethod
	}
	if f.Profile != nil {
		s.Profile = *f.Profile
	}
	if f.RequirePushedAuthorizationRequests != nil {
		s.RequirePAR = *f.RequirePushedAuthorizationRequests
	}
	if f.RefreshTokenRotation != nil {
		s.RefreshRotation = *f.RefreshTokenRotation
	}
	if f.RefreshTokenGraceSeconds != nil {
		s.RefreshGrace = *f.RefreshTokenGraceSeconds
	}
	return nil
}

// jwksText is the JWK Set a request sent, as the registry takes it:
// compact JSON text, "" for null; given is false when the field was left
// out. The registry judges the keys; here only the shape is checked.
func jwksText(raw json.RawMessage) (jwks string, given bool, _ *oauth.Error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "", false, nil
	case string(raw) == "null":
		return "", true, nil
	case raw[0] != '{':
		return "", true, oauth.Errorf(oauth.InvalidRequest, `jwks must be a JWK Set object: {"keys":[...]}`)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", true, oauth.Errorf(oauth.InvalidRequest, "jwks is not valid JSON")
	}
	return b.String(), true, nil
}
