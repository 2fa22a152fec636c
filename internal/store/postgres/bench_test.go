package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ariesexchange/aries/internal/store"
	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/store/storetest"
)

// The hot-path benchmarks of storetest, on PostgreSQL. They need
// ARIES_TEST_POSTGRES_URL (see pgtest) and skip without it.
//
// Besides Go's figures each reports pg-µs/op: the CPU time PostgreSQL's
// backends for the benchmark's database spent per operation, read from
// /proc as cmd/aries-bench/postgres.go does (0 when the server runs on
// another machine). The server's background processes (WAL writer,
// checkpointer) are left out: they serve every database on the server,
// and other work on a shared test server would count in them.

func benchPG(b *testing.B, run func(*testing.B, store.Store)) {
	dsn := pgtest.Schema(b, pgtest.Database(b))
	s := open(b, dsn)
	warm(b, s)
	cpu := newBackendCPU(b, dsn)
	before := cpu.snapshot(b)
	// b.Loop starts the clock again by itself, RunParallel does not.
	b.ResetTimer()
	run(b, s)
	if spent, ok := cpu.since(b, before); ok && b.N > 0 {
		b.ReportMetric(float64(spent.Microseconds())/float64(b.N), "pg-µs/op")
	}
}

// warm opens every connection of the pool before the measurement, so that
// starting backends is not counted as work per operation.
func warm(b *testing.B, s *Store) {
	b.Helper()
	conns := make([]*pgxpool.Conn, 0, s.pool.Config().MaxConns)
	for range cap(conns) {
		c, err := s.pool.Acquire(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		c.Release()
	}
}

func BenchmarkRedeemAuthCode(b *testing.B) { benchPG(b, storetest.BenchRedeemAuthCode) }

func BenchmarkRotateRefreshToken(b *testing.B) { benchPG(b, storetest.BenchRotateRefreshToken) }

func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	benchPG(b, storetest.BenchRotateRefreshTokenParallel)
}

func BenchmarkRotateRefreshTokenGrace(b *testing.B) {
	benchPG(b, storetest.BenchRotateRefreshTokenGrace)
}

func BenchmarkRefreshTokenGraceHit(b *testing.B) { benchPG(b, storetest.BenchRefreshTokenGraceHit) }

func BenchmarkRefreshTokenNone(b *testing.B) { benchPG(b, storetest.BenchRefreshTokenNone) }

// backendCPU sums the CPU time of the backends connected to one database,
// through a connection of its own that it does not count.
type backendCPU struct {
	conn *pgx.Conn
}

func newBackendCPU(b *testing.B, dsn string) *backendCPU {
	b.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	return &backendCPU{conn: conn}
}

// snapshot returns the CPU time of each backend of the database by pid, nil
// when /proc does not show them.
func (c *backendCPU) snapshot(b *testing.B) map[int32]time.Duration {
	b.Helper()
	rows, err := c.conn.Query(context.Background(),
		`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	out := map[int32]time.Duration{}
	for _, pid := range pids {
		// Another pid namespace may give the pid to another process.
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		if t, ok := procCPU(fmt.Sprintf("/proc/%d/stat", pid)); ok {
			out[pid] = t
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// since returns the CPU time spent since before by the backends of now: a
// backend started since counts whole, one that exited is lost (the pool
// keeps its connections for the whole benchmark).
func (c *backendCPU) since(b *testing.B, before map[int32]time.Duration) (time.Duration, bool) {
	now := c.snapshot(b)
	if before == nil || now == nil {
		return 0, false
	}
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d, true
}

// procCPU reads utime + stime from /proc/PID/stat (proc(5)), in clock ticks
// of 10 ms.
func procCPU(path string) (time.Duration, bool) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw)[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
