package keys

import (
	"context"
	"testing"
	"time"
)

// TestPublicKeyReloadsOnUnknownKid: two keyrings on one store, as two
// instances. When one signs with a key the other has not loaded yet (a
// rotation it has not picked up), the other still verifies the token: an
// unknown kid makes it re-read the store, but at most once a second.
func TestPublicKeyReloadsOnUnknownKid(t *testing.T) {
	ctx := context.Background()
	st, kek := newStore(t), newKEK()
	a, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, st, kek, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := Rotate(ctx, st, kek, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.ActiveKeyID(); got != k.ID {
		t.Fatalf("a signs with %s after Reload, want the rotated key %s", got, k.ID)
	}
	if _, ok := b.PublicKey(k.ID); !ok {
		t.Fatalf("b does not know the key a signs with (%s) after looking it up", k.ID)
	}

	// Made-up kids do not make every lookup a store read.
	before := b.missReload.Load()
	for range 100 {
		if _, ok := b.PublicKey("made-up"); ok {
			t.Fatal("a made-up kid was found")
		}
	}
	if after := b.missReload.Load(); after != before {
		t.Errorf("lookups of unknown kids within a second reloaded again")
	}
}
