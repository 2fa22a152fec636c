package clientcenter

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/ariesexchange/aries/internal/registry"
	"github.com/ariesexchange/aries/internal/store"
)

// FAPIForm is the financial-grade part of the client form (docs/fapi.md).
// Its fields post as token_endpoint_auth_method (a select), jwks (a
// textarea holding a JWK Set), profile ("" or fapi2),
// require_pushed_authorization_requests (a checkbox),
// refresh_token_rotation ("", rotate or none) and
// refresh_token_grace_seconds (0-60). Anyone who manages the app sets
// them: each only narrows how it may get tokens.
type FAPIForm struct {
	AuthMethod      string
	JWKS            string // the textarea's text
	Profile         string
	RequirePAR      bool
	RefreshRotation string
	RefreshGrace    string // the number input's text
	// JWKSError is the registry's objection to the keys, shown beside the
	// textarea; BadGrace marks the grace input.
	JWKSError string
	BadGrace  bool
}

// fapiInput is what the financial-grade fields of a form sent.
type fapiInput struct {
	FAPIForm
	grace int
}

func readFAPI(r *http.Request) fapiInput {
	in := fapiInput{FAPIForm: FAPIForm{
		AuthMethod:      r.PostFormValue("token_endpoint_auth_method"),
		JWKS:            r.PostFormValue("jwks"),
		Profile:         r.PostFormValue("profile"),
		RequirePAR:      r.PostFormValue("require_pushed_authorization_requests") != "",
		RefreshRotation: r.PostFormValue("refresh_token_rotation"),
		RefreshGrace:    strings.TrimSpace(r.PostFormValue("refresh_token_grace_seconds")),
	}}
	if in.RefreshGrace != "" {
		n, err := strconv.Atoi(in.RefreshGrace)
		if err != nil {
			// Out of range on purpose: the registry then refuses it in its
			// own words, beside every other objection.
			n = -1
		}
		in.grace = n
	}
	return in
}

// apply puts the settings on spec.
func (in fapiInput) apply(spec *registry.Spec) {
	spec.AuthMethod = in.AuthMethod
	spec.JWKS = strings.TrimSpace(in.JWKS)
	spec.Profile = in.Profile
	spec.RequirePAR = in.RequirePAR
	spec.RefreshRotation = in.RefreshRotation
	spec.RefreshGrace = in.grace
}

// refused is the form as sent, with the fields the registry objected to
// marked.
func (in fapiInput) refused(spec registry.Spec) FAPIForm {
	f := in.FAPIForm
	if jwks := strings.TrimSpace(in.JWKS); jwks != "" {
		if _, err := registry.ClientKeys(jwks); err != nil {
			f.JWKSError = err.Error()
		}
	} else if spec.AuthMethod == store.AuthPrivateKeyJWT || spec.Profile == store.ProfileFAPI2 {
		f.JWKSError = "private_key_jwt needs the app's public keys: paste its JWK Set here"
	}
	f.BadGrace = in.grace < 0 || in.grace > registry.MaxRefreshGraceSeconds
	return f
}

// fapiFormOf fills the financial-grade fields from a stored client, the
// keys indented for reading.
func fapiFormOf(c store.Client) FAPIForm {
	f := FAPIForm{
		AuthMethod:      c.TokenEndpointAuthMethod,
		JWKS:            c.JWKS,
		Profile:         c.Profile,
		RequirePAR:      c.RequirePAR,
		RefreshRotation: c.RefreshTokenRotation,
		RefreshGrace:    strconv.Itoa(c.RefreshTokenGraceSeconds),
	}
	var b bytes.Buffer
	if c.JWKS != "" && json.Indent(&b, []byte(c.JWKS), "", "  ") == nil {
		f.JWKS = b.String()
	}
	return f
}

// keyIDs names the keys of c's JWK Set for its page: their kid, or their
// position when they have none.
func keyIDs(c store.Client) []string {
	if c.JWKS == "" {
		return nil
	}
	keys, err := registry.ClientKeys(c.JWKS)
	if err != nil {
		return []string{"(the registered JWK Set no longer parses: replace it)"}
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.KeyID
		if out[i] == "" {
			out[i] = "key " + strconv.Itoa(i+1) + " (no kid)"
		}
	}
	return out
}
