package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	sdk "github.com/ariesexchange/aries/sdk"
)

// The seed's "Complete Example", built from sdk/examples/complete, run
// against `aries serve --demo` with the demo's client and user.
func TestSDKCompleteExampleAgainstDemo(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "complete")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/complete")
	build.Dir = filepath.Join("..", "..", "sdk")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}

	s := startServer(t, t.TempDir(), "--demo")
	demo := func(pattern string) string {
		m := regexp.MustCompile(pattern).FindStringSubmatch(s.startup)
		if m == nil {
			t.Fatalf("the demo output has no %s:\n%s", pattern, s.startup)
		}
		return m[1]
	}
	clientID, clientSecret := demo(`\bCLIENT_ID=(\S+)`), demo(`\bCLIENT_SECRET=(\S+)`)
	password := demo(`password\s+(\S+)`)

	ctx := context.Background()
	app, _ := sdk.NewClient(sdk.Config{ClientID: clientID, ClientSecret: clientSecret, APIURL: s.URL,
		RedirectURL: s.URL + "/demo/callback", Scopes: []string{"read"}})
	code := demoSignIn(t, s, "demo@aries.local", password, app.AuthorizationURL(sdk.GenerateState()))
	tok, err := app.ExchangeCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}

	tokenFile := filepath.Join(t.TempDir(), "token.json")
	run := func(env ...string) (string, int) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), append([]string{"ARIES_CLIENT_ID=" + clientID, "ARIES_CLIENT_SECRET=" + clientSecret,
			"ARIES_API_URL=" + s.URL, "ARIES_TOKEN_FILE=" + tokenFile, "ARIES_REFRESH_TOKEN="}, env...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	want := "Authenticated as: demo@aries.local\nFound 1 accounts\n"
	if out, status := run("ARIES_REFRESH_TOKEN=" + tok.RefreshToken); out != want || status != 0 {
		t.Errorf("first run: status %d, output\n%s\nwant\n%s", status, out, want)
	}
	// The environment's refresh token is spent now; the file holds the
	// rotated one, so the next run works as well.
	if out, status := run("ARIES_REFRESH_TOKEN=" + tok.RefreshToken); out != want || status != 0 {
		t.Errorf("second run: status %d, output\n%s\nwant\n%s", status, out, want)
	}
	// With only the app's credentials, as the seed's example is written,
	// the app acts as itself and the user endpoints refuse it; the example
	// says why, with Aries' error code and description.
	tokenFile = filepath.Join(t.TempDir(), "other.json")
	if out, status := run(); !strings.HasPrefix(out, "Access forbidden: user_required (") || status != 1 {
		t.Errorf("app credentials only: status %d, output %q, want 1 and Access forbidden: user_required (...)", status, out)
	}
}

// demoSignIn signs the demo user in through the hosted pages and returns
// the code the demo callback page received.
func demoSignIn(t *testing.T, s *testServer, email, password, authURL string) string {
	t.Helper()
	c := browser(t)
	resp, page := get(t, c, authURL)
	for range 6 {
		switch {
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="password"`):
			action, fields := form(t, page)
			fields.Set("email", email)
			fields.Set("password", password)
			resp, page = postForm(t, c, s.URL+action, fields)
		case resp.StatusCode == http.StatusOK && strings.Contains(page, `name="decision"`):
			action, fields := form(t, page)
			fields.Set("decision", "approve")
			resp, page = postForm(t, c, s.URL+action, fields)
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, err := resp.Location()
			if err != nil {
				t.Fatal(err)
			}
			if loc.Path == "/demo/callback" {
				return loc.Query().Get("code")
			}
			resp, page = get(t, c, loc.String())
		default:
			t.Fatalf("unexpected step: %d\n%s", resp.StatusCode, page)
		}
	}
	t.Fatal("the sign-in did not reach the demo callback")
	return ""
}
