package main

import (
	"testing"

	"github.com/ariesexchange/aries/internal/lockout"
)

// TestScaleOutSecondFactorLock: the second-factor lock of the security
// review's finding 1 is counted in the shared database, so alternating
// between two instances buys no extra guesses, and once locked the factor
// is locked at both.
func TestScaleOutSecondFactorLock(t *testing.T) {
	db, redisURL := scaleOutServers(t)
	c := newCluster(t, db, redisURL, clusterConfig{instances: 2, flags: generous})
	u := clusterJSON[userJSON](t, c, "users", "create", "--email", "target@example.com", "--password", "mfa user password", "--mfa")
	acct := mfaAccount{userJSON: u, password: "mfa user password"}
	at := func(i int) *fixture {
		f := *c.f
		f.testServer = c.instances[i%2]
		return &f
	}
	checked := secondFactorCycles(t, at, acct, 20)
	if checked > lockout.SecondFactorLimit {
		t.Errorf("%d wrong codes were checked across two instances, want at most %d", checked, lockout.SecondFactorLimit)
	}
	for i := range 2 {
		wantSecondFactorLocked(t, at(i), acct)
	}
}
