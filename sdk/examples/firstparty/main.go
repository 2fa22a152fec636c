// Command firstparty signs a user in the way Aries' own apps do: it asks for
// the email and password itself and, when the user has two-step verification,
// for the 6-digit code of their authenticator app
// (docs/protocol.md#mfa-verification in the repository). Only clients
// registered with --first-party may; all others send the user to the hosted
// pages instead (examples/webapp, examples/cli).
//
//	aries clients create --name "Aries app" --first-party --redirect-uri http://127.0.0.1:8976/callback --scope read --json
//	aries users create --email you@example.com --password-stdin --mfa --json   # add the totp_uri to an authenticator
//	ARIES_CLIENT_ID=... ARIES_CLIENT_SECRET=... ARIES_API_URL=http://127.0.0.1:8080 go run ./examples/firstparty
//
// The password is read as a line from standard input; a real terminal app
// would turn echo off (golang.org/x/term), which this example leaves out to
// need no dependency.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/ariesexchange/aries/sdk"
	"github.com/ariesexchange/aries/sdk/protocol"
)

func main() {
	ctx := context.Background()
	client, err := aries.NewClient(aries.Config{
		ClientID:     os.Getenv("ARIES_CLIENT_ID"),
		ClientSecret: os.Getenv("ARIES_CLIENT_SECRET"),
		APIURL:       os.Getenv("ARIES_API_URL"),
		Scopes:       []string{"read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	email, password := prompt(in, "Email: "), prompt(in, "Password: ")

	// PKCE binds the code to this process even here, where it never
	// passes through a browser.
	verifier := aries.GenerateVerifier()
	res, err := client.SignIn(ctx, aries.SignInRequest{Email: email, Password: password,
		Options: []aries.AuthOption{aries.WithPKCE(verifier)}})
	var apiErr *aries.Error
	if errors.As(err, &apiErr) && apiErr.Code == protocol.ErrAccessDenied {
		log.Fatalf("The email or password is incorrect (%s: %s).", apiErr.Code, apiErr.Message)
	}
	if err != nil {
		log.Fatal(err)
	}

	for attempt := 1; res.MFARequired; attempt++ {
		code := prompt(in, "6-digit code from your authenticator app: ")
		verified, err := client.VerifyMFA(ctx, res.SessionToken, code)
		switch {
		case errors.As(err, &apiErr) && apiErr.Code == protocol.ErrInvalidMFACode && attempt < 5:
			fmt.Println("That code is not right; try the current one.")
		case err != nil:
			// invalid_grant: five wrong codes, or five minutes, end the
			// session; the user signs in again.
			log.Fatal(err)
		default:
			res = verified
		}
	}

	tok, err := client.ExchangeCode(ctx, res.AuthorizationCode, aries.WithPKCE(verifier))
	if err != nil {
		log.Fatal(err)
	}
	if err := client.SetToken(ctx, tok); err != nil {
		log.Fatal(err)
	}
	user, err := client.Users.Current(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Signed in as", user.Email, "with scopes", tok.Scope)
}

func prompt(in *bufio.Scanner, label string) string {
	fmt.Print(label)
	if !in.Scan() {
		os.Exit(1)
	}
	return strings.TrimSpace(in.Text())
}
