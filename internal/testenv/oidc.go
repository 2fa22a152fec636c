package testenv

import (
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// IDToken verifies raw as an ID token signed by a key the Env's keyring
// publishes (the keys a server over the Env's store signs with), and
// returns its algorithm and claims. It checks the signature only: tests
// check the claims they care about.
func (e *Env) IDToken(t testing.TB, raw string) (alg string, c protocol.IDTokenClaims) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("ID token %q: %v", raw, err)
	}
	h := jws.Signatures[0].Header
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != "JWT" {
		t.Errorf("ID token typ %v, want JWT", typ)
	}
	jwk, ok := e.Keyring().PublicJWK(h.KeyID)
	if !ok || jwk.Algorithm != h.Algorithm {
		t.Fatalf("ID token: kid %q alg %s is not a published key of that algorithm", h.KeyID, h.Algorithm)
	}
	payload, err := jws.Verify(jwk.Key)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return h.Algorithm, c
}
