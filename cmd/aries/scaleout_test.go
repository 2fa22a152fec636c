package main

// Scale-out tests, on the harness of cluster_test.go: codes, refresh
// tokens, revocations, MFA and rate limits shared by instances through
// PostgreSQL and Redis, and outages of either.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// revocationInterval is how often TestScaleOut's instances poll for
// revocations (the default is 5 s).
const revocationInterval = time.Second

func TestScaleOut(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3,
		flags: append([]string{"--revocation-interval", revocationInterval.String()}, generous...)})
	a, b, cc := c.instances[0], c.instances[1], c.instances[2]

	t.Run("a code issued through A is redeemed at B", func(t *testing.T) {
		code := c.f.code(t, c.f.conf.ClientID, nil) // through the balancer
		got := c.exchange(t, b, code)
		wantTokens(t, got, true)
		if in := c.introspectAt(t, cc, got.AccessToken); !in.Active || in.Sub != c.f.userID {
			t.Errorf("introspection at C of a token issued at B: %+v, want active for %s", in, c.f.userID)
		}
		// Its reuse at another instance is caught: the code is spent in
		// the shared database, not in B's memory.
		wantError(t, c.exchange(t, a, code), http.StatusBadRequest, "invalid_grant")
	})

	t.Run("a refresh replay at C revokes the family created at A", func(t *testing.T) {
		first := c.exchange(t, a, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, first, true)
		second := c.refresh(t, b, first.RefreshToken)
		wantTokens(t, second, true)

		wantError(t, c.refresh(t, cc, first.RefreshToken), http.StatusBadRequest, "invalid_grant")
		// The whole family is dead, everywhere.
		wantError(t, c.refresh(t, a, second.RefreshToken), http.StatusBadRequest, "invalid_grant")
		for i, inst := range c.instances {
			if in := c.introspectAt(t, inst, second.AccessToken); in.Active {
				t.Errorf("instance %d: the family's access token is still active after the replay", i)
			}
		}
		if got := metric(t, cc, "aries_refresh_token_replays_total"); got != 1 {
			t.Errorf("C's aries_refresh_token_replays_total: got %v, want 1", got)
		}
	})

	t.Run("30 concurrent refreshes across the instances: exactly one succeeds", func(t *testing.T) {
		first := c.exchange(t, a, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, first, true)
		const n = 30
		results := make([]tokenResult, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				results[i] = c.refresh(t, c.instances[i%len(c.instances)], first.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, r := range results {
			switch {
			case r.Status == http.StatusOK:
				wins++
			case r.Status == http.StatusBadRequest && r.Error == "invalid_grant":
			default:
				t.Errorf("refresh %d: got %d %s (%s), want 200 or 400 invalid_grant", i, r.Status, r.Error, r.Description)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent refreshes of one token: got %d successes, want exactly 1", n, wins)
		}
	})

	t.Run("a revocation at A reaches the API of every instance within the interval", func(t *testing.T) {
		got := c.exchange(t, b, c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		me := func(inst *testServer) int {
			req, _ := http.NewRequest(http.MethodGet, inst.URL+"/v1/users/me", nil)
			req.Header.Set("Authorization", "Bearer "+got.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i, inst := range c.instances {
			if status := me(inst); status != http.StatusOK {
				t.Fatalf("instance %d: GET /v1/users/me with a fresh token: %d, want 200", i, status)
			}
		}
		revoked := a.post(t, "/v1/oauth2/revoke", "application/x-www-form-urlencoded",
			url.Values{"token": {got.AccessToken}}.Encode(), c.f.conf.ClientID, c.f.conf.ClientSecret)
		if revoked.Status != http.StatusOK {
			t.Fatalf("revoke at A: %d %s", revoked.Status, revoked.Error)
		}
		start := time.Now()
		// The documented delay is about one polling interval (1 s here);
		// allow three for a loaded machine.
		for i, inst := range c.instances {
			for me(inst) != http.StatusUnauthorized {
				if time.Since(start) > 3*revocationInterval {
					t.Fatalf("instance %d still accepts the token %v after its revocation at A; its log:\n%s", i, time.Since(start), c.stderr[i])
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("every instance refused the revoked token within %v", time.Since(start).Round(time.Millisecond))
	})

	t.Run("a browser flow whose steps alternate between instances completes", func(t *testing.T) {
		before := c.lb.count()
		verifier, challenge := pkcePair()
		code := c.f.code(t, c.f.public.ClientID, url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		served := c.lb.servedSince(before)
		if len(served) < 3 {
			t.Fatalf("the flow made %d requests, want at least 3 (page, sign-in, consent)", len(served))
		}
		for i := 1; i < len(served); i++ {
			if served[i] == served[i-1] {
				t.Errorf("steps %d and %d were served by the same instance (%v); the balancer should alternate", i-1, i, served)
			}
		}
		// And the code works at yet another instance.
		got := cc.token(t, url.Values{"grant_type": {"code"}, "client_id": {c.f.public.ClientID},
			"code": {code}, "redirect_uri": {c.f.redirectURI}, "code_verifier": {verifier}})
		wantTokens(t, got, true)
	})
}

// TestScaleOutMFA: the state of an MFA sign-in (the challenge, the TOTP
// replay guard) lives in the database, so each step can reach another
// instance: the hosted pages' TOTP step, and the first-party session_token
// (docs/protocol.md#mfa-verification).
func TestScaleOutMFA(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, flags: generous})
	u := clusterJSON[userJSON](t, c, "users", "create", "--email", "mfa@example.com", "--password", "mfa user password", "--mfa")
	if !u.MFA || u.TOTPSecret == "" {
		t.Fatalf("users create --mfa: got %+v", u)
	}
	user := mfaAccount{userJSON: u, password: "mfa user password"}

	t.Run("hosted pages", func(t *testing.T) {
		before := c.lb.count()
		loc := c.mfaSignIn(t, user, url.Values{"response_type": {"code"}, "client_id": {c.f.conf.ClientID},
			"redirect_uri": {c.f.redirectURI}, "scope": {"read"}, "state": {"xyz"}})
		served := c.lb.servedSince(before)
		if len(served) < 4 {
			t.Errorf("the flow made %d requests (%v), want at least 4 (page, password, code, consent)", len(served), served)
		}
		got := c.exchange(t, c.instances[0], loc.Query().Get("code"))
		wantTokens(t, got, true)
		if in := c.introspectAt(t, c.instances[1], got.AccessToken); !slices.Contains(in.AMR, "otp") || in.Sub != u.ID {
			t.Errorf("introspection %+v: want the MFA user with amr otp", in)
		}
	})

	t.Run("first-party session_token", func(t *testing.T) {
		app := clusterJSON[clientJSON](t, c, "clients", "create", "--name", "Aries app", "--first-party",
			"--redirect-uri", c.f.redirectURI, "--scope", "read trade")
		at := func(i int) *fixture {
			f := *c.f
			f.testServer = c.instances[i]
			return &f
		}
		first := at(0).signInFirstParty(t, app, u.Email, user.password, "read")
		if first.Status != http.StatusForbidden || !first.MFARequired || first.SessionToken == "" {
			t.Fatalf("first-party sign-in at A: got %d %s, want 403 with mfa_required and a session_token", first.Status, first.Body)
		}
		// A wrong code at B counts against the challenge; the right one at
		// C completes it; the code a TOTP step accepted is not accepted
		// again anywhere.
		wrong := at(1).verifyMFA(t, app, first.SessionToken, user.wrongCode(t))
		if wrong.Status != http.StatusBadRequest || wrong.Error != "invalid_mfa_code" {
			t.Errorf("wrong code at B: got %d %s, want 400 invalid_mfa_code", wrong.Status, wrong.Body)
		}
		ok := at(2).verifyMFA(t, app, first.SessionToken, user.code(t, 1))
		if ok.Status != http.StatusOK || ok.AuthorizationCode == "" {
			t.Fatalf("right code at C: got %d %s, want 200 with an authorization_code", ok.Status, ok.Body)
		}
		again := at(0).verifyMFA(t, app, first.SessionToken, user.code(t, 1))
		if again.Status == http.StatusOK {
			t.Errorf("the completed session_token worked again at A: %s", again.Body)
		}
		got := c.instances[1].token(t, url.Values{"grant_type": {"code"}, "client_id": {app.ClientID},
			"client_secret": {app.ClientSecret}, "code": {ok.AuthorizationCode}, "redirect_uri": {c.f.redirectURI}})
		wantTokens(t, got, true)
	})
}

// TestScaleOutSharedLimit: the authentication limit (10 a minute per
// client and source) holds across instances, in Redis: the 11th request
// gets 429 whichever instance it reaches.
func TestScaleOutSharedLimit(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3})
	bad := url.Values{"grant_type": {"code"}, "client_id": {c.f.conf.ClientID},
		"client_secret": {c.f.conf.ClientSecret}, "code": {"not-a-code"}, "redirect_uri": {c.f.redirectURI}}
	for i := range 10 {
		got := c.instances[i%3].token(t, bad)
		wantError(t, got, http.StatusBadRequest, "invalid_grant")
		if got.Header.Get("X-RateLimit-Limit") != "10" {
			t.Errorf("request %d: X-RateLimit-Limit %q, want 10", i+1, got.Header.Get("X-RateLimit-Limit"))
		}
	}
	for i := range 3 {
		got := c.instances[(10+i)%3].token(t, bad)
		wantError(t, got, http.StatusTooManyRequests, "rate_limited")
		if got.Header.Get("Retry-After") == "" {
			t.Errorf("request %d at instance %d: 429 without Retry-After", 11+i, (10+i)%3)
		}
	}
	var limited float64
	for _, inst := range c.instances {
		limited += metric(t, inst, `aries_rate_limited_total{category="authentication"}`)
	}
	if limited != 3 {
		t.Errorf("aries_rate_limited_total{category=\"authentication\"} summed over the instances: got %v, want 3", limited)
	}
}

// load sends refresh requests for several token families, round-robin over
// the instances, until stop is closed; it records every answer.
type load struct {
	c        *cluster
	mu       sync.Mutex
	issued   []string // refresh tokens answered with 200
	statuses map[int]int
	bad      []string // answers that break the rules
	lastGood []string // per family, the newest refresh token it holds
	active   int      // families still refreshing
	changed  chan struct{}
}

func newLoad(c *cluster, families []string) *load {
	return &load{c: c, statuses: map[int]int{}, lastGood: slices.Clone(families), active: len(families),
		changed: make(chan struct{}, 1)}
}

// await waits until cond, read under l.mu, holds.
func (l *load) await(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	await(t, &l.mu, l.changed, within, what, cond)
}

func (l *load) run(t *testing.T, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for fam := range l.lastGood {
		wg.Go(func() {
			defer func() {
				l.mu.Lock()
				l.active--
				l.mu.Unlock()
				poke(l.changed)
			}()
			// A request every 10 ms per family, until stop.
			pace := time.NewTicker(10 * time.Millisecond)
			defer pace.Stop()
			prev := 0
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				inst := l.c.instances[(fam+i)%len(l.c.instances)]
				tok := l.lastGood[fam]
				got := l.c.refresh(t, inst, tok)
				l.mu.Lock()
				l.statuses[got.Status]++
				switch {
				case got.Status == http.StatusOK:
					l.issued = append(l.issued, got.RefreshToken)
					l.lastGood[fam] = got.RefreshToken
				case got.Status == http.StatusServiceUnavailable && got.Header.Get("Retry-After") != "" && got.Error == "server_error":
				case got.Status == http.StatusBadRequest && got.Error == "invalid_grant" && prev == http.StatusServiceUnavailable:
					// After a 503, a rotation may have committed just as
					// the connection was cut: the 503 hid a stored token
					// and this retry is a replay. Safe (nothing unstored
					// was issued), and the family is rightly dead.
					l.mu.Unlock()
					return
				default:
					l.bad = append(l.bad, fmt.Sprintf("%d %s %q (Retry-After %q)", got.Status, got.Error, got.Description, got.Header.Get("Retry-After")))
				}
				l.mu.Unlock()
				poke(l.changed)
				prev = got.Status
				select {
				case <-stop:
					return
				case <-pace.C:
				}
			}
		})
	}
	wg.Wait()
}

// TestScaleOutPostgresOutage cuts PostgreSQL while the instances refresh
// tokens: requests fail with 503 and Retry-After, every token answered with
// 200 is in the database, and the instances recover without a restart.
func TestScaleOutPostgresOutage(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	pg := newProxy(t, hostOf(t, db))
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, dbVia: pg, flags: generous})

	// Six token families, each a signed-in user's refresh chain.
	var families []string
	for range 6 {
		got := c.exchange(t, c.instances[0], c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		families = append(families, got.RefreshToken)
	}

	l := newLoad(c, families)
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		l.run(t, stop)
	}()

	// Every family has refreshed before the cut.
	l.await(t, 10*time.Second, "two refreshes per family before the outage", func() bool {
		return l.statuses[http.StatusOK] >= 2*len(families)
	})
	pg.Cut()
	// While the database is away, every instance says it is not ready.
	deadline := time.Now().Add(5 * time.Second)
	for i, inst := range c.instances {
		for {
			resp, _ := get(t, http.DefaultClient, inst.URL+"/readyz")
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("instance %d: /readyz answers %d during the outage, want 503 with Retry-After", i, resp.StatusCode)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The load meets the outage, then the database comes back and the
	// families still alive are served again.
	l.await(t, 10*time.Second, "503s during the outage", func() bool {
		return l.statuses[http.StatusServiceUnavailable] >= len(families)
	})
	pg.Restore()
	l.mu.Lock()
	servedBefore := l.statuses[http.StatusOK]
	l.mu.Unlock()
	l.await(t, 20*time.Second, "a refresh served after the database came back", func() bool {
		return l.statuses[http.StatusOK] > servedBefore || l.active == 0
	})
	close(stop)
	<-loaded

	for _, b := range l.bad {
		t.Errorf("during the outage: %s; want 200, or 503 server_error with Retry-After", b)
	}
	if l.statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no request failed during the outage (%v): the cut did not take", l.statuses)
	}
	if l.statuses[http.StatusOK] == 0 {
		t.Errorf("no request succeeded (%v)", l.statuses)
	}

	// Nothing was issued that was not stored: every refresh token answered
	// with 200 is in the database.
	hasher := mustMaster(t, c.secret).Hasher()
	conn, err := pgx.Connect(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, tok := range l.issued {
		var one int
		err := conn.QueryRow(t.Context(), `SELECT 1 FROM refresh_tokens WHERE hash = $1`, hasher.Hash(tok)).Scan(&one)
		if err != nil {
			t.Errorf("a refresh token answered with 200 is not in the database: %v", err)
		}
	}
	t.Logf("%d refreshes answered with 200 and verified stored; statuses %v", len(l.issued), l.statuses)

	// Recovered without a restart: ready, and serving from the database.
	for i, inst := range c.instances {
		waitReady(t, inst, 10*time.Second)
		got := inst.token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			c.f.conf.ClientID, c.f.conf.ClientSecret)
		if got.Status != http.StatusOK {
			t.Errorf("instance %d after the outage: client_credentials got %d %s", i, got.Status, got.Error)
		}
	}
	got := c.exchange(t, c.instances[1], c.f.code(t, c.f.conf.ClientID, nil))
	wantTokens(t, got, true)
	wantTokens(t, c.refresh(t, c.instances[2], got.RefreshToken), true)
	// The requests that failed are counted by the instances that failed
	// them. Not necessarily by each: a request waiting on a cut connection
	// may still be waiting, within the store's deadline, when the database
	// comes back, and then succeed.
	var storeErrors float64
	for _, inst := range c.instances {
		storeErrors += metric(t, inst, "aries_store_errors_total")
	}
	if storeErrors <= 0 {
		t.Errorf("aries_store_errors_total after the outage: %v over all instances, want the failed requests counted", storeErrors)
	}
}

// TestScaleOutRedisOutage cuts Redis while the instances serve token
// requests: they go on serving on per-instance limits, say so in their logs
// and metrics, and return to the shared limits when Redis is back.
func TestScaleOutRedisOutage(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	rp := newProxy(t, hostOf(t, redisURL))
	c := newCluster(t, db, redisURL, clusterConfig{instances: 3, redisVia: rp})

	creds := func(i int) tokenResult {
		return c.instances[i%3].token(t, url.Values{"grant_type": {"client_credentials"}, "scope": {"market:information"}},
			c.f.conf.ClientID, c.f.conf.ClientSecret)
	}
	check := func(phase string, i int, got tokenResult) {
		t.Helper()
		switch got.Status {
		case http.StatusOK, http.StatusTooManyRequests:
			if got.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("%s, request %d: %d without X-RateLimit-Limit", phase, i, got.Status)
			}
		default:
			t.Errorf("%s, request %d: got %d %s (%s), want it served (200) or limited (429)", phase, i, got.Status, got.Error, got.Description)
		}
	}
	for i := range 6 {
		check("before the outage", i, creds(i))
	}

	// Background load across the cut: refreshes of two token families,
	// keyed on the user, so they do not touch the budget counted below.
	var bg []string
	for range 2 {
		got := c.exchange(t, c.instances[0], c.f.code(t, c.f.conf.ClientID, nil))
		wantTokens(t, got, true)
		bg = append(bg, got.RefreshToken)
	}
	stop := make(chan struct{})
	var bgWG sync.WaitGroup
	var bgMu sync.Mutex
	bgStatuses := map[int]int{}
	bgChanged := make(chan struct{}, 1)
	for fam := range bg {
		bgWG.Go(func() {
			tok := bg[fam]
			// A request every 20 ms per family, until stop.
			pace := time.NewTicker(20 * time.Millisecond)
			defer pace.Stop()
			for i := 0; i < 1000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got := c.refresh(t, c.instances[i%3], tok)
				check("background load", i, got)
				if got.Status == http.StatusOK {
					tok = got.RefreshToken
				}
				bgMu.Lock()
				bgStatuses[got.Status]++
				bgMu.Unlock()
				poke(bgChanged)
				select {
				case <-stop:
					return
				case <-pace.C:
				}
			}
		})
	}
	defer func() {
		close(stop)
		bgWG.Wait()
		t.Logf("background refreshes across the outage: %v", bgStatuses)
	}()
	await(t, &bgMu, bgChanged, 10*time.Second, "background refreshes before the outage", func() bool {
		return bgStatuses[http.StatusOK] >= 2*len(bg)
	})

	rp.Cut()
	ok := 0
	for i := range 36 {
		got := creds(i)
		check("during the outage", i, got)
		if got.Status == http.StatusOK {
			ok++
		}
	}
	// Only 4 of the shared budget of 10 were left; on local limits each
	// of the three instances allows its own 10, and still no more.
	if ok != 30 {
		t.Errorf("during the outage: %d of 36 requests served, want 30 (10 on each instance's local limits)", ok)
	}
	for i, inst := range c.instances {
		if got := metric(t, inst, "aries_rate_limit_fallback"); got != 1 {
			t.Errorf("instance %d: aries_rate_limit_fallback %v during the outage, want 1", i, got)
		}
		if !strings.Contains(c.stderr[i].String(), "shared rate limiter failed") {
			t.Errorf("instance %d logged no word of the outage:\n%s", i, c.stderr[i])
		}
	}

	rp.Restore()
	// Each instance tries Redis again within its retry interval (5 s).
	deadline := time.Now().Add(15 * time.Second)
	for i, inst := range c.instances {
		for metric(t, inst, "aries_rate_limit_fallback") != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("instance %d still on local limits 15s after Redis came back", i)
			}
			creds(i)
			time.Sleep(250 * time.Millisecond)
		}
	}
	// Shared again: a fresh key is limited across the instances at 10.
	bad := url.Values{"grant_type": {"code"}, "client_id": {c.f.public.ClientID}, "code": {"nope"},
		"redirect_uri": {c.f.redirectURI}, "code_verifier": {strings.Repeat("v", 43)}}
	limited := 0
	for i := range 11 {
		if got := c.instances[i%3].token(t, bad); got.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("after Redis is back: %d of 11 requests across the instances limited, want 1 (the 11th)", limited)
	}
}
