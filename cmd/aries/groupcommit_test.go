package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestRefreshTokensSurviveSIGKILLMidGroupCommit kills the server while
// concurrent refreshes are in flight, so that rotations are queued for, or
// inside, a shared commit (internal/store/sqlite/group.go), and checks
// that every refresh token an answer carried still works after a restart:
// an answer is sent only once the commit holding its rotation returned.
//
// The client has a grace window (docs/fapi.md#refresh-token-policy)
// because a rotation can be committed while its answer is lost to the
// kill: then the last token the test saw is spent, and only the window
// lets it return the child the test never received instead of counting as
// a replay. Either way it must work.
func TestRefreshTokensSurviveSIGKILLMidGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const families = 16
	bin := buildAries(t)
	dir := t.TempDir()
	f := &fixture{email: "trader@example.com", password: "correct horse battery", redirectURI: "http://127.0.0.1:9/callback"}
	ariesJSON[userJSON](t, dir, "users", "create", "--email", f.email, "--password", f.password)
	f.conf = ariesJSON[clientJSON](t, dir, "clients", "create", "--name", "Backend", "--redirect-uri", f.redirectURI, "--scope", "read")
	ariesJSON[clientJSON](t, dir, "clients", "update", f.conf.ClientID, "--refresh-grace", "60")

	start := func() (*exec.Cmd, string) {
		return startBinary(t, bin, "--db", "sqlite:"+filepath.Join(dir, "aries.db"), "--log-level", "error",
			"serve", "--addr", "127.0.0.1:0", "--rate-limits-off")
	}

	cmd, u := start()
	f.testServer = &testServer{URL: u, dir: dir}
	latest := make([]string, families) // the last refresh token answered, per family
	for i := range latest {
		latest[i] = f.exchangeFor(t, f.conf).RefreshToken
	}

	// Each family refreshes in a loop until the server dies; the kill
	// comes once enough rotations were answered that commits are being
	// shared, with every family's next request on its way.
	var answered atomic.Int64
	killAt := int64(20 * families)
	killed := make(chan struct{})
	client := &http.Client{Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	for i := range families {
		wg.Go(func() {
			for {
				tok, err := refreshOnce(client, u, f.conf, latest[i])
				if err != nil {
					select {
					case <-killed: // the server is gone
					default:
						t.Errorf("family %d: refresh before the kill: %v", i, err)
					}
					return
				}
				latest[i] = tok
				if answered.Add(1) == killAt {
					close(killed)
				}
			}
		})
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-killed:
	case <-stopped:
		t.Fatalf("the refreshes stopped after %d answers, before the kill", answered.Load())
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-stopped
		t.Fatalf("only %d refreshes answered in 2 minutes", answered.Load())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	wg.Wait()

	_, u = start()
	f.testServer = &testServer{URL: u, dir: dir}
	for i, tok := range latest {
		got := refreshWith(t, f.testServer, f.conf, tok)
		if got.Status != http.StatusOK || got.RefreshToken == "" {
			t.Errorf("family %d: the last answered refresh token after the kill: got %d %s (%s), want new tokens",
				i, got.Status, got.Error, got.Description)
		}
	}
}

// refreshOnce refreshes tok and returns the new refresh token, or an error
// if no answer came (the server was killed) or the answer was not a
// success. It does not use testenv.Token, which fails the test on a lost
// connection: here the server dies under the requests on purpose.
func refreshOnce(c *http.Client, base string, cl clientJSON, tok string) (string, error) {
	resp, err := c.PostForm(base+"/v1/oauth2/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {cl.ClientID}, "client_secret": {cl.ClientSecret}, "refresh_token": {tok}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var got tokenResult
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		return "", fmt.Errorf("status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || got.RefreshToken == "" {
		return "", fmt.Errorf("status %d: %s (%s)", resp.StatusCode, got.Error, got.Description)
	}
	return got.RefreshToken, nil
}
