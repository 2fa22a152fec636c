// Command complete is the "Complete Example" of the Aries SDK guide
// (docs/sdk-go.md) in Go: it reads who the client acts for and that user's
// accounts.
//
// It reads its configuration from the environment:
//
//	ARIES_CLIENT_ID       the app's client id
//	ARIES_CLIENT_SECRET   the app's client secret
//	ARIES_REFRESH_TOKEN   a user's refresh token, used when the token file holds none
//	ARIES_API_URL         the Aries API, default https://api.aries.com
//	ARIES_TOKEN_FILE      where the latest token is kept, default aries-token.json
//
// Aries rotates refresh tokens on every use, so the program keeps the
// latest one in the token file (mode 0600) and uses it on the next run: the
// one in ARIES_REFRESH_TOKEN is spent after the first. Without any refresh
// token the app acts as itself, and the user endpoints answer 403.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/ariesexchange/aries/sdk"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Initialize the client. Tokens are refreshed automatically.
	cfg := aries.Config{
		ClientID:     os.Getenv("ARIES_CLIENT_ID"),
		ClientSecret: os.Getenv("ARIES_CLIENT_SECRET"),
		APIURL:       os.Getenv("ARIES_API_URL"),
		Store:        aries.NewFileStore(getenv("ARIES_TOKEN_FILE", "aries-token.json")),
	}
	var client *aries.Client
	var err error
	if rt := os.Getenv("ARIES_REFRESH_TOKEN"); rt != "" {
		client, err = aries.NewClientFromRefreshToken(cfg, rt)
	} else {
		client, err = aries.NewClient(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	if err := run(ctx, client); err != nil {
		// Every line names Aries' error code and description: "Access
		// forbidden" alone cannot tell a missing scope from an app token
		// on a user route (docs/troubleshooting.md).
		var apiErr *aries.Error
		switch {
		case errors.Is(err, aries.ErrRefreshTokenRevoked):
			fmt.Println("The sign-in has ended: sign in again for a new refresh token" + detail(err))
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
			fmt.Println("Authentication failed" + detail(err))
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
			fmt.Println("Access forbidden" + detail(err))
		case errors.As(err, &apiErr):
			fmt.Println("API Error" + detail(err))
		default:
			fmt.Println("Error:", err)
		}
		os.Exit(1)
	}
}

// detail is ": code (description)" of the error answer err carries, or "".
func detail(err error) string {
	var apiErr *aries.Error
	if !errors.As(err, &apiErr) || apiErr.Code == "" {
		return ""
	}
	if apiErr.Message == "" {
		return ": " + apiErr.Code
	}
	return ": " + apiErr.Code + " (" + apiErr.Message + ")"
}

func run(ctx context.Context, client *aries.Client) error {
	// Get current user
	user, err := client.Users.Current(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Authenticated as: %s\n", user.Email)

	// Get user accounts
	accounts, err := client.Users.Accounts(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Found %d accounts\n", len(accounts))
	return nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
