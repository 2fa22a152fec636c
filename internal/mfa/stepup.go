package mfa

import (
	"slices"
	"time"
)

// StepUp makes chosen scopes (say order:execution and funds:withdrawal)
// require a second factor: a user without MFA cannot get them at all, and a
// browser session gets them only while its last second factor is recent.
// The zero StepUp requires nothing.
type StepUp struct {
	Scopes []string      // canonical scope names
	MaxAge time.Duration // how long a session's second factor stays fresh
}

// Required returns those of scopes that need a second factor, nil if none.
func (p StepUp) Required(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if slices.Contains(p.Scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// Fresh reports whether a second factor passed at otpTime still counts at
// now. A session that never passed one (otpTime zero) is never fresh.
func (p StepUp) Fresh(otpTime, now time.Time) bool {
	return !otpTime.IsZero() && now.Sub(otpTime) <= p.MaxAge
}
