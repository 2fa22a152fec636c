package aries

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// ClientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 section 2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAssertionLifetime is how long each client assertion the SDK signs
// is valid: it is sent at once and used once.
const ClientAssertionLifetime = 60 * time.Second

// clientKeyTransport authenticates the client with private_key_jwt (RFC
// 7523 section 2.2, Config.ClientKey): to each request to an Aries
// endpoint that authenticates clients (token, pushed authorization
// requests, revocation, introspection, first-party sign-in and MFA
// verification) it adds client_assertion_type and a new client_assertion,
// form-encoded or JSON as the request is. Every request, x/oauth2's token
// requests and a DPoP transport's retry included, gets an assertion of its
// own: each has a new jti, and Aries accepts a jti once.
type clientKeyTransport struct {
	base     http.RoundTripper
	clientID string
	audience string // the issuer: what Aries expects in "aud"
	origin   string // scheme://host of the API base URL
	paths    map[string]bool
	signer   jose.Signer
	now      func() time.Time
}

// newClientKeyTransport returns the transport for cfg's key over base, or
// nil when cfg has none. api is the API base URL; the assertions name
// audience.
func newClientKeyTransport(cfg Config, base http.RoundTripper, api, audience string, now func() time.Time) (*clientKeyTransport, error) {
	if cfg.ClientKey == nil {
		return nil, nil
	}
	if cfg.ClientSecret != "" {
		return nil, errors.New("aries: set ClientSecret or ClientKey, not both: a client authenticates one way")
	}
	if cfg.ClientID == "" {
		return nil, errors.New("aries: ClientKey needs ClientID")
	}
	alg, err := assertionAlgorithm(cfg.ClientKey)
	if err != nil {
		return nil, err
	}
	var key any = cfg.ClientKey
	switch cfg.ClientKey.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		key = cryptosigner.Opaque(cfg.ClientKey) // a key in a hardware module, say
	}
	opts := &jose.SignerOptions{}
	if cfg.ClientKeyID != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), cfg.ClientKeyID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return nil, fmt.Errorf("aries: ClientKey: %w", err)
	}
	u, err := url.Parse(api)
	if err != nil {
		return nil, fmt.Errorf("aries: %w", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	paths := map[string]bool{}
	for _, p := range []string{protocol.TokenPath, protocol.PARPath, protocol.RevokePath, protocol.IntrospectPath,
		protocol.FirstPartyAuthorizePath, protocol.MFAVerifyPath} {
		paths[u.Path+p] = true
	}
	return &clientKeyTransport{base: base, clientID: cfg.ClientID, audience: audience,
		origin: strings.ToLower(u.Scheme + "://" + u.Host), paths: paths, signer: s, now: now}, nil
}

// assertionAlgorithm is the JWS algorithm of key: ES256 for P-256, EdDSA
// for Ed25519, PS256 for RSA, those Aries accepts
// (token_endpoint_auth_signing_alg_values_supported).
func assertionAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("aries: ClientKey: an ECDSA key must be on P-256 (ES256)")
		}
		return jose.ES256, nil
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", errors.New("aries: ClientKey: an RSA key must have at least 2048 bits")
		}
		return jose.PS256, nil
	}
	return "", fmt.Errorf("aries: ClientKey: a %T key cannot sign ES256, EdDSA or PS256", key.Public())
}

// assertionClaims are the claims of RFC 7523 section 3.
type assertionClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	ID       string `json:"jti"`
}

// assertion signs a new client assertion: iss and sub the client ID, aud
// the issuer, a new jti, valid for ClientAssertionLifetime.
func (t *clientKeyTransport) assertion() (string, error) {
	now := t.now()
	payload, err := json.Marshal(assertionClaims{Issuer: t.clientID, Subject: t.clientID, Audience: t.audience,
		IssuedAt: now.Unix(), Expiry: now.Add(ClientAssertionLifetime).Unix(), ID: rand.Text()})
	if err != nil {
		return "", err
	}
	jws, err := t.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("aries: signing the client assertion: %w", err)
	}
	return jws.CompactSerialize()
}

// authenticates reports whether req goes to an endpoint that
// authenticates the client.
func (t *clientKeyTransport) authenticates(req *http.Request) bool {
	return req.Method == http.MethodPost && strings.ToLower(req.URL.Scheme+"://"+req.URL.Host) == t.origin && t.paths[req.URL.Path]
}

// RoundTrip implements http.RoundTripper.
func (t *clientKeyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.authenticates(req) {
		return t.base.RoundTrip(req)
	}
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("aries: %w", err)
		}
		body = b
	}
	assertion, err := t.assertion()
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, fmt.Errorf("aries: the request body is not a JSON object: %w", err)
		}
		delete(m, "client_secret")
		m["client_id"], m["client_assertion_type"], m["client_assertion"] = t.clientID, ClientAssertionType, assertion
		if body, err = json.Marshal(m); err != nil {
			return nil, fmt.Errorf("aries: %w", err)
		}
	default:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("aries: the request body is not a form: %w", err)
		}
		form.Del("client_secret")
		form.Set("client_id", t.clientID)
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
		body = []byte(form.Encode())
	}
	r := req.Clone(req.Context())
	if mt != "application/json" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// A secret in the Authorization header would be a second method.
	r.Header.Del("Authorization")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return t.base.RoundTrip(r)
}
