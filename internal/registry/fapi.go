package registry

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/internal/store"
)

// MaxJWKSBytes bounds a client's inline JWK Set: a few public keys fit in
// a few kilobytes, and the set is parsed on every assertion check.
const MaxJWKSBytes = 16 << 10

// MaxRefreshGraceSeconds is the longest refresh-token grace window
// (docs/fapi.md#refresh-token-policy): long enough for two threads of one
// app racing, short enough that a stolen parent token is worth nothing.
const MaxRefreshGraceSeconds = 60

// ClientKeys parses a client's inline JWK Set (RFC 7517 section 5): only
// public signing keys an assertion may be checked with (P-256, Ed25519, or
// RSA of at least 2048 bits, for ES256, EdDSA and PS256), each usable for
// signatures. Private key material is refused: a client registers only
// what it can publish.
func ClientKeys(raw string) ([]jose.JSONWebKey, error) {
	if len(raw) > MaxJWKSBytes {
		return nil, fmt.Errorf("the JWKS may be at most %d bytes", MaxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(raw), &set); err != nil {
		return nil, fmt.Errorf("the JWKS is not a JWK Set (RFC 7517 section 5): %v", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New(`the JWKS holds no key: it must be {"keys":[...]} with at least one public key`)
	}
	for i, k := range set.Keys {
		if !k.IsPublic() {
			return nil, fmt.Errorf("key %d of the JWKS holds private key material: register only the public key", i+1)
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf(`key %d of the JWKS has use %q: client assertion keys must be "sig"`, i+1, k.Use)
		}
		switch pub := k.Key.(type) {
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("key %d of the JWKS: only the P-256 curve (ES256) is accepted", i+1)
			}
		case ed25519.PublicKey:
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key %d of the JWKS: an RSA key must have at least 2048 bits", i+1)
			}
		default:
			return nil, fmt.Errorf("key %d of the JWKS is not an EC P-256, Ed25519 or RSA public key", i+1)
		}
	}
	return set.Keys, nil
}

// validateFinancialGrade checks the financial-grade settings of s for a
// client that is public or not (docs/fapi.md). It does not default
// anything: withProfileDefaults does that first.
func (s Spec) validateFinancialGrade(public bool) []error {
	var errs []error
	switch s.AuthMethod {
	case "", store.AuthSecretBasic, store.AuthSecretPost, store.AuthPrivateKeyJWT:
		if public && s.AuthMethod != "" {
			errs = append(errs, fmt.Errorf("a public client authenticates with token_endpoint_auth_method none, not %s", s.AuthMethod))
		}
	case store.AuthNone:
		if !public {
			errs = append(errs, errors.New("token_endpoint_auth_method none is for public clients; a confidential client authenticates with client_secret_basic, client_secret_post or private_key_jwt"))
		}
	default:
		errs = append(errs, fmt.Errorf("token_endpoint_auth_method must be client_secret_basic, client_secret_post, private_key_jwt or none, not %q", s.AuthMethod))
	}
	if s.JWKS != "" {
		if _, err := ClientKeys(s.JWKS); err != nil {
			errs = append(errs, err)
		}
	} else if s.AuthMethod == store.AuthPrivateKeyJWT {
		errs = append(errs, errors.New("private_key_jwt needs the client's public keys: register a JWKS"))
	}
	switch s.Profile {
	case "":
	case store.ProfileFAPI2:
		if public {
			errs = append(errs, errors.New("the fapi2 profile is for confidential clients (FAPI 2.0 Security Profile section 5.3.2.1)"))
		}
		if s.AuthMethod != store.AuthPrivateKeyJWT {
			errs = append(errs, errors.New("the fapi2 profile authenticates clients with private_key_jwt"))
		}
	default:
		errs = append(errs, fmt.Errorf("profile must be fapi2 or empty, not %q", s.Profile))
	}
	switch s.RefreshRotation {
	case "", store.RotationRotate:
		if s.Profile == store.ProfileFAPI2 && s.RefreshRotation == store.RotationRotate && s.RefreshGrace == 0 {
			errs = append(errs, errors.New("the fapi2 profile rotates refresh tokens only with a grace window (refresh_token_grace_seconds 1-60); or use refresh_token_rotation none"))
		}
	case store.RotationNone:
		// A refresh token that is never rotated is only as safe as the
		// client's secret and key: RFC 9700 section 4.14.2 allows it for
		// confidential clients whose tokens are sender-constrained.
		if public || !s.DPoPBound {
			errs = append(errs, errors.New("refresh_token_rotation none is only for confidential clients with DPoP-bound access tokens (RFC 9700 section 4.14.2)"))
		}
		if s.RefreshGrace != 0 {
			errs = append(errs, errors.New("refresh_token_grace_seconds applies to rotated refresh tokens; with rotation none set it to 0"))
		}
	default:
		errs = append(errs, fmt.Errorf("refresh_token_rotation must be rotate or none, not %q", s.RefreshRotation))
	}
	if s.RefreshGrace < 0 || s.RefreshGrace > MaxRefreshGraceSeconds {
		errs = append(errs, fmt.Errorf("refresh_token_grace_seconds must be 0-%d", MaxRefreshGraceSeconds))
	}
	return errs
}

// withProfileDefaults returns s with its JWKS in compact form and what its
// profile implies: a fapi2
// client authenticates with private_key_jwt unless it named another method
// (then validation refuses it), must push its authorization requests, gets
// DPoP-bound tokens only, and its refresh tokens are not rotated unless it
// asked for rotation (FAPI 2.0 Security Profile sections 5.3.2.1-5.3.2.2).
func (s Spec) withProfileDefaults() Spec {
	// The keys are stored as compact JSON, however they were pasted: what
	// the surfaces show back is the set, not the layout of one paste.
	var b bytes.Buffer
	if s.JWKS = strings.TrimSpace(s.JWKS); json.Compact(&b, []byte(s.JWKS)) == nil {
		s.JWKS = b.String()
	}
	if s.Profile != store.ProfileFAPI2 {
		return s
	}
	if s.AuthMethod == "" {
		s.AuthMethod = store.AuthPrivateKeyJWT
	}
	s.RequirePAR, s.DPoPBound = true, true
	if s.RefreshRotation == "" {
		s.RefreshRotation = store.RotationNone
	}
	return s
}
