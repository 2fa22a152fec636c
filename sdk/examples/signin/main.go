// Command signin is a web app with "Sign in with Aries": OpenID Connect on
// the authorization code flow (docs/oidc.md in the repository). It asks for
// openid, profile and email with a nonce, a state and PKCE, checks the ID
// token with the SDK (signature against the JWKS, iss, aud, exp, nonce),
// reads UserInfo, and signs the user out of the app and of Aries in one
// step with RP-initiated logout.
//
// Register it, then run it (with `aries serve` on 127.0.0.1:8080):
//
//	aries clients create --name "Sign-in example" --redirect-uri http://127.0.0.1:3001/callback \
//	  --post-logout-redirect-uri http://127.0.0.1:3001/ --scope "openid profile email" --json
//	ARIES_CLIENT_ID=... ARIES_CLIENT_SECRET=... ARIES_API_URL=http://127.0.0.1:8080 go run ./examples/signin
//
// and open http://127.0.0.1:3001 (ARIES_EXAMPLE_ADDR changes the address;
// register the redirect URIs to match).
package main

import (
	"crypto/subtle"
	"html/template"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// app keeps its state in memory; a real app keeps it in its database.
type app struct {
	base    string // this app's URL, http://ADDR
	aries   *aries.Client
	mu      sync.Mutex
	pending map[string]pending  // state -> what the callback checks
	users   map[string]*session // session cookie -> signed-in user
}

// pending is an authorization request on its way through Aries.
type pending struct {
	nonce, verifier string
}

// session is a signed-in user: who the ID token says they are, what
// UserInfo says about them, and the ID token itself, the hint of the
// logout.
type session struct {
	Claims  *protocol.IDTokenClaims
	Info    *protocol.UserInfo
	IDToken string
}

func main() {
	addr := os.Getenv("ARIES_EXAMPLE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3001"
	}
	base := "http://" + addr
	client, err := aries.NewClient(aries.Config{
		ClientID:     os.Getenv("ARIES_CLIENT_ID"),
		ClientSecret: os.Getenv("ARIES_CLIENT_SECRET"),
		APIURL:       os.Getenv("ARIES_API_URL"),
		RedirectURL:  base + "/callback",
		Scopes:       []string{"openid", "profile", "email"},
	})
	if err != nil {
		log.Fatal(err)
	}
	a := &app{base: base, aries: client, pending: map[string]pending{}, users: map[string]*session{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("open %s", base)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>Sign in with Aries</title>
{{with .Session}}
<p>Signed in as {{if .Info.Name}}{{.Info.Name}} ({{.Info.Email}}){{else}}{{.Info.Email}}{{end}}.</p>
<p>Aries user {{.Claims.Subject}}, signed in at {{.Claims.AuthTime.Format "15:04:05"}} with {{.Claims.AMR}};
email {{if not .Info.EmailVerified}}not {{end}}verified.</p>
<form method="post" action="/logout"><button>Sign out</button></form>
{{else}}
<p>{{.Message}}</p>
<p><a href="/login">Sign in with Aries</a></p>
{{end}}`))

type view struct {
	Session *session
	Message string
}

// login sends the browser to Aries with a new state, nonce and PKCE
// verifier.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state := aries.GenerateState()
	p := pending{nonce: aries.GenerateNonce(), verifier: aries.GenerateVerifier()}
	a.mu.Lock()
	a.pending[state] = p
	a.mu.Unlock()
	// The state cookie ties the callback to this browser (RFC 6749
	// section 10.12).
	http.SetCookie(w, &http.Cookie{Name: "aries_state", Value: state, Path: "/callback", MaxAge: 600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, a.aries.AuthorizationURL(state, aries.WithNonce(p.nonce), aries.WithPKCE(p.verifier)), http.StatusFound)
}

// callback exchanges the code, checks the ID token against the nonce of
// this browser's request, and reads UserInfo.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cookie, err := r.Cookie("aries_state")
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(q.Get("state"))) != 1 {
		http.Error(w, "the sign-in did not start in this browser; try again", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "aries_state", Path: "/callback", MaxAge: -1})
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		http.Error(w, "this sign-in is over; try again", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		a.render(w, view{Message: "Aries said " + e + ": " + q.Get("error_description")})
		return
	}
	ctx := r.Context()
	tok, err := a.aries.ExchangeCode(ctx, q.Get("code"), aries.WithPKCE(p.verifier))
	if err != nil {
		log.Printf("exchanging the code: %v", err)
		http.Error(w, "the sign-in failed; try again", http.StatusBadGateway)
		return
	}
	claims, err := a.aries.VerifyIDToken(ctx, tok.IDToken, p.nonce)
	if err != nil {
		log.Printf("the ID token: %v", err)
		http.Error(w, "the sign-in failed; try again", http.StatusBadGateway)
		return
	}
	user, err := aries.NewClientFromToken(aries.Config{APIURL: os.Getenv("ARIES_API_URL")}, tok)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	info, err := user.UserInfo(ctx)
	if err != nil || info.Subject != claims.Subject { // OpenID Connect Core 1.0 section 5.3.4
		log.Printf("userinfo: %+v, %v", info, err)
		http.Error(w, "the sign-in failed; try again", http.StatusBadGateway)
		return
	}
	id := aries.GenerateState()
	a.mu.Lock()
	a.users[id] = &session{Claims: claims, Info: info, IDToken: tok.IDToken}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	if s := a.session(r); s != nil {
		a.render(w, view{Session: s})
		return
	}
	a.render(w, view{Message: "Not signed in."})
}

// logout ends the app's session and sends the browser to Aries, which ends
// its own and sends it back here (RP-Initiated Logout 1.0).
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if c, err := r.Cookie("session"); err == nil {
		a.mu.Lock()
		delete(a.users, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, a.aries.LogoutURL(s.IDToken, a.base+"/", aries.GenerateState()), http.StatusSeeOther)
}

func (a *app) session(r *http.Request) *session {
	c, err := r.Cookie("session")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[c.Value]
}

func (a *app) render(w http.ResponseWriter, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		log.Print(err)
	}
}
