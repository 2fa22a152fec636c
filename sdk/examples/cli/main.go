// Command cli signs a user in from a terminal, as a native app does (RFC
// 8252): a public client with PKCE, whose redirect URI is a loopback address
// the program listens on for the one callback (RFC 8252 section 7.3). The
// token is kept in a file (mode 0600), so the next run needs no sign-in.
//
// Register it, then run it (with `aries serve` on 127.0.0.1:8080):
//
//	aries clients create --name "CLI" --public --redirect-uri http://127.0.0.1:8976/callback --scope read --json
//	ARIES_CLIENT_ID=... ARIES_API_URL=http://127.0.0.1:8080 go run ./examples/cli
//
// RFC 8252 lets a native app take any free port; Aries compares redirect
// URIs exactly, so register the port given with -port (-port 0 takes a free
// one, for a server that accepts any loopback port).
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ariesexchange/aries/sdk"
)

func main() {
	port := flag.Int("port", 8976, "loopback port of the redirect URI")
	tokenFile := flag.String("token-file", defaultTokenFile(), "where the token is kept")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	client, err := aries.NewClient(aries.Config{
		ClientID: os.Getenv("ARIES_CLIENT_ID"), // a public client: no secret
		APIURL:   os.Getenv("ARIES_API_URL"),
		Scopes:   []string{"read"},
		Store:    aries.NewFileStore(*tokenFile),
	})
	if err != nil {
		log.Fatal(err)
	}
	user, err := client.Users.Current(ctx)
	if errors.Is(err, aries.ErrNoToken) || errors.Is(err, aries.ErrRefreshTokenRevoked) {
		if err = signIn(ctx, client, *port); err == nil {
			user, err = client.Users.Current(ctx)
		}
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Signed in as", user.Email)
	accounts, err := client.Users.Accounts(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range accounts {
		b, err := client.Accounts.Balances(ctx, a.ID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s %s cash, %s equity\n", a.ID, b.Cash, b.Currency, b.Equity)
	}
}

// signIn runs the authorization code flow through the user's browser and
// hands the token to the client (and so to its file).
func signIn(ctx context.Context, client *aries.Client, port int) error {
	// Listen before sending the user anywhere, on the loopback interface
	// only: nothing else on the network can reach the callback.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	defer ln.Close()
	redirect := fmt.Sprintf("http://127.0.0.1:%d/callback", ln.Addr().(*net.TCPAddr).Port)
	state, verifier := aries.GenerateState(), aries.GenerateVerifier()

	type result struct{ code, err string }
	done := make(chan result, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/callback" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if e := q.Get("error"); e != "" {
			fmt.Fprintln(w, "Sign-in failed. You can close this window.")
			done <- result{err: e + ": " + q.Get("error_description")}
			return
		}
		fmt.Fprintln(w, "Signed in. You can close this window and return to the terminal.")
		done <- result{code: q.Get("code")}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	fmt.Println("Open this address in your browser to sign in with Aries:")
	fmt.Println()
	fmt.Println("  " + client.AuthorizationURL(state, aries.WithPKCE(verifier), aries.WithRedirectURL(redirect)))
	fmt.Println()

	var res result
	select {
	case res = <-done:
	case <-time.After(5 * time.Minute):
		return errors.New("no sign-in within 5 minutes")
	case <-ctx.Done():
		return ctx.Err()
	}
	if res.err != "" {
		return errors.New("sign-in failed: " + res.err)
	}
	tok, err := client.ExchangeCode(ctx, res.code, aries.WithPKCE(verifier), aries.WithRedirectURL(redirect))
	if err != nil {
		return err
	}
	return client.SetToken(ctx, tok)
}

func defaultTokenFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "aries-cli-token.json"
	}
	return filepath.Join(dir, "aries-cli", "token.json")
}
