package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/testenv"
)

// TestClientChangesReachRunningServer: a running server keeps client rows in
// memory (package clientcache), yet a secret rotated or a client disabled by
// another process, the CLI, stops working at the server's next request. On
// SQLite that is at once; on PostgreSQL, once the change's notification has
// arrived, which the server waits for at most half a second before it stops
// trusting its cache (internal/store/postgres/clientsignal.go).
func TestClientChangesReachRunningServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildAries(t)
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
		// within is how long a change may take to reach the server.
		within time.Duration
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "aries.db") }, 0},
		{"postgres", func(t *testing.T) string { return pgtest.Database(t) }, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, sec := secret.NewMaster()
			db := tc.db(t)
			cli := func(args ...string) map[string]any {
				t.Helper()
				full := append([]string{"--db", db, "--secret", sec}, args...)
				out, err := exec.Command(bin, append(full, "--json")...).Output()
				if err != nil {
					t.Fatalf("aries %v: %v", args, err)
				}
				var v map[string]any
				if err := json.Unmarshal(out, &v); err != nil {
					t.Fatalf("aries %v: %v: %s", args, err, out)
				}
				return v
			}
			app := cli("clients", "create", "--name", "Backend", "--redirect-uri", "https://app.example/cb", "--scope", "read")
			id, oldSecret := app["client_id"].(string), app["client_secret"].(string)
			_, base := startBinary(t, bin, "--db", db, "--secret", sec, "--log-level", "error",
				"serve", "--addr", "127.0.0.1:0", "--rate-limits-off")

			cc := url.Values{"grant_type": {"client_credentials"}}
			for range 3 { // the first fills the cache, the others are served from it
				testenv.WantTokens(t, testenv.Token(t, base, cc, id, oldSecret), false)
			}
			// status waits, up to within, for the server to answer a
			// request with secret with want.
			status := func(what, secret string, want int) {
				t.Helper()
				deadline := time.Now().Add(tc.within)
				for {
					got := testenv.Token(t, base, cc, id, secret).Status
					if got == want {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: status %d, want %d", what, got, want)
					}
				}
			}

			newSecret := cli("clients", "rotate-secret", id)["client_secret"].(string)
			status("old secret after another process rotated it", oldSecret, http.StatusUnauthorized)
			status("new secret", newSecret, http.StatusOK)
			status("new secret again", newSecret, http.StatusOK)

			cli("clients", "disable", id)
			status("secret of a client another process disabled", newSecret, http.StatusUnauthorized)
			cli("clients", "enable", id)
			status("secret of a client enabled again", newSecret, http.StatusOK)
		})
	}
}
