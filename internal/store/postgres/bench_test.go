package postgres

import (
	"testing"

	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/store/storetest"
)

// The hot-path benchmarks of storetest, on PostgreSQL. They need
// ARIES_TEST_POSTGRES_URL (see pgtest) and skip without it.

func benchStore(b *testing.B) *Store { return open(b, pgtest.Schema(b, pgtest.Database(b))) }

func BenchmarkRedeemAuthCode(b *testing.B) { storetest.BenchRedeemAuthCode(b, benchStore(b)) }

func BenchmarkRotateRefreshToken(b *testing.B) { storetest.BenchRotateRefreshToken(b, benchStore(b)) }

func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	storetest.BenchRotateRefreshTokenParallel(b, benchStore(b))
}

func BenchmarkRotateRefreshTokenGrace(b *testing.B) {
	storetest.BenchRotateRefreshTokenGrace(b, benchStore(b))
}

func BenchmarkRefreshTokenGraceHit(b *testing.B) {
	storetest.BenchRefreshTokenGraceHit(b, benchStore(b))
}

func BenchmarkRefreshTokenNone(b *testing.B) { storetest.BenchRefreshTokenNone(b, benchStore(b)) }
