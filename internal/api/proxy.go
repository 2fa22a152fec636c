package api

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ariesexchange/aries/sdk/bearer"
)

// Headers that carry the verified caller to an upstream service. The
// caller's own values of these headers are always removed first, so an
// upstream can trust them as far as it trusts Aries.
const (
	HeaderUser   = "X-Aries-User"   // the user id; absent for a client acting as itself
	HeaderClient = "X-Aries-Client" // the client id
	HeaderScopes = "X-Aries-Scopes" // the token's scopes, space-separated
)

// reservedHeaderPrefix marks every header Aries reserves for the caller's
// identity, in the folded form of reservedHeader.
const reservedHeaderPrefix = "x-aries-"

// reservedHeader reports whether an incoming header could be read as one of
// Aries' caller headers. CGI (RFC 3875 section 4.1.18) and WSGI (PEP 3333)
// hand a header to the application as HTTP_ and its name upper-cased with
// "-" as "_", so X_Aries_User and X-Aries-User both become
// HTTP_X_ARIES_USER, and either may win. Go's server
// canonicalizes only around "-" (X_Aries_User arrives as X_aries_user, a
// key of its own), so the name is folded here (case, and "_" as "-")
// before it is compared.
func reservedHeader(name string) bool {
	if len(name) < len(reservedHeaderPrefix) {
		return false
	}
	folded := strings.ReplaceAll(strings.ToLower(name[:len(reservedHeaderPrefix)]), "_", "-")
	return folded == reservedHeaderPrefix
}

// CheckUpstreams checks Config.Upstreams, a base URL by path prefix: each
// prefix covers at least one upstream route of the table ("/v1/marketdata",
// or "/v1" for all of them), each URL is an absolute http or https base URL.
// The request path is appended to the URL's path unchanged.
func CheckUpstreams(upstreams map[string]string) error {
	_, err := upstreamTargets(upstreams)
	return err
}

// upstreamTargets validates the configured upstreams and parses their URLs.
func upstreamTargets(cfg map[string]string) (map[string]*url.URL, error) {
	targets := make(map[string]*url.URL, len(cfg))
	for prefix, base := range cfg {
		clean := strings.TrimSuffix(prefix, "/")
		if !strings.HasPrefix(clean, "/") {
			return nil, fmt.Errorf("upstream %q: the prefix must be a path starting with /", prefix)
		}
		if !slices.ContainsFunc(Routes, func(r Route) bool { return r.Upstream != "" && underPrefix(r.Upstream, clean) }) {
			return nil, fmt.Errorf("upstream %q: no upstream route of the API is under this prefix", prefix)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("upstream %s=%q: want an http or https base URL without credentials, query or fragment", prefix, base)
		}
		targets[clean] = u
	}
	return targets, nil
}

// underPrefix reports whether path is prefix or lies under it, segment by
// segment: /v1/marketdata is under /v1 but not under /v1/market.
func underPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// upstreamFor returns the target of the longest configured prefix that
// covers the route's upstream prefix, or nil.
func upstreamFor(targets map[string]*url.URL, routePrefix string) *url.URL {
	var best string
	var target *url.URL
	for prefix, u := range targets {
		if underPrefix(routePrefix, prefix) && len(prefix) > len(best) {
			best, target = prefix, u
		}
	}
	return target
}

// newProxy forwards verified requests to target, WebSocket upgrades
// included (httputil.ReverseProxy switches protocols when the upstream
// answers 101).
//
// The bearer token is not forwarded: an upstream that received users'
// tokens could replay them against every other Aries API. Neither are
// cookies, which belong to Aries' own pages. The caller's identity goes in
// the X-Aries-User, X-Aries-Client and X-Aries-Scopes headers instead.
func newProxy(target *url.URL, routePrefix string, logger *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			h := pr.Out.Header
			h.Del("Authorization")
			h.Del("DPoP") // the proof goes with the token (RFC 9449 section 7)
			h.Del("Cookie")
			for name := range h {
				if reservedHeader(name) {
					delete(h, name)
				}
			}
			if c, ok := bearer.FromContext(pr.In.Context()); ok {
				if user := c.UserID(); user != "" {
					h.Set(HeaderUser, user)
				}
				h.Set(HeaderClient, c.ClientID)
				h.Set(HeaderScopes, strings.Join(c.Scopes, " "))
			}
		},
		Transport: upstreamTransport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.WarnContext(r.Context(), "upstream request failed", "upstream", routePrefix, "path", r.URL.Path, "err", err)
			writeError(w, http.StatusBadGateway, "upstream_error",
				"the upstream service for "+routePrefix+" did not answer; try again")
		},
	}
}

// upstreamTransport bounds connecting and waiting for response headers; a
// streaming body or an upgraded WebSocket may then last as long as it
// needs. Upstreams are internal services: no environment proxy applies.
var upstreamTransport = &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:          100,
	MaxIdleConnsPerHost:   32,
	IdleConnTimeout:       90 * time.Second,
	TLSHandshakeTimeout:   5 * time.Second,
	ResponseHeaderTimeout: 30 * time.Second,
	ExpectContinueTimeout: time.Second,
}

// unavailable answers a route whose upstream is not configured: 503 with a
// JSON error, never made-up data.
func unavailable(routePrefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "upstream_unavailable",
			"no upstream service is configured for "+routePrefix+" (aries serve --upstream "+routePrefix+"=URL)")
	})
}
