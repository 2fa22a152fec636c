package dpop

import (
	"context"
	"crypto"
	"fmt"
	"testing"
	"time"
)

// BenchmarkVerify is the cost of checking one proof for a protected
// resource request, per algorithm: parsing, the signature, the thumbprint
// and ath. The replay cache is left out (nopCache); BenchmarkReplayCache
// measures the in-memory one.
func BenchmarkVerify(b *testing.B) {
	testKeys(b)
	for _, k := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", ecKey}, {"EdDSA", edKey}, {"PS256", rsaKey}, {"RS256", rsaKey}} {
		b.Run(k.alg, func(b *testing.B) {
			s, err := NewSigner(k.key, k.alg)
			if err != nil {
				b.Fatal(err)
			}
			s.Now = func() time.Time { return t0 }
			v, _ := NewVerifier(Config{Now: func() time.Time { return t0 }, Replay: nopCache{}})
			proof, _ := s.Proof("GET", apiURL, token, "")
			req := Request{Proofs: []string{proof}, Method: "GET", URL: apiURL, AccessToken: token, BoundKey: s.JKT()}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSign is the client's cost of one proof.
func BenchmarkSign(b *testing.B) {
	testKeys(b)
	s, _ := NewSigner(ecKey, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Proof("GET", apiURL, token, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplayCache(b *testing.B) {
	c := NewMemoryReplayCache(0)
	exp := time.Now().Add(time.Minute)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		c.Use(context.Background(), fmt.Sprint(i), exp)
	}
}

type nopCache struct{}

func (nopCache) Use(context.Context, string, time.Time) (bool, error) { return true, nil }
