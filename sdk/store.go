package aries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// TokenStore keeps a client's token between calls and between runs. The
// client hands every token it obtains to Save, in particular every rotated
// refresh token: Aries spends a refresh token when it is used, so a token
// that is not saved cannot be used again after a restart.
//
// The client calls Load and Save one at a time; implementations need no
// locking for the client's sake, only for other users of the same store.
type TokenStore interface {
	// Load returns the stored token, or nil and no error when there is none.
	Load(ctx context.Context) (*Token, error)
	// Save replaces the stored token. It must be durable when it returns.
	Save(ctx context.Context, tok *Token) error
}

// MemoryStore is a TokenStore in memory, for tests and for programs that
// keep the token in a database of their own (read it from Load after a
// call). The zero value is empty and ready to use.
type MemoryStore struct {
	mu  sync.Mutex
	tok *Token
}

func (s *MemoryStore) Load(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, nil
	}
	t := *s.tok
	return &t, nil
}

func (s *MemoryStore) Save(_ context.Context, tok *Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := *tok
	s.tok = &t
	return nil
}

// FileStore is a TokenStore in a JSON file readable only by its owner
// (mode 0600). Save replaces the file atomically: it writes a temporary
// file in the same directory, syncs it and renames it over the old one, so
// a crash leaves either the old token or the new one, never half of either.
type FileStore struct {
	path string
	mu   sync.Mutex
}

// NewFileStore returns a store in the file at path. The file and its
// directory are created at the first Save.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

func (s *FileStore) Load(context.Context) (*Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tok Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("token file %s: %w", s.path, err)
	}
	return &tok, nil
}

func (s *FileStore) Save(_ context.Context, tok *Token) error {
	b, err := json.MarshalIndent(tok, "", "  ")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// os.CreateTemp creates the file with mode 0600.
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	// Make the rename itself durable. Some systems cannot sync a
	// directory; the rename is then as durable as they make it.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
