package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Length limits for new passwords. The upper bound keeps one request from
// feeding megabytes into the KDF.
const (
	MinLength = 8    // characters
	MaxLength = 1024 // bytes
)

var (
	// ErrWeakPassword: the password is shorter than MinLength characters.
	ErrWeakPassword = fmt.Errorf("password: must be at least %d characters", MinLength)
	// ErrLongPassword: the password is longer than MaxLength bytes.
	ErrLongPassword = fmt.Errorf("password: must be at most %d bytes", MaxLength)
	// ErrMalformedHash: a stored string is not an argon2id PHC string this
	// package can check.
	ErrMalformedHash = errors.New("password: malformed argon2id hash")
	// ErrBusy: every hashing slot is taken and the queue is full. The
	// caller answers 503 with Retry-After at once
	// (docs/rate-limits.md#password-hashing-queue).
	ErrBusy = errors.New("password: too many sign-ins at once; try again shortly")
)

// queuePerSlot is how many requests may wait per hashing slot: at about
// 20 ms a hash, a full queue is drained in well under a second, which is
// the longest a real user should wait behind a flood.
const queuePerSlot = 8

// Params are the argon2id cost parameters of new hashes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams is the OWASP recommendation for argon2id: m=19 MiB, t=2, p=1.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests elsewhere in Aries. Never use
// them in a server.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored string, so a corrupt or
// hostile row cannot make one verification allocate gigabytes.
const (
	maxMemory  = 1 << 20 // KiB, 1 GiB
	maxTime    = 64
	maxKeyLen  = 128
	minKeyLen  = 16
	minSaltLen = 8
	maxSaltLen = 64
)

// Hasher hashes and verifies passwords. It is safe for concurrent use; at
// most a fixed number of hashes run at once and a bounded number wait,
// giving up when their context ends. Beyond that, ErrBusy at once: an
// unbounded queue would make every sign-in wait behind a flood.
type Hasher struct {
	params  Params
	sem     chan struct{}
	waiting atomic.Int64
	queue   int64  // most requests that may wait for a slot
	dummy   string // a hash no password matches, for VerifyNone
}

// NewHasher returns a Hasher that makes new hashes with p and lets
// GOMAXPROCS hashes run at once: argon2id with p=1 keeps one core busy, so
// more at once adds no throughput, only 19 MiB of memory each.
func NewHasher(p Params) *Hasher {
	return NewHasherLimit(p, runtime.GOMAXPROCS(0))
}

// NewHasherLimit is NewHasher with an explicit cap on concurrent hashes.
func NewHasherLimit(p Params, concurrent int) *Hasher {
	if concurrent < 1 {
		concurrent = 1
	}
	// All-zero salt and key: VerifyNone does the full work of a real
	// verification with the same parameters and compares against a key that
	// argon2id will not produce.
	dummy := encode(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
	return &Hasher{params: p, sem: make(chan struct{}, concurrent), queue: int64(queuePerSlot * concurrent), dummy: dummy}
}

// Hash checks the length rules and returns the PHC string of pw with a fresh
// salt: $argon2id$v=19$m=19456,t=2,p=1$salt$key (unpadded standard base64).
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if utf8.RuneCountInString(pw) < MinLength {
		return "", ErrWeakPassword
	}
	if len(pw) > MaxLength {
		return "", ErrLongPassword
	}
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, pw, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether pw matches encoded, using the parameters written in
// encoded. The keys are compared in constant time. An error means the
// context ended or encoded is malformed; a wrong password is (false, nil).
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxLength {
		// No such password can have been hashed; skip the work rather than
		// let a huge body reach the KDF.
		return false, nil
	}
	got, err := h.derive(ctx, pw, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyNone does the work of Verify against a hash no password matches. Call
// it when the account does not exist, so the response takes as long as a
// wrong password for a real account and timing does not reveal which emails
// are registered.
func (h *Hasher) VerifyNone(ctx context.Context, pw string) error {
	_, err := h.Verify(ctx, pw, h.dummy)
	return err
}

// derive runs argon2id once a slot of the semaphore is free, or answers
// ErrBusy when the queue for one is full.
func (h *Hasher) derive(ctx context.Context, pw string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.sem <- struct{}{}:
	default:
		if h.waiting.Add(1) > h.queue {
			h.waiting.Add(-1)
			return nil, ErrBusy
		}
		select {
		case h.sem <- struct{}{}:
			h.waiting.Add(-1)
		case <-ctx.Done():
			h.waiting.Add(-1)
			return nil, ctx.Err()
		}
	}
	defer func() { <-h.sem }()
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

var b64 = base64.RawStdEncoding

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func decode(s string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, ErrMalformedHash
	}
	memory, time, threads, ok := parseCost(parts[3])
	if !ok {
		return p, nil, nil, ErrMalformedHash
	}
	p.Memory, p.Time = memory, time
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	if threads < 1 || threads > 255 || p.Time < 1 || p.Time > maxTime ||
		p.Memory < 8*threads || p.Memory > maxMemory ||
		len(salt) < minSaltLen || len(salt) > maxSaltLen ||
		len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, ErrMalformedHash
	}
	p.Threads = uint8(threads)
	p.SaltLen = uint32(len(salt))
	p.KeyLen = uint32(len(key))
	return p, salt, key, nil
}

// parseCost parses "m=19456,t=2,p=1", in that order, decimal only.
func parseCost(s string) (memory, time, threads uint32, ok bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(parts[i], name)
		if !found || digits == "" || (len(digits) > 1 && digits[0] == '0') {
			return 0, 0, 0, false
		}
		v, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return 0, 0, 0, false
		}
		vals[i] = uint32(v)
	}
	return vals[0], vals[1], vals[2], true
}
