package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/lockout"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

func TestClientsCommands(t *testing.T) {
	dir := t.TempDir()
	created := ariesJSON[map[string]any](t, dir, "clients", "create", "--name", "Portfolio tracker",
		"--redirect-uri", "https://app.example/cb", "--redirect-uri", "com.example.tracker:/oauth", "--scope", "read trade")
	for _, key := range []string{"client_id", "client_secret", "name", "type", "first_party", "redirect_uris", "scopes"} {
		if _, ok := created[key]; !ok {
			t.Errorf("clients create --json lacks %q: %v", key, created)
		}
	}
	id := created["client_id"].(string)
	if !strings.HasPrefix(created["client_secret"].(string), "aries_cs_") || created["type"] != "confidential" {
		t.Errorf("client %v: want a confidential client with an aries_cs_ secret", created)
	}

	shown := ariesJSON[clientJSON](t, dir, "clients", "show", id)
	if shown.ClientSecret != "" {
		t.Error("clients show printed a secret")
	}
	if diff := cmp.Diff([]string{"https://app.example/cb", "com.example.tracker:/oauth"}, shown.RedirectURIs); diff != "" {
		t.Errorf("redirect URIs (-want +got):\n%s", diff)
	}
	if len(shown.Scopes) != 10 {
		t.Errorf("scopes %v: want read (9) and trade (1) expanded", shown.Scopes)
	}

	list := ariesJSON[[]clientJSON](t, dir, "clients", "list")
	if len(list) != 1 || list[0].ClientID != id {
		t.Errorf("clients list = %+v, want the one client", list)
	}
	rotated := ariesJSON[map[string]string](t, dir, "clients", "rotate-secret", id)
	if rotated["client_secret"] == "" || rotated["client_secret"] == created["client_secret"] {
		t.Errorf("rotate-secret gave %q", rotated["client_secret"])
	}
	if c := ariesJSON[clientJSON](t, dir, "clients", "disable", id); !c.Disabled {
		t.Error("disable did not disable")
	}
	if c := ariesJSON[clientJSON](t, dir, "clients", "enable", id); c.Disabled {
		t.Error("enable did not enable")
	}
	ariesJSON[map[string]any](t, dir, "clients", "delete", id)
	if _, stderr, status := aries(t, dir, "clients", "show", id); status == 0 || !strings.Contains(stderr, "no client") {
		t.Errorf("show after delete: status %d, stderr %q", status, stderr)
	}
}

func TestCommandErrorsGoToStderrAndWriteNothing(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"http redirect on a public host", []string{"clients", "create", "--name", "x", "--redirect-uri", "http://app.example/cb", "--scope", "read"}, "127.0.0.1"},
		{"fragment", []string{"clients", "create", "--name", "x", "--redirect-uri", "https://app.example/cb#x", "--scope", "read"}, "fragment"},
		{"unknown scope", []string{"clients", "create", "--name", "x", "--redirect-uri", "https://app.example/cb", "--scope", "Read"}, "unknown scope"},
		{"no redirect", []string{"clients", "create", "--name", "x", "--scope", "read"}, "redirect URI"},
		{"bad email", []string{"users", "create", "--email", "nobody", "--password", "long enough pw"}, "email"},
		{"short password", []string{"users", "create", "--email", "a@b.example", "--password", "short"}, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, status := aries(t, dir, tt.args...)
			if status == 0 || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("status %d, stdout %q, stderr %q: want failure mentioning %q", status, stdout, stderr, tt.want)
			}
		})
	}
	if list := ariesJSON[[]clientJSON](t, dir, "clients", "list"); len(list) != 0 {
		t.Errorf("a failed create left %d clients behind", len(list))
	}
	ariesJSON[userJSON](t, dir, "users", "create", "--email", "A@B.example", "--password", "long enough pw")
	if _, stderr, status := aries(t, dir, "users", "create", "--email", "a@b.example", "--password", "long enough pw"); status == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("duplicate email: status %d, stderr %q", status, stderr)
	}
}

