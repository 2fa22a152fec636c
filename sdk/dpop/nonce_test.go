package dpop

import (
	"strings"
	"testing"
	"time"
)

// TestRotatingNonces: a nonce is accepted in its period, the next, and
// the one before (clock skew between instances), under its key only; it
// is made of NQCHAR (RFC 9449 section 8.1).
func TestRotatingNonces(t *testing.T) {
	key := []byte(strings.Repeat("n", 32))
	issuedAt := t0.Add(10 * time.Second)
	issued, err := NewRotatingNonces(key, time.Minute, func() time.Time { return issuedAt })
	if err != nil {
		t.Fatal(err)
	}
	nonce := issued.Nonce()
	for _, r := range nonce {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			t.Fatalf("nonce %q has %q, not an NQCHAR", nonce, r)
		}
	}
	tests := []struct {
		at   time.Duration // after t0
		want bool
	}{
		{10 * time.Second, true},
		{59 * time.Second, true},
		{60 * time.Second, true},  // the next period
		{119 * time.Second, true}, // still the next
		{120 * time.Second, false},
		{-1 * time.Second, true}, // the previous period: an instance ahead issued it
		{-61 * time.Second, false},
	}
	for _, tt := range tests {
		at := t0.Add(tt.at)
		n, _ := NewRotatingNonces(key, time.Minute, func() time.Time { return at })
		if got := n.Valid(nonce); got != tt.want {
			t.Errorf("at t0%+v: Valid = %t, want %t", tt.at, got, tt.want)
		}
	}
	other, _ := NewRotatingNonces([]byte(strings.Repeat("o", 32)), time.Minute, func() time.Time { return issuedAt })
	if other.Valid(nonce) || other.Nonce() == nonce {
		t.Error("another key accepts or makes the same nonce")
	}
	for _, bad := range []string{"", "x", nonce + "A", strings.ToUpper(nonce), nonce[:len(nonce)-1]} {
		if issued.Valid(bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
	if _, err := NewRotatingNonces(key[:31], 0, nil); err == nil {
		t.Error("a 31-byte key was accepted")
	}
}
