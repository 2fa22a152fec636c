package server

import (
	"fmt"
	"net/http"
)

// demoCallback is where the `serve --demo` clients are sent back: it shows
// the code and the command that exchanges it, so the flow can be tried with
// nothing but a browser and curl. It answers plain text, so nothing the
// query holds can become markup.
func demoCallback(issuer string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			fmt.Fprintf(w, "The authorization ended with error=%s\n%s\n", e, q.Get("error_description"))
			return
		}
		fmt.Fprintf(w, "Aries demo callback\n\ncode  = %s\nstate = %s\niss   = %s\n\n", q.Get("code"), q.Get("state"), q.Get("iss"))
		fmt.Fprintf(w, "Exchange the code within its lifetime (60 s by default), for the confidential demo client:\n\n"+
			"  curl -s %s/v1/oauth2/token -d grant_type=code -d client_id=$CLIENT_ID -d client_secret=$CLIENT_SECRET \\\n"+
			"    -d code=%s -d redirect_uri=%s/demo/callback\n\n"+
			"or, for the public demo client, with -d code_verifier=$CODE_VERIFIER instead of the secret.\n",
			issuer, q.Get("code"), issuer)
	}
}
