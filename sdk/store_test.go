package aries_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ariesexchange/aries/sdk"
)

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "config", "aries", "token.json")
	s := aries.NewFileStore(path)

	got, err := s.Load(ctx)
	if got != nil || err != nil {
		t.Fatalf("empty store: got %v, %v; want nil, nil", got, err)
	}
	tok := &aries.Token{AccessToken: "at", TokenType: "Bearer", RefreshToken: "rt1", Scope: "read",
		Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), ExpiresIn: 900}
	if err := s.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err = aries.NewFileStore(path).Load(ctx)
	if err != nil || !reflect.DeepEqual(got, tok) {
		t.Errorf("another store on the file loads %+v, %v; want %+v", got, err, tok)
	}

	// A file left readable by others is replaced by one that is not.
	os.Chmod(path, 0o644)
	tok.RefreshToken = "rt2"
	if err := s.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %v, want 0600", mode)
	}
	if got, _ := s.Load(ctx); got.RefreshToken != "rt2" {
		t.Errorf("refresh token %q, want rt2", got.RefreshToken)
	}
	// The temporary files of the atomic writes are gone.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only token.json", names)
	}
}

func TestFileStoreRejectsACorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := aries.NewFileStore(path).Load(context.Background()); err == nil {
		t.Error("got no error for a corrupt token file")
	}
}

func TestMemoryStoreKeepsACopy(t *testing.T) {
	ctx := context.Background()
	var s aries.MemoryStore
	tok := &aries.Token{RefreshToken: "rt1"}
	s.Save(ctx, tok)
	tok.RefreshToken = "changed"
	if got, _ := s.Load(ctx); got.RefreshToken != "rt1" {
		t.Errorf("got %q, want rt1: the store must not alias the caller's token", got.RefreshToken)
	}
}

// failingStore refuses to save.
type failingStore struct{ aries.MemoryStore }

func (*failingStore) Save(context.Context, *aries.Token) error { return os.ErrPermission }

func TestStoreFailureIsReported(t *testing.T) {
	f := newFakeAries(t)
	cfg := config(f)
	cfg.Store = &failingStore{}
	c, _ := aries.NewClientFromRefreshToken(cfg, f.issueRefresh())
	if _, err := c.Token(context.Background()); err == nil {
		t.Error("got no error, want the failure to save the rotated refresh token")
	}
	// The new token is kept in memory: the next call works.
	if _, err := c.Token(context.Background()); err != nil {
		t.Errorf("second call: %v", err)
	}
}
