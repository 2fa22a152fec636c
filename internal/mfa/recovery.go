package mfa

import (
	"crypto/rand"
	"strings"
)

// RecoveryCodes is how many recovery codes an enrollment gets.
const RecoveryCodes = 10

// recoveryLen is the number of base32 characters of a recovery code: 50
// random bits. Guessing is bounded by the challenge's attempts, and the
// stored form is a keyed hash, so a database dump does not help either.
const recoveryLen = 10

// recoveryDomain separates the hashes of recovery codes from those of other
// secrets under the same pepper.
const recoveryDomain = "aries_rc_"

// newRecoveryCodes returns RecoveryCodes fresh codes, shown as "abcde-fghij".
func newRecoveryCodes() []string {
	codes := make([]string, RecoveryCodes)
	for i := range codes {
		c := strings.ToLower(rand.Text()[:recoveryLen])
		codes[i] = c[:5] + "-" + c[5:]
	}
	return codes
}

// normalizeRecovery accepts a code as shown or typed loosely: any case,
// with or without the hyphen and spaces. ok is false when it cannot be one.
func normalizeRecovery(code string) (string, bool) {
	code = strings.ToLower(code)
	code = strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code))
	if len(code) != recoveryLen {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !('a' <= code[i] && code[i] <= 'z' || '2' <= code[i] && code[i] <= '7') {
			return "", false
		}
	}
	return code, true
}

func (s *Service) hashRecovery(normalized string) string {
	return s.hasher.Hash(recoveryDomain + normalized)
}
