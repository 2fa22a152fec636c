package discovery

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ariesexchange/aries/internal/clientauth"
	"github.com/ariesexchange/aries/internal/keys"
	"github.com/ariesexchange/aries/internal/scope"
	"github.com/ariesexchange/aries/sdk/dpop"
)

// Paths of the endpoints the metadata names, relative to the issuer.
const (
	MetadataPath      = "/.well-known/oauth-authorization-server"
	JWKSPath          = "/.well-known/jwks.json"
	AuthorizationPath = "/oauth2/authorize"
	TokenPath         = "/v1/oauth2/token"
	RevocationPath    = "/v1/oauth2/revoke"
	IntrospectionPath = "/v1/oauth2/introspect"
	PARPath           = "/v1/oauth2/par"
)

// Metadata is the authorization server metadata document (RFC 8414
// section 2).
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ServiceDocumentation                       string   `json:"service_documentation,omitempty"`
	// DPoPSigningAlgValuesSupported are the proof algorithms the token
	// endpoint and the API accept (RFC 9449 section 5.1).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported"`
	// PushedAuthorizationRequestEndpoint and
	// RequirePushedAuthorizationRequests: RFC 9126 section 5. Clients
	// registered with require_pushed_authorization_requests must push even
	// when the server-wide flag is false.
	PushedAuthorizationRequestEndpoint string `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests bool   `json:"require_pushed_authorization_requests"`

	// The algorithms of private_key_jwt client assertions at each
	// endpoint (RFC 8414 section 2): clientauth.Algorithms.
	TokenEndpointAuthSigningAlgValuesSupported         []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RevocationEndpointAuthSigningAlgValuesSupported    []string `json:"revocation_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthSigningAlgValuesSupported []string `json:"introspection_endpoint_auth_signing_alg_values_supported"`
}

// Handler serves the metadata and the JWKS.
type Handler struct {
	Issuer               string        // the "iss" of every token, e.g. https://auth.aries.example
	Keys                 *keys.Keyring // source of the JWKS
	ServiceDocumentation string        // optional URL of the developer documentation
	// DPoPAlgorithms are the DPoP proof algorithms the server accepts;
	// nil means dpop.DefaultAlgorithms, what the server's verifier
	// accepts unless configured otherwise.
	DPoPAlgorithms []string
	// RequirePAR says every client must push its authorization requests
	// (aries serve --require-par).
	RequirePAR bool
}

// Metadata returns the document served at MetadataPath.
func (h *Handler) Metadata() Metadata {
	base := strings.TrimSuffix(h.Issuer, "/")
	// Bundles are accepted in requests (docs/scopes.md#bundles), so clients
	// may discover them too.
	scopes := make([]string, 0, len(scope.All)+len(scope.Bundles))
	for _, s := range scope.All {
		scopes = append(scopes, s.Name)
	}
	scopes = append(scopes, slices.Sorted(maps.Keys(scope.Bundles))...)
	dpopAlgorithms := h.DPoPAlgorithms
	if dpopAlgorithms == nil {
		dpopAlgorithms = dpop.DefaultAlgorithms
	}
	return Metadata{
		Issuer:                 h.Issuer,
		AuthorizationEndpoint:  base + AuthorizationPath,
		TokenEndpoint:          base + TokenPath,
		JWKSURI:                base + JWKSPath,
		RevocationEndpoint:     base + RevocationPath,
		IntrospectionEndpoint:  base + IntrospectionPath,
		ScopesSupported:        scopes,
		ResponseTypesSupported: []string{"code"},
		ResponseModesSupported: []string{"query"},
		GrantTypesSupported:    []string{"authorization_code", "refresh_token", "client_credentials"},
		// "none": public clients identify themselves by client_id and
		// prove possession of the code with PKCE (RFC 7636).
		// private_key_jwt: RFC 7523 section 2.2 (package clientauth).
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		// A public client may revoke its own tokens (RFC 7009 section 5).
		RevocationEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		// Introspection reveals token contents: confidential clients only.
		IntrospectionEndpointAuthMethodsSupported:  []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		AuthorizationResponseIssParameterSupported: true, // RFC 9207 section 3
		ServiceDocumentation:                       h.ServiceDocumentation,
		DPoPSigningAlgValuesSupported:              dpopAlgorithms,
		PushedAuthorizationRequestEndpoint:         base + PARPath,
		RequirePushedAuthorizationRequests:         h.RequirePAR,

		TokenEndpointAuthSigningAlgValuesSupported:         clientauth.Algorithms,
		RevocationEndpointAuthSigningAlgValuesSupported:    clientauth.Algorithms,
		IntrospectionEndpointAuthSigningAlgValuesSupported: clientauth.Algorithms,
	}
}

// Register mounts the metadata and JWKS routes on mux (an *http.ServeMux,
// or server.New's record of one).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	metadata, err := json.MarshalIndent(h.Metadata(), "", "  ")
	if err != nil {
		panic(err) // only strings and bools: cannot fail
	}
	metadata = append(metadata, '\n')
	mux.Handle("GET "+MetadataPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writePublic(w, "public, max-age=3600", metadata)
	}))
	mux.Handle("GET "+JWKSPath, http.HandlerFunc(h.serveJWKS))
	h.registerOpenID(mux)
}

func (h *Handler) serveJWKS(w http.ResponseWriter, r *http.Request) {
	body, err := json.Marshal(h.Keys.JWKS())
	if err != nil {
		http.Error(w, "cannot encode the key set", http.StatusInternalServerError)
		return
	}
	writePublic(w, "public, max-age=300", append(body, '\n'))
}

// writePublic writes a document anyone may read, including browser apps on
// other origins (they fetch metadata and keys before they hold a token).
func writePublic(w http.ResponseWriter, cacheControl string, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", cacheControl)
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(body)
}
