package secret

import "testing"

// The token endpoint hashes a presented secret once per request (client
// authentication) and once or twice more per refresh or code (lookup of
// the presented token, hash of the new one): these are its per-request
// costs of package secret.

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(RefreshPrefix)
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	s := New(RefreshPrefix)
	b.ReportAllocs()
	for b.Loop() {
		h.Hash(s)
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	s := New(ClientSecretPrefix)
	stored := h.Hash(s)
	b.ReportAllocs()
	for b.Loop() {
		if !h.Verify(s, stored) {
			b.Fatal("Verify: got false, want true")
		}
	}
}
