package dpop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 of ES384, ES512, RS384...
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// Header names of RFC 9449: the proof a request carries (section 4.1), and
// the nonce a server hands out (section 8.1).
const (
	Header      = "DPoP"
	NonceHeader = "DPoP-Nonce"
)

// DefaultWindow is how far a proof's "iat" may lie from the server's clock,
// either way, when Config.Window is zero.
const DefaultWindow = 60 * time.Second

// DefaultAlgorithms are the proof algorithms a Verifier accepts unless
// Config.Algorithms says otherwise, and those the Aries server advertises
// as dpop_signing_alg_values_supported. Ed25519 is EdDSA over Ed25519
// under its fully-specified name (RFC 9864 section 2.2), which current
// clients (oauth4webapi) sign with.
var DefaultAlgorithms = []string{"ES256", "EdDSA", "Ed25519", "PS256", "RS256"}

// algEd25519 is the RFC 9864 name of EdDSA with Ed25519.
const algEd25519 = jose.SignatureAlgorithm("Ed25519")

// asymmetric lists the algorithms Config.Algorithms may name: RFC 9449
// section 4.3 check 5 allows registered asymmetric signature algorithms
// only; an HMAC would let the public "jwk" act as a shared secret.
var asymmetric = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA, algEd25519,
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
}

// Bounds on what a proof may hold, checked before any work that grows with
// it. A proof with a 4096-bit RSA key is about 1.2 KiB.
const (
	maxProofSize = 8 << 10
	maxJTISize   = 256
)

// Config configures a Verifier; the zero value is usable.
type Config struct {
	// Algorithms are the accepted JWS "alg" values; empty means
	// DefaultAlgorithms. Only asymmetric algorithms may be named.
	Algorithms []string
	// Window is how far a proof's "iat" may be from now, earlier or later
	// (RFC 9449 section 11.1); zero means DefaultWindow. A jti is
	// remembered until its proof's iat plus Window, exactly as long as the
	// proof could be accepted.
	Window time.Duration
	// MaxFuture, when set, is how far ahead of now a proof's "iat" may
	// be, tighter than Window on that side only: Aries accepts proofs of
	// FAPI 2.0 clients from at most 10 s in the future and 60 s in the
	// past (docs/fapi.md). Zero means Window.
	MaxFuture time.Duration
	// Replay remembers the jti of every accepted proof; nil means a
	// MemoryReplayCache, which serves this process only. Instances of one
	// service must share one cache, or a proof replayed to another instance
	// is accepted there.
	Replay ReplayCache
	// Nonces, when set, makes every proof carry a nonce from it (RFC 9449
	// sections 8 and 9): a proof without a current one fails with
	// use_dpop_nonce, and the caller sends Nonces.Nonce() in the DPoP-Nonce
	// header.
	Nonces Nonces
	// Now defaults to time.Now.
	Now func() time.Time
}

// Verifier checks DPoP proofs. It is safe for concurrent use.
type Verifier struct {
	algs   []jose.SignatureAlgorithm
	names  []string
	window time.Duration
	future time.Duration // how far ahead iat may be, at most window
	replay ReplayCache
	nonces Nonces
	now    func() time.Time
}

// NewVerifier checks cfg and returns a Verifier.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{window: cfg.Window, future: cfg.MaxFuture, replay: cfg.Replay, nonces: cfg.Nonces, now: cfg.Now}
	names := cfg.Algorithms
	if len(names) == 0 {
		names = DefaultAlgorithms
	}
	for _, a := range names {
		alg := jose.SignatureAlgorithm(a)
		if !slices.Contains(asymmetric, alg) {
			return nil, fmt.Errorf("dpop: algorithm %q is not an accepted asymmetric signature algorithm", a)
		}
		v.algs = append(v.algs, alg)
	}
	v.names = slices.Clone(names)
	if v.window < 0 {
		return nil, errors.New("dpop: negative Window")
	}
	if v.window == 0 {
		v.window = DefaultWindow
	}
	if v.future < 0 {
		return nil, errors.New("dpop: negative MaxFuture")
	}
	if v.future == 0 || v.future > v.window {
		v.future = v.window
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.replay == nil {
		m := NewMemoryReplayCache(0)
		m.Now = v.now
		v.replay = m
	}
	return v, nil
}

// Algorithms returns the accepted algorithms, for the "algs" of a
// WWW-Authenticate challenge (RFC 9449 section 7.1) and server metadata.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.names) }

