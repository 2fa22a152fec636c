package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHashVerify(t *testing.T) {
	h := NewHasher(TestParams)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"correct horse battery ", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := h.Verify(ctx, tt.pw, enc)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tt.pw, err)
		}
		if got != tt.want {
			t.Errorf("Verify(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
}

func TestHashFormat(t *testing.T) {
	h := NewHasher(DefaultParams)
	enc, err := h.Hash(context.Background(), "password1")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// 16-byte salt and 32-byte key in unpadded standard base64.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Errorf("Hash = %q, want the PHC form %s", enc, re)
	}
	enc2, _ := h.Hash(context.Background(), "password1")
	if enc == enc2 {
		t.Errorf("two hashes of one password are equal (%q); want a fresh salt each time", enc)
	}
}

// A hash made with other parameters (say, before they were raised) must still
// verify: Verify reads them from the string.
func TestVerifyUsesStoredParams(t *testing.T) {
	old := NewHasher(Params{Memory: 128, Time: 3, Threads: 2, SaltLen: 12, KeyLen: 24})
	enc, err := old.Hash(context.Background(), "password1")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	ok, err := NewHasher(TestParams).Verify(context.Background(), "password1", enc)
	if err != nil || !ok {
		t.Errorf("Verify with other params = %v, %v; want true, nil", ok, err)
	}
}

func TestHashLengthRules(t *testing.T) {
	h := NewHasher(TestParams)
	tests := []struct {
		pw   string
		want error
	}{
		{"", ErrWeakPassword},
		{"1234567", ErrWeakPassword},
		{"12345678", nil},
		{"ééééééé", ErrWeakPassword}, // 7 characters, 14 bytes
		{"éééééééé", nil},
		{strings.Repeat("a", MaxLength), nil},
		{strings.Repeat("a", MaxLength+1), ErrLongPassword},
	}
	for _, tt := range tests {
		_, err := h.Hash(context.Background(), tt.pw)
		if !errors.Is(err, tt.want) {
			t.Errorf("Hash(%d bytes) error = %v, want %v", len(tt.pw), err, tt.want)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	h := NewHasher(TestParams)
	good, _ := h.Hash(context.Background(), "password1")
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	tests := []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key, // would allocate 4 TiB
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$c2hvcnQ",
	}
	for _, enc := range tests {
		ok, err := h.Verify(context.Background(), "password1", enc)
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformedHash", enc, ok, err)
		}
	}
}

func TestVerifyNone(t *testing.T) {
	h := NewHasher(TestParams)
	for _, pw := range []string{"", "password1", strings.Repeat("x", 100)} {
		if err := h.VerifyNone(context.Background(), pw); err != nil {
			t.Errorf("VerifyNone(%q) = %v, want nil", pw, err)
		}
	}
	// The dummy must not match any password, in particular not "".
	if ok, _ := h.Verify(context.Background(), "", h.dummy); ok {
		t.Errorf("the dummy hash matches the empty password")
	}
}

// With every slot busy, a caller whose context ends gives up instead of
// waiting: a flood of sign-ins cannot queue unbounded KDF work.
func TestConcurrencyCap(t *testing.T) {
	h := NewHasherLimit(TestParams, 1)
	h.sem <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "password1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash with every slot busy = %v, want context.DeadlineExceeded", err)
	}
	if _, err := h.Verify(ctx, "password1", h.dummy); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify with every slot busy = %v, want context.DeadlineExceeded", err)
	}
	<-h.sem

	// Released slots are reused: many concurrent callers all finish.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "password1"); err != nil {
				t.Errorf("Hash: %v", err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams)
	for b.Loop() {
		h.Hash(context.Background(), "correct horse battery")
	}
}

// With every slot taken and the queue full, a request is refused at once
// instead of waiting behind the flood; when a slot frees, waiters proceed.
func TestQueueBound(t *testing.T) {
	h := NewHasherLimit(TestParams, 1)
	h.sem <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan error, h.queue)
	for range h.queue {
		go func() { _, err := h.Verify(ctx, "password1", h.dummy); results <- err }()
	}
	for h.waiting.Load() < h.queue {
		runtime.Gosched() // until every waiter is queued
	}
	if _, err := h.Verify(context.Background(), "password1", h.dummy); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with the queue full = %v, want %v", err, ErrBusy)
	}
	if err := h.VerifyNone(context.Background(), "password1"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyNone with the queue full = %v, want %v", err, ErrBusy)
	}
	<-h.sem // free the slot: the queue drains
	for range h.queue {
		if err := <-results; err != nil {
			t.Errorf("queued Verify: %v", err)
		}
	}
	if n := h.waiting.Load(); n != 0 {
		t.Errorf("%d waiters counted after the queue drained, want 0", n)
	}
}
