//go:build !unix

package clientcache

// FileSignal, where flock(2) and shared mappings are missing, never lets a
// row be cached: every read goes to the store.
type FileSignal struct{}

// OpenFile returns a signal that caches nothing.
func OpenFile(path string) (*FileSignal, error) { return &FileSignal{}, nil }

// Close does nothing.
func (s *FileSignal) Close() error { return nil }

// Epoch implements Signal: never trusted.
func (s *FileSignal) Epoch() (uint64, bool) { return 0, false }

// Fill implements Signal: never cache.
func (s *FileSignal) Fill() (uint64, func(), bool) { return 0, nil, false }

// Change does nothing: no process caches.
func (s *FileSignal) Change() (func(), error) { return func() {}, nil }
