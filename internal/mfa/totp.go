package mfa

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The TOTP parameters every authenticator app understands (RFC 6238 section
// 4 defaults; the otpauth URI states them anyway).
const (
	Period     = 30 * time.Second
	Digits     = 6
	secretSize = 20 // bytes: the 160 bits RFC 4226 section 4 recommends
	// skew is how many steps either side of now a code may be from, for
	// clocks that drift (RFC 6238 section 5.2).
	skew = 1
)

// Label is the issuer name authenticator apps show next to the account.
const Label = "Aries"

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrollment is a TOTP secret as the user needs it to set up an app.
type Enrollment struct {
	Secret string // base32, for typing in by hand
	URI    string // otpauth://totp/... (the Key URI Format of authenticator apps)
	key    *otp.Key
}

// newEnrollment builds the enrollment of a base32 secret for account.
func newEnrollment(account, secret string) (Enrollment, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return Enrollment{}, fmt.Errorf("mfa: corrupt totp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      Label,
		AccountName: account,
		Period:      uint(Period / time.Second),
		Secret:      raw,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrollment{}, fmt.Errorf("mfa: totp key: %w", err)
	}
	return Enrollment{Secret: key.Secret(), URI: key.URL(), key: key}, nil
}

// newSecret returns a fresh random secret, base32 without padding.
func newSecret() (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: Label, AccountName: "x", SecretSize: secretSize})
	if err != nil {
		return "", fmt.Errorf("mfa: new totp secret: %w", err)
	}
	return key.Secret(), nil
}

// QRCode renders the URI as a size×size PNG, on the server, for the
// enrollment page to show as a data: URL: no third-party service ever sees
// the secret.
func (e Enrollment) QRCode(size int) ([]byte, error) {
	img, err := e.key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("mfa: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: qr code: %w", err)
	}
	return buf.Bytes(), nil
}

// Step returns the TOTP time step of t (RFC 6238 section 4.2: T0 = 0).
func Step(t time.Time) int64 {
	s := t.Unix()
	p := int64(Period / time.Second)
	if s < 0 {
		return (s - p + 1) / p
	}
	return s / p
}

// normalizeCode strips the spaces people type ("123 456") and reports
// whether what is left is six digits.
func normalizeCode(code string) (string, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != Digits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// matchStep returns the step within skew of now whose code is code. Every
// candidate is computed and compared in constant time, so timing does not
// tell how close a guess was.
func matchStep(secret, code string, now time.Time) (int64, bool, error) {
	code, ok := normalizeCode(code)
	if !ok {
		return 0, false, nil
	}
	current := Step(now)
	var found int64
	var matched bool
	for s := current - skew; s <= current+skew; s++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotp.ValidateOpts{
			Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, false, fmt.Errorf("mfa: totp code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !matched {
			found, matched = s, true
		}
	}
	return found, matched, nil
}
