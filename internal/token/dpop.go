package token

import (
	"context"
	"errors"
	"net/http"

	"github.com/ariesexchange/aries/internal/oauth"
	"github.com/ariesexchange/aries/internal/ratelimit"
	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/sdk/dpop"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// checkProof is the DPoP phase of a token request (RFC 9449 section 5),
// after client authentication and before any grant: it returns the
// request's proof, checked by package dpop for POST at TokenURL, or nil
// when the request has none. A proof that fails is 400 invalid_dpop_proof,
// or use_dpop_nonce with the nonce in the DPoP-Nonce header (section 8);
// in both cases no code or refresh token has been touched. A client
// registered with dpop_bound_access_tokens must send one (section 5.2), and
// so must a FAPI 2.0 client, whose proofs DPoPFAPI2 checks (docs/fapi.md).
func (h *Handler) checkProof(ctx context.Context, w http.ResponseWriter, r *http.Request, client store.Client) (*dpop.Proof, error) {
	proofs := r.Header.Values(dpop.Header)
	v := h.DPoP
	if client.FAPI2() {
		v = h.DPoPFAPI2
	}
	if v == nil {
		if client.FAPI2() {
			// A FAPI 2.0 client's tokens are always sender-constrained
			// (docs/fapi.md): without a verifier none can be issued.
			return nil, oauth.Errorf(protocol.ErrInvalidDPoPProof, "this client's tokens are DPoP-bound, and this server checks no DPoP proofs")
		}
		return nil, nil
	}
	if nonce := v.Nonce(); nonce != "" {
		// On every answer, so a client always holds a current nonce
		// (section 8.2).
		w.Header().Set(dpop.NonceHeader, nonce)
	}
	if len(proofs) == 0 {
		if client.DPoPBoundAccessTokens || client.FAPI2() {
			return nil, oauth.Errorf(protocol.ErrInvalidDPoPProof, "this client's tokens are DPoP-bound: send a DPoP proof")
		}
		return nil, nil
	}
	p, err := v.Verify(ctx, dpop.Request{Proofs: proofs, Method: r.Method, URL: h.TokenURL})
	if dpop.Replayed(err) {
		// Someone holds a copy of this client's request.
		h.Logger.WarnContext(ctx, "DPoP proof replayed at the token endpoint; refused",
			"client_id", client.ID, "source", ratelimit.RemoteIP(r))
	}
	if bad, ok := errors.AsType[*dpop.Error](err); ok {
		return nil, oauth.Errorf(bad.Code, "%s", bad.Description)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// confirmation is the "cnf" of the access tokens the request gets: the
// proof's key (RFC 9449 section 6.1), or none for a bearer token.
func (r request) confirmation() protocol.Confirmation {
	if r.proof == nil {
		return protocol.Confirmation{}
	}
	return protocol.Confirmation{JKT: r.proof.JKT}
}

// refreshKey is the key the refresh token the request gets is bound to: a
// public client's is bound to its proof's key (RFC 9449 section 5); a
// confidential client's is already bound to the client by its
// authentication, so it is not, and the client may change keys.
func (r request) refreshKey() string {
	if r.proof == nil || r.client.Type != store.Public {
		return ""
	}
	return r.proof.JKT
}
