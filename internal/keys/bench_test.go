package keys

import (
	"context"
	"testing"
	"time"
)

// benchPayload is the size and shape of a client_credentials access token's
// claims set.
var benchPayload = []byte(`{"iss":"https://aries.example","sub":"aries_ci_1","aud":"https://api.aries.example","exp":1793535300,"iat":1793534400,"jti":"q2vN3l0xKk3y1b8e2W0cfA","client_id":"aries_ci_1","scope":"market:information"}`)

func BenchmarkSign(b *testing.B) {
	benchmarkSignAs(b, Algorithm, TokenType)
}

func BenchmarkSignIDTokenRS256(b *testing.B) {
	benchmarkSignAs(b, RS256, IDTokenType)
}

func benchmarkSignAs(b *testing.B, alg, typ string) {
	kr, err := Open(context.Background(), newStore(b), newKEK(), time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.SignAs(alg, typ, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}