func TestDisablingAClientRevokesItsTokens(t *testing.T) {
	f := newFixture(t)
	tr := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	wantTokens(t, tr, true)
	ariesJSON[clientJSON](t, f.dir, "clients", "disable", f.conf.ClientID)
	wantError(t, f.token(t, url.Values{"grant_type": {"client_credentials"}}, f.conf.ClientID, f.conf.ClientSecret), 401, "invalid_client")
	ariesJSON[clientJSON](t, f.dir, "clients", "enable", f.conf.ClientID)
	if f.introspect(t, tr.AccessToken).Active || f.introspect(t, tr.RefreshToken).Active {
		t.Error("tokens issued before the client was disabled are still active")
	}
}

func TestRotatedSecretReplacesTheOldOne(t *testing.T) {
	f := newFixture(t)
	rotated := ariesJSON[map[string]string](t, f.dir, "clients", "rotate-secret", f.conf.ClientID)
	cc := url.Values{"grant_type": {"client_credentials"}}
	wantError(t, f.token(t, cc, f.conf.ClientID, f.conf.ClientSecret), http.StatusUnauthorized, "invalid_client")
	wantTokens(t, f.token(t, cc, f.conf.ClientID, rotated["client_secret"]), false)
}

func TestKeysRotatePublishesBothKeys(t *testing.T) {
	dir := t.TempDir()
	first := startServer(t, dir) // creates the first key
	_ = first
	k := ariesJSON[map[string]any](t, dir, "keys", "rotate")
	s := startServer(t, dir)
	resp, body := get(t, http.DefaultClient, s.URL+"/.well-known/jwks.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: %d", resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(body), &set); err != nil {
		t.Fatal(err)
	}
	// Each algorithm (ES256 for access tokens, RS256 for ID tokens) has a
	// new key, published beside the old one.
	published := map[string]bool{}
	for _, key := range set.Keys {
		published[key.Kid] = true
	}
	rotated, _ := k["keys"].([]any)
	if len(set.Keys) != 4 || len(rotated) != 2 || !published[k["kid"].(string)] {
		t.Errorf("JWKS %s: want the two new keys %v and the two old ones still published", body, k["keys"])
	}
	for _, r := range rotated {
		if kid, _ := r.(map[string]any)["kid"].(string); !published[kid] {
			t.Errorf("new key %v is not published", r)
		}
	}
	for _, key := range set.Keys {
		if key.D != "" {
			t.Fatal("the JWKS publishes a private key")
		}
	}
}

func TestHealthAndDiscovery(t *testing.T) {
	s := startServer(t, t.TempDir())
	for path, want := range map[string]int{
		"/healthz": 200, "/readyz": 200, "/metrics": 404, // metrics have their own listener
		"/.well-known/oauth-authorization-server": 200, "/.well-known/jwks.json": 200, "/no/such/thing": 404,
	} {
		if resp, _ := get(t, http.DefaultClient, s.URL+path); resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestRefreshTokenSurvivesSIGKILL kills the server the moment a token
// response has arrived: the refresh token it carried must work after a
// restart, because it was stored durably before it was sent.
func TestRefreshTokenSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildAries(t)
	dir := t.TempDir()
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	ariesJSON[userJSON](t, dir, "users", "create", "--email", f.email, "--password", f.password)
	f.conf = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend", "--redirect-uri", f.redirectURI, "--scope", "read")

	start := func() (*exec.Cmd, string) {
		return startBinary(t, bin, "--db", "sqlite:"+filepath.Join(dir, "aries.db"), "serve", "--addr", "127.0.0.1:0")
	}

	cmd, u := start()
	f.testServer = &testServer{URL: u, dir: dir}
	tr := f.token(t, url.Values{"grant_type": {"code"}, "client_id": {f.conf.ClientID}, "client_secret": {f.conf.ClientSecret},
		"code": {f.code(t, f.conf.ClientID, nil)}, "redirect_uri": {f.redirectURI}})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wantTokens(t, tr, true)

	_, u = start()
	f.testServer = &testServer{URL: u, dir: dir}
	wantTokens(t, f.token(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {f.conf.ClientID},
		"client_secret": {f.conf.ClientSecret}, "refresh_token": {tr.RefreshToken}}), true)
}