// Nonce returns the nonce to send in the DPoP-Nonce header, or "" when the
// verifier asks for none.
func (v *Verifier) Nonce() string {
	if v.nonces == nil {
		return ""
	}
	return v.nonces.Nonce()
}

// Request is the HTTP request a proof is checked against.
type Request struct {
	// Proofs are the values of the request's DPoP header fields,
	// r.Header.Values("DPoP"); exactly one is accepted.
	Proofs []string
	// Method is the request's method; URL its absolute URL as the client
	// addressed it (the public one behind a proxy). Its query and
	// fragment are ignored.
	Method string
	URL    string
	// AccessToken, on a protected resource, is the token the request
	// carries: the proof's "ath" must be its hash. Empty at a token
	// endpoint, where "ath" is not looked at.
	AccessToken string
	// BoundKey, when set, is the thumbprint the proof's key must have: the
	// "cnf" "jkt" of the access token, or the dpop_jkt an authorization
	// code was bound to.
	BoundKey string
}

// Proof is a proof that passed every check.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint, base64url-encoded, of the
	// proof's public key: what a token bound to it carries in "cnf".
	JKT       string
	JTI       string
	IssuedAt  time.Time
	Algorithm string
	// Nonce is the server nonce the proof carried, "" if none.
	Nonce string
	// Key is the public key of the proof's "jwk".
	Key crypto.PublicKey
}

// Error is a proof that failed a check: Code is the error code to answer
// with (protocol.ErrInvalidDPoPProof, protocol.ErrUseDPoPNonce or, when
// the proof is fine but the token is bound to another key,
// protocol.ErrInvalidToken), Description fixed text safe to send to the
// client, which never quotes the proof.
type Error struct {
	Code        string
	Description string

	replayed bool // the proof was already used (Replayed)
}

// Replayed reports whether err refused a proof that was already used (RFC
// 9449 section 11.1): someone holds a copy of a request, a security event
// worth logging.
func Replayed(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.replayed
}

func (e *Error) Error() string { return "dpop: " + e.Code + ": " + e.Description }

func invalid(description string) *Error {
	return &Error{Code: protocol.ErrInvalidDPoPProof, Description: description}
}

// header is the JOSE header of a proof (RFC 7515 section 4). Members a
// proof must not have are kept raw, to tell present from absent.
type header struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  json.RawMessage `json:"jwk"`
	Kid  json.RawMessage `json:"kid"`
	Jku  json.RawMessage `json:"jku"`
	X5u  json.RawMessage `json:"x5u"`
	X5c  json.RawMessage `json:"x5c"`
	Crit json.RawMessage `json:"crit"`
}

// privateJWK holds the JWK members that carry private key material (RFC
// 7518 sections 6.2.2, 6.3.2 and 6.4.1, RFC 8037 section 2): any of them
// present makes the jwk a private key.
type privateJWK struct {
	D   json.RawMessage `json:"d"`
	P   json.RawMessage `json:"p"`
	Q   json.RawMessage `json:"q"`
	DP  json.RawMessage `json:"dp"`
	DQ  json.RawMessage `json:"dq"`
	QI  json.RawMessage `json:"qi"`
	Oth json.RawMessage `json:"oth"`
	K   json.RawMessage `json:"k"`
}

func (k privateJWK) present() bool {
	return k.D != nil || k.P != nil || k.Q != nil || k.DP != nil || k.DQ != nil || k.QI != nil || k.Oth != nil || k.K != nil
}

