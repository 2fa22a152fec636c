//go:build unix

package clientcache

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// FileSignal is the Signal of the processes sharing one SQLite database: they
// are on one machine, so they share a small file beside it. The file holds the
// epoch, mapped into every process's memory so that a cache hit costs one
// atomic load; flock(2) on it orders changes against fills: a change holds
// the lock exclusively from before it bumps the epoch until its write is
// committed (or failed), a fill holds it shared while it reads. A fill
// therefore either ends before a change bumps the epoch (and its row is filed
// under an epoch that is then stale) or starts after the change committed.
// The kernel drops the lock of a process that dies, so a crash never leaves
// it held.
type FileSignal struct {
	path  string
	mem   []byte
	epoch *atomic.Uint64 // the first 8 bytes of mem
}

// OpenFile opens (creating) the signal file at path.
func OpenFile(path string) (*FileSignal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("clientcache: %w", err)
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_EX); err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("clientcache: %w", err)
	}
	if info.Size() < 8 {
		if err := f.Truncate(8); err != nil {
			return nil, fmt.Errorf("clientcache: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	// The mapping keeps the open file alive after Close, and the lock with
	// it: release the lock explicitly.
	if uerr := flock(f, syscall.LOCK_UN); err == nil && uerr != nil {
		syscall.Munmap(mem)
		return nil, uerr
	}
	if err != nil {
		return nil, fmt.Errorf("clientcache: map %s: %w", path, err)
	}
	// A mapping starts on a page boundary, so the word is aligned for
	// atomic access; every process sees the same physical page.
	return &FileSignal{path: path, mem: mem, epoch: (*atomic.Uint64)(unsafe.Pointer(&mem[0]))}, nil
}

// Close unmaps the file.
func (s *FileSignal) Close() error {
	return syscall.Munmap(s.mem)
}

// Epoch implements Signal.
func (s *FileSignal) Epoch() (uint64, bool) { return s.epoch.Load(), true }

// Fill implements Signal: the row may be cached when no change holds the
// lock.
func (s *FileSignal) Fill() (uint64, func(), bool) {
	f, err := os.Open(s.path)
	if err != nil {
		return 0, nil, false
	}
	if err := flock(f, syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		return 0, nil, false
	}
	return s.epoch.Load(), func() { f.Close() }, true
}

// Change is called before a change to any client is written; done, after
// it committed or failed. In between, no process caches a row.
func (s *FileSignal) Change() (done func(), err error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("clientcache: %w", err)
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	s.epoch.Add(1)
	return func() { f.Close() }, nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			if err != nil {
				return fmt.Errorf("clientcache: lock %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}
