package portal

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/web"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// A shape is one request the token page sends: the three token requests of
// docs/protocol.md#token-endpoint, revocation and introspection.
type shape struct {
	Name, Title, Path string
	Fields            []string // form fields the developer fills in, beyond client authentication
	Confidential      bool     // only confidential clients may send it
}

var shapes = []shape{
	{Name: "authorization_code", Title: "Code exchange", Path: protocol.TokenPath, Fields: []string{"code", "redirect_uri", "code_verifier"}},
	{Name: "refresh_token", Title: "Refresh", Path: protocol.TokenPath, Fields: []string{"refresh_token", "scope"}},
	{Name: "client_credentials", Title: "Client credentials", Path: protocol.TokenPath, Fields: []string{"scope"}, Confidential: true},
	{Name: "revoke", Title: "Revoke", Path: protocol.RevokePath, Fields: []string{"token", "token_type_hint"}},
	{Name: "introspect", Title: "Introspect", Path: protocol.IntrospectPath, Fields: []string{"token", "token_type_hint"}, Confidential: true},
}

func shapeNamed(name string) (shape, bool) {
	i := slices.IndexFunc(shapes, func(s shape) bool { return s.Name == name })
	if i < 0 {
		return shape{}, false
	}
	return shapes[i], true
}

// maxShownBody bounds the answer the page shows; the endpoints' answers are
// far smaller.
const maxShownBody = 64 << 10

// TryPage is the data of the token page.
type TryPage struct {
	Frame
	CSRFToken string
	Email     string
	Apps      []TryApp
	App       *TryApp // the app chosen; nil until one is
	Shapes    []TryShape
	Shape     shape
	Values    url.Values // the fields to show again after a request: never client_secret
	// AuthURL starts a sign-in through the chosen app, with the PKCE
	// challenge of Verifier, for the code exchange.
	AuthURL, Verifier string
	Error             string
	Result            *TryResult
}

// Has reports whether the chosen shape has field name.
func (p TryPage) Has(name string) bool { return slices.Contains(p.Shape.Fields, name) }

// TryApp is one of the developer's apps.
type TryApp struct {
	ID, Name     string
	Public       bool
	Selected     bool
	RedirectURIs []string
	Scopes       string
	// Unsupported says why the page cannot send this app's requests
	// (private_key_jwt needs the app's private key); "" when it can.
	Unsupported string
	secretPost  bool // registered with client_secret_post
}

// TryShape is one tab of the page.
type TryShape struct {
	Name, Title, URL string
	Current, Allowed bool
}

// TryResult is a request the page sent and the answer.
type TryResult struct {
	Curl    string
	Status  string
	Headers []string
	Body    string
}

func (h *Handler) tryPage(w http.ResponseWriter, r *http.Request) {
	u, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if p, ok := h.tryData(w, r, u, r.URL.Query()); ok {
		web.Render(w, http.StatusOK, web.PagePortalTry, p)
	}
}

func (h *Handler) trySend(w http.ResponseWriter, r *http.Request) {
	if !h.csrf.Valid(r) {
		web.RenderForbidden(w)
		return
	}
	u, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	form := r.PostForm
	p, ok := h.tryData(w, r, u, form)
	if !ok {
		return
	}
	switch {
	case p.App == nil:
		p.Error = "Choose one of your apps."
	case p.App.Unsupported != "":
		p.Error = p.App.Unsupported
	case p.Shape.Confidential && p.App.Public:
		p.Error = p.Shape.Title + " needs a confidential app: a public app has no secret to authenticate with."
	}
	if p.Error != "" {
		web.Render(w, http.StatusBadRequest, web.PagePortalTry, p)
		return
	}
	res, err := h.send(r, p, form)
	if err != nil {
		web.ServerError(w, r, h.Logger, "token page request", err)
		return
	}
	p.Result = res
	web.Render(w, http.StatusOK, web.PagePortalTry, p)
}

// signedIn finds the developer; a browser without a session goes through
// the hosted sign-in and comes back to the page.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	u, ok, err := h.Sessions.CurrentUser(r)
	if err != nil {
		web.ServerError(w, r, h.Logger, "session", err)
		return store.User{}, false
	}
	if !ok {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		w.Header().Set("Location", "/login?"+url.Values{"return_to": {"/docs/try"}}.Encode())
		w.WriteHeader(status)
		return store.User{}, false
	}
	return u, true
}