// claims are the claims of a proof (RFC 9449 section 4.2). Pointers tell a
// missing claim from an empty one.
type claims struct {
	JTI   *string  `json:"jti"`
	HTM   *string  `json:"htm"`
	HTU   *string  `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   *string  `json:"ath"`
	Nonce *string  `json:"nonce"`
}

// parsed is a proof whose signature verified (checks 2 to 7).
type parsed struct {
	alg    string
	key    jose.JSONWebKey
	claims claims
}

// parse applies checks 2 to 7 of RFC 9449 section 4.3 to one header value.
// The JWS is taken apart here, in one pass with encoding/json, and its
// signature checked with the standard library: go-jose parses the jwk
// (validating the key) and computes thumbprints, but its own parse of a
// JWS decodes the header twice and encodes it again, a fifth of the cost
// of a proof beside the signature itself (BenchmarkVerify).
func parse(raw string, algs []jose.SignatureAlgorithm) (*parsed, *Error) {
	if len(raw) > maxProofSize {
		return nil, invalid("the DPoP proof is too large")
	}
	first, rest, ok := strings.Cut(raw, ".")
	second, third, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(third, ".") {
		return nil, invalid("the DPoP proof is not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(first)
	if err != nil {
		return nil, invalid("the DPoP proof's header is not base64url")
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil || !bytes.HasPrefix(bytes.TrimSpace(hb), []byte("{")) {
		return nil, invalid("the DPoP proof's header is not a JSON object")
	}
	switch {
	case !isProofType(h.Typ):
		return nil, invalid(`the DPoP proof's typ must be "dpop+jwt"`)
	case !slices.Contains(algs, jose.SignatureAlgorithm(h.Alg)):
		return nil, invalid("the DPoP proof's alg is not an accepted asymmetric algorithm")
	case h.JWK == nil:
		return nil, invalid("the DPoP proof's header has no jwk")
	case h.Kid != nil || h.Jku != nil || h.X5u != nil || h.X5c != nil:
		return nil, invalid("the DPoP proof must name its key by jwk only, not kid, jku, x5u or x5c")
	case h.Crit != nil:
		return nil, invalid("the DPoP proof's header must not have crit")
	}
	var private privateJWK
	if err := json.Unmarshal(h.JWK, &private); err != nil || !bytes.HasPrefix(bytes.TrimSpace(h.JWK), []byte("{")) {
		return nil, invalid("the DPoP proof's jwk is not a JSON object")
	}
	if private.present() {
		return nil, invalid("the DPoP proof's jwk holds a private key")
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(h.JWK); err != nil || !key.IsPublic() || !key.Valid() {
		return nil, invalid("the DPoP proof's jwk is not a valid public key")
	}
	sig, err := base64.RawURLEncoding.DecodeString(third)
	if err != nil || verifySignature(h.Alg, key.Key, raw[:len(first)+1+len(second)], sig) != nil {
		return nil, invalid("the DPoP proof's signature does not verify with its jwk")
	}
	payload, err := base64.RawURLEncoding.DecodeString(second)
	if err != nil {
		return nil, invalid("the DPoP proof's claims are not base64url")
	}
	p := &parsed{alg: h.Alg, key: key}
	if err := json.Unmarshal(payload, &p.claims); err != nil {
		return nil, invalid("the DPoP proof's claims are malformed")
	}
	c := p.claims
	switch {
	case c.JTI == nil || *c.JTI == "" || c.HTM == nil || c.HTU == nil || c.IAT == nil:
		return nil, invalid("the DPoP proof lacks jti, htm, htu or iat")
	case len(*c.JTI) > maxJTISize:
		return nil, invalid("the DPoP proof's jti is too long")
	case math.IsNaN(*c.IAT) || math.Abs(*c.IAT) > 1<<40:
		return nil, invalid("the DPoP proof's iat is not a time")
	}
	return p, nil
}

// errBadSignature is every reason verifySignature refuses: the caller
// says only that the signature does not verify.
var errBadSignature = errors.New("dpop: bad signature")

// signatureKinds are the signature algorithms of RFC 7518 section 3.1 and
// RFC 9864 section 2.2 that verifySignature knows, with their hash and,
// for ECDSA, their curve and the size of R and S (RFC 7518 section 3.4).
var signatureKinds = map[string]struct {
	hash  crypto.Hash
	curve elliptic.Curve
	size  int
}{
	"ES256": {crypto.SHA256, elliptic.P256(), 32}, "ES384": {crypto.SHA384, elliptic.P384(), 48}, "ES512": {crypto.SHA512, elliptic.P521(), 66},
	"RS256": {hash: crypto.SHA256}, "RS384": {hash: crypto.SHA384}, "RS512": {hash: crypto.SHA512},
	"PS256": {hash: crypto.SHA256}, "PS384": {hash: crypto.SHA384}, "PS512": {hash: crypto.SHA512},
	"EdDSA": {}, "Ed25519": {},
}

