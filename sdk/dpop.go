package aries

import (
	"bytes"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// DPoP is the key a client proves possession of (RFC 9449), so that the
// tokens Aries gives it are bound to the key: a copy of such a token, from
// a log or a proxy, is refused by the API and by every service using
// package bearer. Set Config.DPoP, and nothing else in the app changes:
// the client signs a proof for each token request and each API call,
// answers a server's nonce challenge by retrying once, keeps each
// server's latest nonce, and binds the authorization code (dpop_jkt) and,
// for a public client, the refresh tokens to the key.
type DPoP struct {
	// Key signs the proofs. Nil means a P-256 key (ES256) made when the
	// client is built, which lives as long as the Client: tokens bound to
	// it, a public client's stored refresh token included, are of no use
	// to another process. An app that keeps a public client's refresh
	// token across runs keeps its key too, and passes it here.
	Key crypto.Signer
	// Algorithm is the proofs' "alg"; empty chooses it from the key:
	// ES256 for P-256, EdDSA for Ed25519, PS256 for RSA (RS256 may be
	// named).
	Algorithm string
}

// newDPoPTransport returns the transport that adds proofs to base's
// requests for the key of cfg, or nil when cfg is nil.
func newDPoPTransport(cfg *DPoP, base http.RoundTripper, tokenURL string, now func() time.Time) (*dpopTransport, error) {
	if cfg == nil {
		return nil, nil
	}
	key := cfg.Key
	if key == nil {
		k, err := dpop.GenerateKey()
		if err != nil {
			return nil, fmt.Errorf("aries: making a DPoP key: %w", err)
		}
		key = k
	}
	s, err := dpop.NewSigner(key, cfg.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("aries: DPoP: %w", err)
	}
	s.Now = now
	tu, err := url.Parse(tokenURL)
	if err != nil {
		return nil, fmt.Errorf("aries: %w", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	parPath := strings.TrimSuffix(tu.Path, protocol.TokenPath) + protocol.PARPath
	return &dpopTransport{base: base, signer: s, tokenURL: tu, parPath: parPath, nonces: map[string]string{}}, nil
}

// dpopTransport adds a DPoP proof (RFC 9449 section 4) to each token
// request and each request whose Authorization header uses the DPoP
// scheme, remembers the nonce each server hands out (section 8.2), and
// answers one nonce challenge per request by sending it again with a new
// proof carrying the nonce (sections 8 and 9).
type dpopTransport struct {
	base     http.RoundTripper
	signer   *dpop.Signer
	tokenURL *url.URL
	parPath  string // the path of the PAR endpoint, on tokenURL's host

	mu     sync.Mutex
	nonces map[string]string // origin -> the latest DPoP-Nonce it sent
}

// RoundTrip implements http.RoundTripper.
func (t *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, dpopScheme := dpopToken(req)
	if !dpopScheme && !t.isTokenRequest(req) {
		return t.base.RoundTrip(req)
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	resp, err := t.send(req, req.Body, token, t.nonce(origin))
	if err != nil {
		return nil, err
	}
	t.remember(origin, resp)
	nonce := resp.Header.Get(dpop.NonceHeader)
	if nonce == "" || !nonceChallenge(resp) || (req.Body != nil && req.GetBody == nil) {
		return resp, nil
	}
	// One retry: a server asking again for the nonce it just gave is not
	// answered a third time.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	var body io.ReadCloser
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, err = t.send(req, body, token, nonce)
	if err != nil {
		return nil, err
	}
	t.remember(origin, resp)
	return resp, nil
}

// send sends a copy of req with body and a new proof.
func (t *dpopTransport) send(req *http.Request, body io.ReadCloser, token, nonce string) (*http.Response, error) {
	proof, err := t.signer.Proof(req.Method, req.URL.String(), token, nonce)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set(dpop.Header, proof)
	return t.base.RoundTrip(r)
}

// dpopToken returns the access token of a request sent with the DPoP
// scheme.
func dpopToken(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, protocol.TokenTypeDPoP) {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// isTokenRequest reports whether req goes to the token endpoint, where
// every request carries a proof (RFC 9449 section 5), or to the pushed
// authorization request endpoint beside it, where a proof binds the code
// to the key (section 10.1).
func (t *dpopTransport) isTokenRequest(req *http.Request) bool {
	u := req.URL
	return req.Method == http.MethodPost && strings.EqualFold(u.Scheme, t.tokenURL.Scheme) &&
		strings.EqualFold(u.Host, t.tokenURL.Host) && (u.Path == t.tokenURL.Path || u.Path == t.parPath)
}

func (t *dpopTransport) nonce(origin string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nonces[origin]
}

// remember keeps the nonce a server sent, for its next proofs.
func (t *dpopTransport) remember(origin string, resp *http.Response) {
	if n := resp.Header.Get(dpop.NonceHeader); n != "" {
		t.mu.Lock()
		t.nonces[origin] = n
		t.mu.Unlock()
	}
}

// nonceChallenge reports whether resp asks for a proof with the server's
// nonce: a token endpoint's 400 use_dpop_nonce (RFC 9449 section 8) or a
// resource's 401 DPoP challenge with error="use_dpop_nonce" (section 9).
// It leaves resp's body readable.
func nonceChallenge(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		for _, c := range resp.Header.Values("WWW-Authenticate") {
			if code, _, scheme := parseChallenge(c); strings.EqualFold(scheme, protocol.TokenTypeDPoP) && code == protocol.ErrUseDPoPNonce {
				return true
			}
		}
	case http.StatusBadRequest:
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return false
		}
		var e protocol.ErrorResponse
		return json.Unmarshal(b, &e) == nil && e.Error == protocol.ErrUseDPoPNonce
	}
	return false
}

// DPoPThumbprint returns the RFC 7638 thumbprint of the client's DPoP key
// (the "jkt" its tokens are bound to), or "" when Config.DPoP is not set.
func (c *Client) DPoPThumbprint() string {
	if c.dpop == nil {
		return ""
	}
	return c.dpop.signer.JKT()
}
