package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
)

// Signer makes the proofs of one key (RFC 9449 section 4.2): the client
// side of DPoP. It is safe for concurrent use.
type Signer struct {
	// Now is the clock of the proofs' "iat", time.Now unless set before
	// first use.
	Now func() time.Time

	alg    string
	jkt    string
	public jose.JSONWebKey
	signer jose.Signer
}

// GenerateKey makes a new P-256 key, for ES256 proofs: the algorithm every
// DPoP server is most likely to accept.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// NewSigner returns the Signer of key under alg. An empty alg is chosen
// from the key: ES256 for a P-256 key, EdDSA for Ed25519 and PS256 for RSA
// (which may also sign RS256). A key that is not an *ecdsa.PrivateKey,
// ed25519.PrivateKey or *rsa.PrivateKey (one in a hardware module, say)
// needs alg.
func NewSigner(key crypto.Signer, alg string) (*Signer, error) {
	if key == nil {
		return nil, errors.New("dpop: nil key")
	}
	if k, ok := key.(ed25519.PrivateKey); ok && len(k) != ed25519.PrivateKeySize {
		return nil, errors.New("dpop: an Ed25519 private key must be 64 bytes")
	}
	if alg == "" {
		switch k := key.(type) {
		case *ecdsa.PrivateKey:
			if k.Curve != elliptic.P256() {
				return nil, errors.New("dpop: an ECDSA key must be on P-256 (ES256)")
			}
			alg = "ES256"
		case ed25519.PrivateKey:
			alg = "EdDSA"
		case *rsa.PrivateKey:
			alg = "PS256"
		default:
			return nil, fmt.Errorf("dpop: name the algorithm of a %T key", key)
		}
	}
	var signingKey any = key
	switch key.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		signingKey = cryptosigner.Opaque(key)
	}
	public := jose.JSONWebKey{Key: key.Public()}
	if !public.Valid() || !public.IsPublic() {
		return nil, fmt.Errorf("dpop: unusable public key %T", key.Public())
	}
	jkt, err := Thumbprint(public)
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: signingKey},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("dpop: %w", err)
	}
	return &Signer{Now: time.Now, alg: alg, jkt: jkt, public: public, signer: s}, nil
}

// Algorithm returns the proofs' "alg".
func (s *Signer) Algorithm() string { return s.alg }

// JKT returns the key's RFC 7638 thumbprint: the dpop_jkt of an
// authorization request (RFC 9449 section 10) and the "jkt" of the tokens
// bound to the key.
func (s *Signer) JKT() string { return s.jkt }

// proofClaims are the claims of RFC 9449 section 4.2.
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a new proof for a request of method to rawURL (its query
// and fragment are left out of "htu"), carrying the hash of accessToken
// when the request presents one and the server's nonce when it gave one.
// Each proof has a new random jti: a proof is sent once.
func (s *Signer) Proof(method, rawURL, accessToken, nonce string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	c := proofClaims{JTI: rand.Text(), HTM: method, HTU: u.String(), IAT: s.Now().Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = TokenHash(accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("dpop: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: signing a proof: %w", err)
	}
	return jws.CompactSerialize()
}