// verifySignature checks a JWS signature over input (RFC 7515 section
// 5.2) under alg with key, which must be of alg's kind: ECDSA on alg's
// curve (RFC 7518 section 3.4), EdDSA with Ed25519 (RFC 8037 section 3.1;
// Ed25519 is its RFC 9864 name), RSASSA-PKCS1-v1_5, or RSASSA-PSS with a
// salt the size of the hash (RFC 7518 sections 3.3 and 3.5).
func verifySignature(alg string, key any, input string, sig []byte) error {
	kind, known := signatureKinds[alg]
	if !known {
		return errBadSignature
	}
	var digest []byte
	if kind.hash != 0 {
		h := kind.hash.New()
		h.Write([]byte(input))
		digest = h.Sum(nil)
	}
	ok := false
	switch pub := key.(type) {
	case *ecdsa.PublicKey:
		if kind.curve != nil && pub.Curve == kind.curve && len(sig) == 2*kind.size {
			r, s := new(big.Int).SetBytes(sig[:kind.size]), new(big.Int).SetBytes(sig[kind.size:])
			ok = ecdsa.Verify(pub, digest, r, s)
		}
	case ed25519.PublicKey:
		ok = (alg == "EdDSA" || alg == "Ed25519") && ed25519.Verify(pub, []byte(input), sig)
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			ok = rsa.VerifyPKCS1v15(pub, kind.hash, digest, sig) == nil
		case "PS":
			ok = rsa.VerifyPSS(pub, kind.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	}
	if !ok {
		return errBadSignature
	}
	return nil
}

// isProofType reports whether typ names the media type
// application/dpop+jwt, which the header may shorten to dpop+jwt (RFC 7515
// section 4.1.9); media types compare case-insensitively.
func isProofType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "dpop+jwt" || typ == "application/dpop+jwt"
}

// Verify checks the proof of req as RFC 9449 section 4.3 asks (the package
// documentation lists the checks) and records its jti. A proof that fails
// is an *Error; any other error means the replay cache could not be asked,
// and the caller should answer 503: the proof may be fine.
func (v *Verifier) Verify(ctx context.Context, req Request) (*Proof, error) {
	switch len(req.Proofs) {
	case 0:
		return nil, invalid("the request has no DPoP header")
	case 1:
	default:
		return nil, invalid("the request has more than one DPoP header")
	}
	p, perr := parse(req.Proofs[0], v.algs)
	if perr != nil {
		return nil, perr
	}
	c := p.claims
	if *c.HTM != req.Method {
		return nil, invalid("the DPoP proof's htm is not the request's method")
	}
	want, err := NormalizeURL(req.URL)
	if err != nil {
		return nil, fmt.Errorf("dpop: the request's URL: %w", err)
	}
	if got, err := NormalizeURL(*c.HTU); err != nil || got != want {
		return nil, invalid("the DPoP proof's htu is not the request's URL")
	}
	nonce := ""
	if v.nonces != nil {
		if c.Nonce == nil || !v.nonces.Valid(*c.Nonce) {
			return nil, &Error{Code: protocol.ErrUseDPoPNonce, Description: "the DPoP proof must carry the nonce of the DPoP-Nonce header"}
		}
		nonce = *c.Nonce
	}
	now := v.now()
	iat := time.Unix(int64(*c.IAT), 0)
	if d := now.Sub(iat); d > v.window || d < -v.future {
		return nil, invalid("the DPoP proof's iat is too far from the server's time")
	}
	if req.AccessToken != "" && (c.ATH == nil || *c.ATH != TokenHash(req.AccessToken)) {
		return nil, invalid("the DPoP proof's ath is not the hash of the access token")
	}
	jkt, err := Thumbprint(p.key)
	if err != nil {
		return nil, invalid("the DPoP proof's jwk has no thumbprint")
	}
	if req.BoundKey != "" && req.BoundKey != jkt {
		return nil, &Error{Code: protocol.ErrInvalidToken, Description: "the token is bound to another DPoP key"}
	}
	fresh, err := v.replay.Use(ctx, replayKey(jkt, *c.JTI), iat.Add(v.window))
	if err != nil {
		return nil, fmt.Errorf("dpop: replay cache: %w", err)
	}
	if !fresh {
		e := invalid("the DPoP proof was already used")
		e.replayed = true
		return nil, e
	}
	return &Proof{JKT: jkt, JTI: *c.JTI, IssuedAt: iat, Algorithm: p.alg, Nonce: nonce, Key: p.key.Key}, nil
}

// replayKey names a proof in the replay cache: its jti under its key, so
// that no client can spend another's jti, hashed so that every key has
// one length and no jti reaches a shared cache as sent.
func replayKey(jkt, jti string) string {
	sum := sha256.Sum256([]byte(jkt + "\x00" + jti))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TokenHash is the "ath" of a proof sent with accessToken: the base64url
// SHA-256 of its ASCII octets (RFC 9449 section 4.2).
func TokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a public key,
// base64url-encoded: the "jkt" of RFC 9449 section 6.1.
func Thumbprint(k jose.JSONWebKey) (string, error) {
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// ValidThumbprint reports whether s has the form of a SHA-256 JWK
// thumbprint: 43 base64url characters (a dpop_jkt, RFC 9449 section 10).
func ValidThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == sha256.Size
}
