package main

import (
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
	if len(set.Keys) != 2 || set.Keys[0].Kid != k["kid"] {
		t.Errorf("JWKS %s: want the new key %v first and the old one still published", body, k["kid"])
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
	bin := filepath.Join(t.TempDir(), "aries")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	ariesJSON[userJSON](t, dir, "users", "create", "--email", f.email, "--password", f.password)
	f.conf = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend", "--redirect-uri", f.redirectURI, "--scope", "read")

	start := func() (*exec.Cmd, string) {
		cmd := exec.Command(bin, "--db", "sqlite:"+filepath.Join(dir, "aries.db"), "serve", "--addr", "127.0.0.1:0")
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
