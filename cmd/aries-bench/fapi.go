package main

// The financial-grade cases (docs/fapi.md). client_credentials with
// private_key_jwt (RFC 7523) is client_credentials with a new signed
// assertion in place of the secret on every request, compared with the
// secret case so that the report can say what key-based authentication
// adds to the server's work per request. fapi2_flow is the FAPI 2.0 code
// flow without the human: a pushed authorization request (RFC 9126), the
// browser's visit to /oauth2/authorize with a signed-in session and a
// remembered consent, and the token request with PKCE and a DPoP proof.
// Both run against Aries only: the floor has neither. The loader signs the
// assertions and proofs (its CPU is not the server's), and the clients are
// registered with the aries CLI, as an operator registers a partner.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	aries "github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// keyJWTPairs names each private_key_jwt case with the secret case it is
// compared to.
var keyJWTPairs = [][2]string{
	{"client_credentials", "client_credentials_private_key_jwt"},
	{"client_credentials", "client_credentials_private_key_jwt_eddsa"},
}

// flowRequests is how many HTTP requests one fapi2_flow iteration sends:
// the push, the authorization request and the token request.
const flowRequests = 3

// flowRedirectURI is the partner's registered redirect URI. Nothing
// listens there: the bench reads the code from the redirect's Location.
const flowRedirectURI = "http://127.0.0.1:9/fapi"

// assertionSigner signs the client assertions of one client with the
// claims the Go SDK sends (sdk/clientkey.go; RFC 7523 section 3): iss and
// sub the client ID, aud the issuer, a new jti, valid 60 seconds.
type assertionSigner struct {
	clientID string
	audience string
	signer   jose.Signer
}

func newAssertionSigner(clientID, audience string, key crypto.Signer, alg jose.SignatureAlgorithm, kid string) (*assertionSigner, error) {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return nil, err
	}
	return &assertionSigner{clientID: clientID, audience: audience, signer: s}, nil
}

