// Package storetest is the conformance suite of package store: the behaviour
// every store.Store backend must show, written once as tests.
//
// A backend's test file is a few lines:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := Open(...)   // a fresh, empty store
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite assumes nothing about the database behind the interface: every
// time it passes is explicit (the interface takes "now"), it never sleeps,
// and its concurrency tests only count outcomes. Times it stores carry
// millisecond precision, the precision every backend must keep.
package storetest
