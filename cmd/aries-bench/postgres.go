package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ariesexchange/aries/internal/store/postgres"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

// The PostgreSQL mode (-store postgres): each tier gets two fresh
// databases on the server -postgres-url names, one for Aries and one for
// the floor, so neither sees the other's rows and the CPU of each server's
// backends can be told apart; both are dropped when the tier ends, unless
// -keep.

// postgresURLEnv, when set, is the default of -postgres-url.
const postgresURLEnv = "ARIES_BENCH_POSTGRES_URL"

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchDatabases are the databases of one tier.
type benchDatabases struct {
	server    string // URL of the server, for CREATE and DROP DATABASE
	aries     string // URL of Aries's database
	floor     string // URL of the floor's
	ariesName string
	floorName string
}

// createBenchDatabases creates aries_bench_<random> and its _floor twin.
func createBenchDatabases(ctx context.Context, serverURL string) (*benchDatabases, error) {
	d, err := benchDatabasesNamed(serverURL, "aries_bench_"+strings.ToLower(rand.Text()[:12]))
	if err != nil {
		return nil, err
	}
	for _, db := range []string{d.ariesName, d.floorName} {
		if err := execOn(ctx, serverURL, "CREATE DATABASE "+db); err != nil {
			d.drop(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return d, nil
}

// benchDatabasesNamed are the databases name and name_floor on the server
// of serverURL.
func benchDatabasesNamed(serverURL, name string) (*benchDatabases, error) {
	d := &benchDatabases{server: serverURL, ariesName: name, floorName: name + "_floor"}
	var err error
	if d.aries, err = databaseURL(serverURL, d.ariesName); err != nil {
		return nil, err
	}
	if d.floor, err = databaseURL(serverURL, d.floorName); err != nil {
		return nil, err
	}
	return d, nil
}

// drop drops both databases, ending the connections still open to them.
func (d *benchDatabases) drop(ctx context.Context) error {
	var errs []error
	for _, db := range []string{d.ariesName, d.floorName} {
		errs = append(errs, execOn(ctx, d.server, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"))
	}
	return errors.Join(errs...)
}

// execOn runs one statement on a connection of its own.
func execOn(ctx context.Context, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// seedAriesPostgres stores the families in Aries's PostgreSQL database
// through its store (postgres.Store.ImportGrants), as seedAries does on
// SQLite.
func seedAriesPostgres(ctx context.Context, dsn, grantPrefix, clientID, userID string, scopes []string, fams iter.Seq[[]seedRow], now time.Time) error {
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	families := func(yield func(postgres.Family) bool) {
		for f := range ariesFamilies(grantPrefix, clientID, userID, scopes, fams, now) {
			if !yield(postgres.Family(f)) {
				return
			}
		}
	}
	if err := st.ImportGrants(ctx, families); err != nil {
		return fmt.Errorf("seeding refresh tokens: %w", err)
	}
	return nil
}

// The conversion above needs the two stores' families to stay alike.
var _ = postgres.Family(sqlite.Family{})

// pgCPU measures the CPU time PostgreSQL spends for one database: its
// backends (the connections to it, autovacuum workers in it) and the
// server's background processes, which belong to no database (WAL writer,
// checkpointer, background writer: part of the cost of each commit). It
// reads /proc/PID/stat of the processes pg_stat_activity lists, so it works
// only when the server runs on this machine; elsewhere it measures nothing
// and the report says so. The background processes work for every
// database, so on a server that other clients use as well the figure
// overstates: measure on a quiet server.
type pgCPU struct {
	conn *pgx.Conn // to the server's own database, not the measured one
	db   string
}

func newPGCPU(ctx context.Context, serverURL, db string) (*pgCPU, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return &pgCPU{conn: conn, db: db}, nil
}

// snapshot returns the CPU time of each process working for the database
// now, by pid; nil when none could be read (a server on another machine).
func (p *pgCPU) snapshot(ctx context.Context) map[int]time.Duration {
	rows, err := p.conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 OR datname IS NULL`, p.db)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := map[int]time.Duration{}
	for _, pid := range pids {
		// A pid of another pid namespace or machine may name some other
		// process here: count only PostgreSQL's.
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || !strings.HasPrefix(string(comm), "postgres") {
			continue
		}
		out[int(pid)] = cpuTimeOf(fmt.Sprintf("/proc/%d/stat", pid))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// since returns the CPU time spent since before (a snapshot): by the
// processes of both, their difference; by processes started since, all of
// theirs. A backend that exited in between is not counted: Aries's and the
// floor's connection pools keep theirs for the whole run.
func (p *pgCPU) since(ctx context.Context, before map[int]time.Duration) (time.Duration, bool) {
	if before == nil {
		return 0, false
	}
	now := p.snapshot(ctx)
	if now == nil {
		return 0, false
	}
	var d time.Duration
	for pid, t := range now {
		d += t - before[pid]
	}
	return d, true
}

func (p *pgCPU) close(ctx context.Context) {
	p.conn.Close(ctx)
}
