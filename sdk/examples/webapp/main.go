// Command webapp is a server-side web app that signs its users in with
// Aries: the authorization code flow with a client secret (RFC 6749
// section 4.1), PKCE on top (RFC 9700 section 2.1.1 recommends it for
// confidential clients too), and a state bound to the browser by a cookie
// (RFC 6749 section 10.12). Each signed-in user gets a client of their own
// that refreshes their tokens.
//
// Register it, then run it (with `aries serve` on 127.0.0.1:8080):
//
//	aries clients create --name "Web app" --redirect-uri http://127.0.0.1:3000/callback --scope read --json
//	ARIES_CLIENT_ID=... ARIES_CLIENT_SECRET=... ARIES_API_URL=http://127.0.0.1:8080 go run ./examples/webapp
//
// and open http://127.0.0.1:3000.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

const addr = "127.0.0.1:3000"

// webApp is the app's state. A real app keeps sessions and tokens in its
// database: a TokenStore per user over a row is a few lines.
type webApp struct {
	cfg     aries.Config
	aries   *aries.Client // the app itself: authorization URLs and code exchange
	mu      sync.Mutex
	pending map[string]string   // state -> PKCE verifier, while the user is at Aries
	users   map[string]*session // session cookie -> signed-in user
}

type session struct {
	client *aries.Client // acts for the user; refreshes by itself
	store  *aries.MemoryStore
}

func main() {
	cfg := aries.Config{
		ClientID:     os.Getenv("ARIES_CLIENT_ID"),
		ClientSecret: os.Getenv("ARIES_CLIENT_SECRET"),
		APIURL:       os.Getenv("ARIES_API_URL"),
		RedirectURL:  "http://" + addr + "/callback",
		Scopes:       []string{"read"},
	}
	client, err := aries.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	a := &webApp{cfg: cfg, aries: client, pending: map[string]string{}, users: map[string]*session{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	log.Printf("open http://%s", addr)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>Example app</title>
{{if .Email}}
<p>Signed in as {{.Email}}.</p>
<ul>{{range .Accounts}}<li>{{.ID}}: {{.Cash}} {{.Currency}} in cash</li>{{end}}</ul>
<form method="post" action="/logout"><button>Sign out</button></form>
{{else}}
<p>{{.Message}}</p>
<p><a href="/login">Sign in with Aries</a></p>
{{end}}`))

type view struct {
	Email, Message string
	Accounts       []protocol.Balances
}

// login sends the browser to Aries with a new state and PKCE verifier.
func (a *webApp) login(w http.ResponseWriter, r *http.Request) {
	state, verifier := aries.GenerateState(), aries.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = verifier
	a.mu.Unlock()
	// The state cookie ties the callback to this browser, so an attacker
	// cannot make it finish a sign-in the attacker started.
	http.SetCookie(w, &http.Cookie{Name: "aries_state", Value: state, Path: "/callback", MaxAge: 600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, a.aries.AuthorizationURL(state, aries.WithPKCE(verifier)), http.StatusFound)
}

// callback is where Aries sends the browser back with a code.
func (a *webApp) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cookie, err := r.Cookie("aries_state")
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(q.Get("state"))) != 1 {
		http.Error(w, "the sign-in did not start in this browser; try again", http.StatusBadRequest)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "aries_state", Path: "/callback", MaxAge: -1})
	a.mu.Lock()
	verifier, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		http.Error(w, "this sign-in is over; try again", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		// access_denied when the user declined.
		a.render(w, view{Message: "Aries said " + e + ": " + q.Get("error_description")})
		return
	}

	tok, err := a.aries.ExchangeCode(r.Context(), q.Get("code"), aries.WithPKCE(verifier))
	if err != nil {
		log.Printf("exchanging the code: %v", err)
		http.Error(w, "the sign-in failed; try again", http.StatusBadGateway)
		return
	}
	s := &session{store: &aries.MemoryStore{}}
	cfg := a.cfg
	cfg.Store = s.store // every rotated refresh token of this user lands here
	if s.client, err = aries.NewClientFromToken(cfg, tok); err == nil {
		err = s.client.SetToken(r.Context(), tok) // into the store now, for logout
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	id := aries.GenerateState()
	a.mu.Lock()
	a.users[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *webApp) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		a.render(w, view{Message: "Not signed in."})
		return
	}
	ctx := r.Context()
	user, err := s.client.Users.Current(ctx)
	if errors.Is(err, aries.ErrRefreshTokenRevoked) {
		a.render(w, view{Message: "Your Aries sign-in has ended (revoked or expired)."})
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	v := view{Email: user.Email}
	accounts, err := s.client.Users.Accounts(ctx)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for _, acc := range accounts {
		b, err := s.client.Accounts.Balances(ctx, acc.ID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		v.Accounts = append(v.Accounts, *b)
	}
	a.render(w, v)
}

// logout revokes the user's refresh token, ending the sign-in at Aries too.
func (a *webApp) logout(w http.ResponseWriter, r *http.Request) {
	if s := a.session(r); s != nil {
		if tok, _ := s.store.Load(r.Context()); tok != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := a.aries.Revoke(ctx, tok.RefreshToken); err != nil {
				log.Printf("revoking: %v", err)
			}
		}
		c, _ := r.Cookie("session")
		a.mu.Lock()
		delete(a.users, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "session", Path: "/", MaxAge: -1})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *webApp) session(r *http.Request) *session {
	c, err := r.Cookie("session")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[c.Value]
}

func (a *webApp) render(w http.ResponseWriter, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, v); err != nil {
		log.Print(err)
	}
}
