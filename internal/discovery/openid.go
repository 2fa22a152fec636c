package discovery

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ariesexchange/aries/internal/idtoken"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// Paths of the OpenID Provider's own documents and endpoints.
const (
	OpenIDConfigurationPath = protocol.OpenIDConfigurationPath
	UserInfoPath            = protocol.UserInfoPath
	EndSessionPath          = protocol.EndSessionPath
)

// OpenIDConfiguration is the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 section 3): every field of the RFC 8414 document (Metadata)
// and those OpenID Connect adds. Values whose Discovery default would be
// wrong for Aries are written out: request_uri_parameter_supported defaults
// to true, and Aries takes no request objects.
type OpenIDConfiguration struct {
	Metadata
	UserinfoEndpoint                 string   `json:"userinfo_endpoint"`
	EndSessionEndpoint               string   `json:"end_session_endpoint"`
	SubjectTypesSupported            []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                  []string `json:"claims_supported"`
	PromptValuesSupported            []string `json:"prompt_values_supported"`
	ClaimsParameterSupported         bool     `json:"claims_parameter_supported"`
	RequestParameterSupported        bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported     bool     `json:"request_uri_parameter_supported"`
}

// OpenIDConfiguration returns the document served at
// OpenIDConfigurationPath.
func (h *Handler) OpenIDConfiguration() OpenIDConfiguration {
	base := strings.TrimSuffix(h.Issuer, "/")
	return OpenIDConfiguration{
		Metadata:           h.Metadata(),
		UserinfoEndpoint:   base + UserInfoPath,
		EndSessionEndpoint: base + EndSessionPath,
		// sub is the user id everywhere, for every client (Core 1.0
		// section 8): no pairwise identifiers.
		SubjectTypesSupported: []string{"public"},
		// RS256 first: the default, and the algorithm Core 1.0 section
		// 15.1 requires every OpenID Provider to support.
		IDTokenSigningAlgValuesSupported: idtoken.Algorithms,
		ClaimsSupported: []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp",
			"sid", "at_hash", "email", "email_verified", "name"},
		// OpenID Connect Core 1.0 section 3.1.2.1 and Initiating User
		// Registration 1.0 section 4 (which names this field).
		PromptValuesSupported: []string{"none", "login", "consent", "select_account"},
	}
}

// registerOpenID mounts the OpenID Provider metadata, rendered once.
func (h *Handler) registerOpenID(mux interface{ Handle(string, http.Handler) }) {
	doc, err := json.MarshalIndent(h.OpenIDConfiguration(), "", "  ")
	if err != nil {
		panic(err) // only strings, lists and bools: cannot fail
	}
	doc = append(doc, '\n')
	mux.Handle("GET "+OpenIDConfigurationPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePublic(w, "public, max-age=3600", doc)
	}))
}