func (a *assertionSigner) sign() (string, error) {
	now := time.Now()
	payload, err := json.Marshal(map[string]any{"iss": a.clientID, "sub": a.clientID, "aud": a.audience,
		"iat": now.Unix(), "exp": now.Add(aries.ClientAssertionLifetime).Unix(), "jti": rand.Text()})
	if err != nil {
		return "", err
	}
	jws, err := a.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// authenticate adds the client's authentication to form: its ID and a new
// assertion.
func (a *assertionSigner) authenticate(form url.Values) error {
	assertion, err := a.sign()
	if err != nil {
		return err
	}
	form.Set("client_id", a.clientID)
	form.Set("client_assertion_type", aries.ClientAssertionType)
	form.Set("client_assertion", assertion)
	return nil
}

// metadata is the part of t's metadata (RFC 8414 section 3) the
// financial-grade cases read.
type metadata struct {
	Issuer string `json:"issuer"` // the "aud" of the assertions
	PAR    string `json:"pushed_authorization_request_endpoint"`
}

func (t *target) metadata(ctx context.Context) (metadata, error) {
	var md metadata
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return md, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return md, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return md, fmt.Errorf("metadata of %s: status %d", t.name, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || md.Issuer == "" {
		return md, fmt.Errorf("metadata of %s: no issuer", t.name)
	}
	return md, nil
}

// registerKeyClient makes a key pair of alg's type and registers a client
// with its public half as a JWK Set (`aries clients create --jwks -`, the
// set on standard input) and args. It returns the client's assertion
// signer, whose assertions name aud.
func registerKeyClient(ctx context.Context, t *target, aud string, alg jose.SignatureAlgorithm, args ...string) (*assertionSigner, error) {
	if t.cli == nil {
		return nil, fmt.Errorf("%s has no command line to register clients with", t.name)
	}
	var (
		key crypto.Signer
		err error
	)
	switch alg {
	case jose.ES256:
		key, err = dpop.GenerateKey()
	case jose.EdDSA:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("no key type for %s", alg)
	}
	if err != nil {
		return nil, err
	}
	kid := "bench-" + strings.ToLower(string(alg))
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Use: "sig", Algorithm: string(alg)}}})
	if err != nil {
		return nil, err
	}
	out, err := t.cli(ctx, string(jwks), append([]string{"clients", "create", "--jwks", "-", "--json"}, args...)...)
	if err != nil {
		return nil, err
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		AuthMethod   string `json:"token_endpoint_auth_method"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("clients create: %w", err)
	}
	if c.ClientID == "" || c.ClientSecret != "" || c.AuthMethod != "private_key_jwt" {
		return nil, fmt.Errorf("clients create: got client %q, method %q (secret issued: %t); want private_key_jwt without a secret",
			c.ClientID, c.AuthMethod, c.ClientSecret != "")
	}
	return newAssertionSigner(c.ClientID, aud, key, alg, kid)
}

// The private_key_jwt client_credentials cases: ES256, what the Go SDK
// signs with a P-256 key, and EdDSA, the cheapest to verify.
var (
	clientCredentialsKeyJWTES256 = clientCredentialsKeyJWT(jose.ES256)
	clientCredentialsKeyJWTEdDSA = clientCredentialsKeyJWT(jose.EdDSA)
)

// clientCredentialsKeyJWT is clientCredentials for a client registered
// with `--auth-method private_key_jwt`, signing with alg: each request
// carries a new assertion, which the server parses, checks (RFC 7523
// section 3), verifies with the client's registered key and whose jti it
// records.
func clientCredentialsKeyJWT(alg jose.SignatureAlgorithm) func(context.Context, *target, int) (sender, error) {
	return func(ctx context.Context, t *target, _ int) (sender, error) {
		md, err := t.metadata(ctx)
		if err != nil {
			return nil, err
		}
		a, err := registerKeyClient(ctx, t, md.Issuer, alg, "--name", "bench private_key_jwt "+string(alg),
			"--auth-method", "private_key_jwt", "--redirect-uri", "http://127.0.0.1:9/cb", "--scope", "market:information")
		if err != nil {
			return nil, err
		}
		tokenURL := t.base + protocol.TokenPath
		return func(ctx context.Context, w int) int {
			form := url.Values{"grant_type": {protocol.GrantClientCredentials}, "scope": {"market:information"}}
			if err := a.authenticate(form); err != nil {
				return 0
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
			if err != nil {
				return 0
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := t.client.Do(req)
			if err != nil {
				return 0
			}
			defer drain(resp)
			if resp.StatusCode != http.StatusOK {
				return resp.StatusCode
			}
			var tr tokenResponse
			if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
				return statusBadAnswer
			}
			return http.StatusOK
		}, nil
	}
}

// fapiFlow is one FAPI 2.0 partner signing the bench user in, over and
// over: each worker is a browser of its own (a cookie jar holding its
// session) and holds a DPoP key of its own.
type fapiFlow struct {
	t        *target
	a        *assertionSigner
	keys     []*dpop.Signer
	browsers []*http.Client
	scope    string
	issuer   string
}

// fapi2Flow registers a partner with `--profile fapi2`, signs the bench
// user in once per worker through the hosted pages (GET /login, POST
// /login) and approves the consent page once, all during a first flow per
// worker that is not measured. Every measured flow then finds a session
// and a remembered consent, so /oauth2/authorize answers with the
// redirect carrying the code, as it does for a returning user.
func fapi2Flow(ctx context.Context, t *target, _ int) (sender, error) {
	md, err := t.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if md.PAR == "" {
		return nil, errSkip{"this build of Aries has no pushed_authorization_request_endpoint"}
	}
	scope := strings.Join(benchScopes, " ")
	a, err := registerKeyClient(ctx, t, md.Issuer, jose.ES256, "--name", "bench FAPI 2.0 partner", "--profile", "fapi2",
		"--redirect-uri", flowRedirectURI, "--scope", scope)
	if err != nil {
		return nil, err
	}
	keys, err := signers(len(t.access))
	if err != nil {
		return nil, err
	}
	f := &fapiFlow{t: t, a: a, keys: keys, scope: scope, issuer: a.audience, browsers: make([]*http.Client, len(keys))}
	for w := range f.browsers {
		jar, _ := cookiejar.New(nil)
		// The workers' connections, and no redirect followed: each
		// step's answer is read.
		f.browsers[w] = &http.Client{Transport: t.client.Transport, Jar: jar, Timeout: t.client.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	// One sign-in at a time: each hashes the password (argon2id), and
	// the server refuses sign-ins beyond its cap on concurrent hashes.
	for w := range f.browsers {
		if status, err := f.run(ctx, w, true); err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("first FAPI 2.0 flow of worker %d (sign-in and consent): %s: %v", w, statusLabel(status), err)
		}
	}
	return func(ctx context.Context, w int) int {
		status, _ := f.run(ctx, w, false)
		return status
	}, nil
}

// run sends one flow for worker w: push, authorize, token. Only a DPoP
// token at the end is a success. With interactive, it signs in and
// approves when the server shows those pages; otherwise a page instead
// of the redirect is a bad answer. The error says what went wrong, for
// the first flows.
func (f *fapiFlow) run(ctx context.Context, w int, interactive bool) (int, error) {
	verifier, state := aries.GenerateVerifier(), aries.GenerateState()

	// RFC 9126 section 2.1, with a proof that binds the code to the
	// worker's key (RFC 9449 section 10.1).
	parURL := f.t.base + protocol.PARPath
	form := url.Values{"response_type": {"code"}, "redirect_uri": {flowRedirectURI}, "scope": {f.scope}, "state": {state},
		"code_challenge": {aries.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	status, body, err := f.post(ctx, w, parURL, form)
	if err != nil || status != http.StatusCreated {
		return status, fmt.Errorf("push: %v %s", err, body)
	}
	var pushed struct {
		RequestURI string `json:"request_uri"`
	}
	if err := json.Unmarshal(body, &pushed); err != nil || !strings.HasPrefix(pushed.RequestURI, protocol.RequestURIPrefix) {
		return statusBadAnswer, fmt.Errorf("push: no request_uri in %s", body)
	}

	// The browser visits the authorization endpoint with client_id and
	// request_uri only (RFC 9126 section 4).
	authURL := f.t.base + protocol.AuthorizePath + "?" + url.Values{"client_id": {f.a.clientID}, "request_uri": {pushed.RequestURI}}.Encode()
	loc, err := f.authorize(ctx, w, authURL, interactive)
	if err != nil {
		return statusBadAnswer, err
	}
	q := loc.Query()
	if !strings.HasPrefix(loc.String(), flowRedirectURI+"?") || q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != f.issuer {
		return statusBadAnswer, fmt.Errorf("authorize: sent back to %s; want a code, the state and iss (RFC 9207)", loc)
	}

	// RFC 6749 section 4.1.3 with the PKCE verifier (RFC 7636 section
	// 4.5) and a proof of the same key.
	form = url.Values{"grant_type": {protocol.GrantAuthorizationCode}, "code": {q.Get("code")},
		"redirect_uri": {flowRedirectURI}, "code_verifier": {verifier}}
	status, body, err = f.post(ctx, w, f.t.base+protocol.TokenPath, form)
	if err != nil || status != http.StatusOK {
		return status, fmt.Errorf("token: %v %s", err, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.TokenType != protocol.TokenTypeDPoP {
		return statusBadAnswer, fmt.Errorf("token: want a DPoP token, got %s", body)
	}
	return http.StatusOK, nil
}

// maxAnswer bounds what the bench reads of an answer.
const maxAnswer = 64 << 10

// post sends form to u as worker w's client: a new assertion, and a new
// DPoP proof of the worker's key.
func (f *fapiFlow) post(ctx context.Context, w int, u string, form url.Values) (int, []byte, error) {
	if err := f.a.authenticate(form); err != nil {
		return 0, nil, err
	}
	proof, err := f.keys[w].Proof(http.MethodPost, u, "", "")
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := f.t.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer drain(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, body, err
}

// authorize opens authURL in worker w's browser and returns where the
// server sends it back to the client. With interactive it goes through
// the sign-in and consent pages on the way, as a person would.
func (f *fapiFlow) authorize(ctx context.Context, w int, authURL string, interactive bool) (*url.URL, error) {
	c := f.browsers[w]
	resp, body, err := browse(ctx, c, http.MethodGet, authURL, nil)
	// A person takes at most a few steps: the sign-in page, its answer,
	// the authorization request again, the consent page, its answer.
	for range 8 {
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, lerr := resp.Location()
			if lerr != nil {
				return nil, lerr
			}
			if !strings.HasPrefix(loc.String(), f.t.base+"/") {
				return loc, nil
			}
			if !interactive {
				return nil, fmt.Errorf("authorize: sent to %s, want the client's redirect URI", loc)
			}
			resp, body, err = browse(ctx, c, http.MethodGet, loc.String(), nil)
		case !interactive:
			return nil, fmt.Errorf("authorize: status %d instead of a redirect", resp.StatusCode)
		case resp.StatusCode == http.StatusOK && strings.Contains(body, `name="password"`):
			resp, body, err = f.submit(ctx, c, body, "email", benchEmail, "password", benchPassword)
		case resp.StatusCode == http.StatusOK && strings.Contains(body, `name="decision"`):
			resp, body, err = f.submit(ctx, c, body, "decision", "approve")
		default:
			return nil, fmt.Errorf("authorize: unexpected page, status %d", resp.StatusCode)
		}
	}
	return nil, errors.New("authorize: the flow did not reach the client within 8 steps")
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// submit fills in the first POST form of page (its hidden fields, such as
// return_to and the CSRF token, and fields as name, value pairs) and sends
// it, as a browser on the same origin does.
func (f *fapiFlow) submit(ctx context.Context, c *http.Client, page string, fields ...string) (*http.Response, string, error) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return nil, "", errors.New("no POST form on the page")
	}
	form := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return browse(ctx, c, http.MethodPost, f.t.base+html.UnescapeString(m[1]), form)
}

// browse sends one request of a browser: a GET, or a POST of form. It
// returns the answer with its body read.
func browse(ctx context.Context, c *http.Client, method, u string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = bytes.NewReader([]byte(form.Encode()))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer drain(resp)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp, string(b), err
}

// fapiCosts prints what private_key_jwt adds to each case it repeats (the
// server's CPU per request and the closed-loop rate, against the same
// request authenticated with a secret), and what a FAPI 2.0 flow costs:
// flows per second, and the server's CPU per flow and per HTTP request.
func fapiCosts(w io.Writer, store string, base int, sums map[groupKey]map[string]summary) {
	for _, pair := range keyJWTPairs {
		secret, ok1 := sums[groupKey{store, base, pair[0], "closed"}]["aries"]
		keyed, ok2 := sums[groupKey{store, base, pair[1], "closed"}]["aries"]
		if !ok1 || !ok2 || secret.serverCPU <= 0 {
			continue
		}
		extra := float64(keyed.serverCPU)/float64(secret.serverCPU) - 1
		// The assertion's jti is written to the store: on PostgreSQL
		// that work is PostgreSQL's.
		db := ""
		if store != "sqlite" {
			db = fmt.Sprintf("; PostgreSQL CPU/req %dµs vs %dµs", keyed.dbCPU.Microseconds(), secret.dbCPU.Microseconds())
		}
		fmt.Fprintf(w, "  %-18s what private_key_jwt adds per request (%s): %dµs vs %dµs CPU/req with a secret = %+dµs (%+.0f%%)%s; req/s %.0f vs %.0f, p50 %v vs %v\n",
			pair[0], pair[1], keyed.serverCPU.Microseconds(), secret.serverCPU.Microseconds(),
			(keyed.serverCPU - secret.serverCPU).Microseconds(), extra*100, db,
			keyed.perSecond, secret.perSecond, keyed.p50.Round(time.Microsecond), secret.p50.Round(time.Microsecond))
	}
	for _, loop := range []string{"closed", "open"} {
		s, ok := sums[groupKey{store, base, "fapi2_flow", loop}]["aries"]
		if !ok {
			continue
		}
		db := ""
		if store != "sqlite" {
			db = fmt.Sprintf("; PostgreSQL CPU %dµs per flow", s.dbCPU.Microseconds())
		}
		fmt.Fprintf(w, "  fapi2_flow (%s loop): %.0f flows/s, p50 %v p99 %v per flow; server CPU %dµs per flow = %dµs per HTTP request (%d per flow: PAR, authorize, token)%s\n",
			loop, s.perSecond, s.p50.Round(time.Microsecond), s.p99.Round(time.Microsecond),
			s.serverCPU.Microseconds(), (s.serverCPU / flowRequests).Microseconds(), flowRequests, db)
	}
}