// tryData builds the page for the app and shape that q names. Only apps
// the developer owns are listed or chosen: an administrator too tries only
// their own, since the page sends requests in the app's name.
func (h *Handler) tryData(w http.ResponseWriter, r *http.Request, u store.User, q url.Values) (TryPage, bool) {
	clients, err := h.Clients.Clients(r.Context(), u.ID)
	if err != nil {
		web.ServerError(w, r, h.Logger, "list clients", err)
		return TryPage{}, false
	}
	sh, ok := shapeNamed(q.Get("shape"))
	if !ok {
		sh = shapes[0]
	}
	p := TryPage{
		Frame:     Frame{Section: "try", Issuer: h.Issuer},
		CSRFToken: h.csrf.Token(w, r),
		Email:     u.Email,
		Shape:     sh,
		Values:    url.Values{},
	}
	for _, c := range clients {
		if c.OwnerID != u.ID || c.Disabled {
			continue
		}
		app := TryApp{ID: c.ID, Name: c.Name, Public: c.Type == store.Public, RedirectURIs: c.RedirectURIs,
			Scopes: strings.Join(slices.DeleteFunc(slices.Clone(c.Scopes), func(s string) bool { return s == "admin" }), " ")}
		app.secretPost = c.TokenEndpointAuthMethod == store.AuthSecretPost
		if c.TokenEndpointAuthMethod == store.AuthPrivateKeyJWT {
			app.Unsupported = "This app authenticates with private_key_jwt: its requests must be signed with its private key, which this page never holds. Send them from your app (docs/fapi.md)."
		}
		if c.ID == q.Get("client_id") {
			app.Selected = true
		}
		p.Apps = append(p.Apps, app)
	}
	for i := range p.Apps {
		if p.Apps[i].Selected {
			p.App = &p.Apps[i]
		}
	}
	for _, s := range shapes {
		v := url.Values{"shape": {s.Name}}
		if p.App != nil {
			v.Set("client_id", p.App.ID)
		}
		p.Shapes = append(p.Shapes, TryShape{Name: s.Name, Title: s.Title, URL: "/docs/try?" + v.Encode(),
			Current: s.Name == sh.Name, Allowed: p.App == nil || !s.Confidential || !p.App.Public})
	}
	for _, f := range sh.Fields {
		if v := q.Get(f); v != "" && len(v) <= maxField {
			p.Values.Set(f, v)
		}
	}
	if p.App != nil && sh.Name == "authorization_code" && len(p.App.RedirectURIs) > 0 {
		redirect := p.App.RedirectURIs[0]
		if slices.Contains(p.App.RedirectURIs, q.Get("redirect_uri")) {
			redirect = q.Get("redirect_uri")
		}
		p.Verifier = q.Get("code_verifier")
		if p.Verifier == "" {
			p.Verifier = newVerifier()
			p.Values.Set("code_verifier", p.Verifier)
		}
		sum := sha256.Sum256([]byte(p.Verifier))
		p.AuthURL = h.Issuer + "/oauth2/authorize?" + url.Values{
			"response_type": {"code"}, "client_id": {p.App.ID}, "redirect_uri": {redirect},
			"scope": {p.App.Scopes}, "state": {rand.Text()[:16]},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		}.Encode()
	}
	return p, true
}

// maxField bounds each field the page repeats or sends; codes and tokens
// are far shorter (oauth.ValidIdentifier takes 512 bytes).
const maxField = 4096

func newVerifier() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// send performs the request at the endpoint itself, through the server's
// handler, as the developer's browser would: from the developer's address
// (so the authentication rate limit counts it like any other), with their
// secret used for this request only.
func (h *Handler) send(r *http.Request, p TryPage, form url.Values) (*TryResult, error) {
	secret := form.Get("client_secret")
	if len(secret) > maxField {
		secret = ""
	}
	body := url.Values{}
	switch p.Shape.Name {
	case "authorization_code", "refresh_token", "client_credentials":
		body.Set("grant_type", p.Shape.Name)
	}
	for _, f := range p.Shape.Fields {
		if v := form.Get(f); v != "" && len(v) <= maxField {
			body.Set(f, v)
		}
	}
	// Client authentication as the app is registered: HTTP Basic unless it
	// chose client_secret_post; a public app sends its client_id alone.
	basic := !p.App.Public && secret != "" && !p.App.secretPost
	if !basic {
		body.Set("client_id", p.App.ID)
		if !p.App.Public && secret != "" {
			body.Set("client_secret", secret)
		}
	}
	target := strings.TrimSuffix(h.Issuer, "/") + p.Shape.Path
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, target, strings.NewReader(body.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 section 2.3.1: each part form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(p.App.ID), url.QueryEscape(secret))
	}
	// The developer's address, as the server resolved it before any
	// handler ran (ratelimit.TrustedProxies.Middleware), so every limit
	// keyed on the source counts this request as the developer's.
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	h.Backend.ServeHTTP(rec, req)

	res := &TryResult{Curl: curl(target, p.App.ID, basic, body), Status: httpStatus(rec.status)}
	for _, name := range sortedKeys(rec.header) {
		switch name {
		case "Content-Type", "Cache-Control", "Www-Authenticate", "Retry-After", "Dpop-Nonce",
			"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset":
			res.Headers = append(res.Headers, name+": "+strings.Join(rec.header.Values(name), ", "))
		}
	}
	shown := rec.body.Bytes()
	var pretty bytes.Buffer
	if json.Indent(&pretty, shown, "", "  ") == nil {
		shown = pretty.Bytes()
	}
	res.Body = string(shown)
	if secret != "" {
		// No endpoint echoes a secret; should one ever, the page still
		// does not show it.
		res.Body = strings.ReplaceAll(res.Body, secret, "[client secret]")
	}
	return res, nil
}

func httpStatus(code int) string {
	return strings.TrimSpace(strconv.Itoa(code) + " " + http.StatusText(code))
}

// curl writes the request as a command a developer can paste: the secret
// is always the shell variable $CLIENT_SECRET, never its value.
func curl(target, clientID string, basic bool, body url.Values) string {
	var b strings.Builder
	b.WriteString("curl -s " + shellQuote(target))
	if basic {
		b.WriteString(` \` + "\n  -u \"" + clientID + `:$CLIENT_SECRET"`)
	}
	for _, k := range sortedKeys(body) {
		v := body.Get(k)
		if k == "client_secret" {
			b.WriteString(` \` + "\n  -d \"client_secret=$CLIENT_SECRET\"")
			continue
		}
		b.WriteString(` \` + "\n  --data-urlencode " + shellQuote(k+"="+v))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// recorder keeps the endpoint's answer for the page, up to maxShownBody.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if room := maxShownBody - r.body.Len(); room > 0 {
		r.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