func TestUsersCreateMFAText(t *testing.T) {
	dir := t.TempDir()
	out, errOut, status := aries(t, dir, "users", "create", "--email", "mfa@example.com", "--password", "mfa user password", "--mfa")
	if status != 0 {
		t.Fatalf("users create --mfa: status %d: %s", status, errOut)
	}
	for _, want := range []string{"totp_secret  ", "totp_uri     otpauth://totp/Aries:mfa@example.com?", "Recovery codes"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n  "); n != 10 {
		t.Errorf("output lists %d recovery codes, want 10:\n%s", n, out)
	}
	u := ariesJSON[userJSON](t, dir, "users", "create", "--email", "mfa-json@example.com", "--password", "mfa user password", "--mfa")
	if !u.MFA || u.TOTPSecret == "" || !strings.HasPrefix(u.TOTPURI, "otpauth://totp/") || len(u.RecoveryCodes) != 10 {
		t.Errorf("users create --mfa --json: got %+v, want mfa true, a secret, an otpauth URI and 10 recovery codes", u)
	}
	plain := ariesJSON[userJSON](t, dir, "users", "create", "--email", "plain@example.com", "--password", "a password")
	if plain.MFA || plain.TOTPSecret != "" || plain.RecoveryCodes != nil {
		t.Errorf("users create without --mfa: got %+v, want no MFA fields", plain)
	}
}

// TestUsersUnlock: `aries users unlock ID` lifts a locked second factor
// (internal/server's TestSecondFactorCannotBeBruteForced locks one through
// the sign-in pages and signs in after the same unlock) and says so; an
// unknown id is an error naming it.
func TestUsersUnlock(t *testing.T) {
	dir := t.TempDir()
	u := ariesJSON[userJSON](t, dir, "users", "create", "--email", "target@example.com", "--password", "mfa user password", "--mfa")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "aries.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	factors := &lockout.SecondFactors{Store: st, Now: time.Now}
	if err := st.LockSecondFactor(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if locked, err := factors.Locked(ctx, u.ID); err != nil || !locked {
		t.Fatalf("before the unlock: locked %t, %v; want locked", locked, err)
	}

	out, errOut, status := aries(t, dir, "users", "unlock", u.ID, "--json")
	var unlocked struct {
		ID       string `json:"id"`
		Unlocked bool   `json:"unlocked"`
	}
	if status != 0 || json.Unmarshal([]byte(out), &unlocked) != nil || unlocked.ID != u.ID || !unlocked.Unlocked {
		t.Fatalf("aries users unlock: status %d, %s %s", status, out, errOut)
	}
	if locked, err := factors.Locked(ctx, u.ID); err != nil || locked {
		t.Errorf("after aries users unlock: locked %t, %v; want unlocked", locked, err)
	}
	if _, errOut, status := aries(t, dir, "users", "unlock", "usr_nobody"); status == 0 || !strings.Contains(errOut, "no user") {
		t.Errorf("users unlock of an unknown id: status %d, stderr %q; want an error naming it", status, errOut)
	}
}

// startBinary starts the aries binary bin with args (a serve command) and
// returns the process, killed when the test ends, and the URL it printed
// it listens on.
// buildAries builds the aries binary of this tree for the tests that run it
// as a separate process (kill -9, several processes on one database).
func buildAries(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aries")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startBinary(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 4096)
	var out string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := stdout.Read(buf)
		out += string(buf[:n])
		if _, rest, ok := strings.Cut(out, "Aries is listening on "); ok {
			addr, _, _ := strings.Cut(rest, " ")
			return cmd, "http://" + addr
		}
		if err != nil {
			break
		}
	}
	t.Fatalf("server did not start: %q", out)
	return nil, ""
}
