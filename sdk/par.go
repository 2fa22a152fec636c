package aries

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/ariesexchange/aries/sdk/protocol"
)

// PushedRequest is an authorization request Aries holds for the client
// (RFC 9126 section 2.2): RequestURI stands for it at the authorization
// endpoint, once, until ExpiresIn has passed.
type PushedRequest struct {
	RequestURI string
	ExpiresIn  time.Duration
}

// PushAuthorizationRequest sends the parameters of an authorization
// request (those AuthorizationURL would put in the URL) to Aries' pushed
// authorization request endpoint (RFC 9126), authenticated as the token
// requests are. Aries checks them all now: a bad redirect URL, scope or
// PKCE challenge fails here with a 400 *Error rather than after the user
// is sent away. With Config.DPoP the push carries a proof, and the code is
// bound to the client's key (RFC 9449 section 10.1).
func (c *Client) PushAuthorizationRequest(ctx context.Context, state string, opts ...AuthOption) (*PushedRequest, error) {
	form := c.authorizationParams(state, opts)
	if c.cfg.ClientSecret != "" {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	var out protocol.PARResponse
	if err := c.do(ctx, request{method: http.MethodPost, path: protocol.PARPath, form: form, anonymous: true}, &out); err != nil {
		return nil, err
	}
	if out.RequestURI == "" {
		return nil, errors.New("aries: the pushed authorization request answer has no request_uri")
	}
	return &PushedRequest{RequestURI: out.RequestURI, ExpiresIn: time.Duration(out.ExpiresIn) * time.Second}, nil
}

// AuthorizationURLContext returns the URL to send the user to, as
// AuthorizationURL does; with Config.PushAuthorizationRequests it first
// pushes the request (PushAuthorizationRequest) and returns the short URL
// that names it: client_id and request_uri (RFC 9126 section 4). Send the
// user there at once: the request_uri works once and expires within a
// minute.
func (c *Client) AuthorizationURLContext(ctx context.Context, state string, opts ...AuthOption) (string, error) {
	if !c.cfg.PushAuthorizationRequests {
		return c.AuthorizationURL(state, opts...), nil
	}
	pushed, err := c.PushAuthorizationRequest(ctx, state, opts...)
	if err != nil {
		return "", err
	}
	q := url.Values{"client_id": {c.cfg.ClientID}, "request_uri": {pushed.RequestURI}}
	return c.oauth.Endpoint.AuthURL + "?" + q.Encode(), nil
}
