package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pythonPath finds a Python 3.10 or later for the Python SDK's tests. Without
// one they skip on a developer's machine and fail in CI, like the browser
// tests without Chromium.
func pythonPath(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: CI must have Python 3.10+ (Debian: apt-get install python3)", why)
		}
		t.Skipf("%s; skipping the Python SDK tests", why)
	}
	path, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 is not on PATH")
		return ""
	}
	if err := exec.Command(path, "-c", "import sys; sys.exit(sys.version_info < (3, 10))").Run(); err != nil {
		missing(path + " is older than Python 3.10")
	}
	return path
}

// pyUser and pyClient are the shapes sdk/python/tests/aries_live.py reads
// from ARIES_TEST_FIXTURE.
type pyUser struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	Password   string `json:"password"`
	TOTPSecret string `json:"totp_secret,omitempty"`
}

type pyClient struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret,omitempty"`
}

// Python tests that may skip, and why: the test that runs the Python blocks
// of the SDK documentation reads that page from outside this repository
// (ARIES_SEEDS_DIR), so it skips where the page is absent, and building a
// wheel offline needs setuptools with wheel. Any other skip means the tests
// did not reach the servers, and fails this test.
var allowedPythonSkips = regexp.MustCompile(`^(.* is not in .*set ARIES_SEEDS_DIR\)$|no Python here has setuptools)`)

// TestPythonSDK runs the Python SDK's tests (sdk/python/tests) against two
// real servers of this program: the main one, with the authentication rate
// limit raised (every test signs in from one address) and revocations
// polled every 100 ms, and a strict one whose codes live 2 s and whose
// trading limit is 3 requests per 3 s, for the expired code and the 429s.
// Users and clients are created with the command line, as an operator
// would, and passed to Python in ARIES_TEST_FIXTURE.
func TestPythonSDK(t *testing.T) {
	python := pythonPath(t)
	const (
		redirect = "https://yourapp.com/callback" // the SDK documentation's, so its code runs unchanged
		password = "correct horse battery staple"
	)
	user := func(dir, email string, mfa bool) pyUser {
		args := []string{"users", "create", "--email", email, "--password", password}
		if mfa {
			args = append(args, "--mfa")
		}
		u := ariesJSON[userJSON](t, dir, args...)
		if mfa && u.TOTPSecret == "" {
			t.Fatalf("users create --mfa printed no totp_secret: %+v", u)
		}
		return pyUser{ID: u.ID, Email: u.Email, Password: password, TOTPSecret: u.TOTPSecret}
	}
	client := func(dir, name string, flags ...string) pyClient {
		c := ariesJSON[clientJSON](t, dir, append([]string{"clients", "create", "--name", name, "--redirect-uri", redirect}, flags...)...)
		return pyClient{ClientID: c.ClientID, ClientSecret: c.ClientSecret}
	}

	mainDir := t.TempDir()
	users := map[string]pyUser{}
	for _, role := range []string{"trader", "sandbox", "seed"} {
		users[role] = user(mainDir, role+"@example.com", false)
	}
	mfaUsers := map[string]pyUser{}
	for _, role := range []string{"flows", "seed"} {
		mfaUsers[role] = user(mainDir, role+"-mfa@example.com", true)
	}
	clients := map[string]pyClient{
		"confidential": client(mainDir, "Backend app", "--scope", "read trade withdraw"),
		"public":       client(mainDir, "Mobile app", "--public", "--scope", "read"),
		"first_party":  client(mainDir, "Aries app", "--first-party", "--scope", "read trade"),
	}
	mainServer := startServer(t, mainDir, "--rate-limit", "authentication=1000/1m", "--rate-limit", "user=1000/1m",
		"--revocation-interval", "100ms")

	strictDir := t.TempDir()
	strictUsers := map[string]pyUser{"limited": user(strictDir, "limited@example.com", false)}
	strictClients := map[string]pyClient{"confidential": client(strictDir, "Backend app", "--scope", "read trade")}
	strictServer := startServer(t, strictDir, "--code-ttl", "2s", "--rate-limit", "trading=3/3s")

	fixture, err := json.Marshal(map[string]any{
		"url": mainServer.URL, "redirect_uri": redirect,
		"users": users, "mfa_users": mfaUsers, "clients": clients,
		"strict": map[string]any{
			"url": strictServer.URL, "code_ttl_seconds": 2, "trading_limit": "3/3s",
			"users": strictUsers, "clients": strictClients,
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-m", "unittest", "discover", "-s", filepath.Join("sdk", "python", "tests"), "-v")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARIES_TEST_FIXTURE="+string(fixture), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	output := string(out)
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("the Python tests did not finish within 3 minutes:\n%s", output)
	case errors.As(err, &exit):
		t.Fatalf("the Python tests failed (exit status %d):\n%s", exit.ExitCode(), output)
	case err != nil:
		t.Fatalf("running %s: %v", python, err)
	}

	ran := regexp.MustCompile(`(?m)^Ran (\d+) tests? in [0-9.]+s`).FindStringSubmatch(output)
	if ran == nil || ran[1] == "0" || !regexp.MustCompile(`(?m)^OK\b`).MatchString(output) {
		t.Fatalf("the Python tests ran nothing or did not end with OK:\n%s", output)
	}
	for _, m := range regexp.MustCompile(`(?m) \.\.\. skipped '(.*)'$`).FindAllStringSubmatch(output, -1) {
		if !allowedPythonSkips.MatchString(m[1]) {
			t.Errorf("a Python test skipped: %s", m[1])
		}
		t.Logf("skipped: %s", m[1])
	}
	lines := strings.Split(strings.TrimSpace(output), "\n")
	t.Logf("python3 -m unittest: %s, %s", strings.TrimSpace(ran[0]), lines[len(lines)-1])
}
