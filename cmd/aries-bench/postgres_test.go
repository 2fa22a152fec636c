package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
)

// TestPostgresSmoke runs every case briefly on PostgreSQL: fresh databases
// per tier, Aries on one, the floor on the other, PostgreSQL's CPU
// measured. It checks that every case ran against both servers on
// PostgreSQL, that every request was answered correctly, and that the
// databases are gone afterwards; it asserts nothing about speed.
func TestPostgresSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	server := pgtest.ServerURL(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "results.json")
	var out, errOut bytes.Buffer
	status := run(context.Background(), []string{
		"-store", "postgres", "-postgres-url", server,
		"-stored", "200,1000", "-concurrency", "4", "-duration", "1s", "-requests", "60",
		"-rounds", "1", "-warmup", "0", "-codes", "20", "-open-load", "0.5",
		"-dir", dir, "-json", results,
	}, &out, &errOut)
	if status != 0 {
		t.Fatalf("aries-bench: status %d\n%s", status, errOut.String())
	}
	t.Log(errOut.String())
	measurements := readResults(t, results)
	ran := map[string]bool{}
	for _, m := range measurements {
		if m.Store != "postgres" {
			t.Errorf("%s %s: store %q, want postgres", m.Server, m.Case, m.Store)
		}
		if m.Skipped != "" {
			t.Logf("%s skipped: %s", m.Case, m.Skipped)
			continue
		}
		ran[m.Server+" "+m.Case+" "+m.Loop+" "+fmtInt(m.Stored)] = true
		if m.OK == 0 || len(m.Errors) > 0 {
			t.Errorf("%s %s %s (stored %d): got %d answered and errors %v, want some and none",
				m.Server, m.Case, m.Loop, m.Stored, m.OK, m.Errors)
		}
	}
	for _, want := range []string{
		"aries client_credentials closed 200", "floor client_credentials closed 200",
		"aries client_credentials open 200", "floor client_credentials open 200",
		"aries refresh_token closed 200", "floor refresh_token closed 200",
		"aries refresh_token closed 1000", "floor refresh_token closed 1000",
		"aries code_exchange closed 200", "floor code_exchange closed 200",
		"aries api_users_me closed 200", "floor api_users_me closed 200",
		"aries introspection closed 200", "floor introspection closed 200",
		"aries client_credentials_dpop closed 200", "aries refresh_token_dpop closed 200", "aries api_users_me_dpop closed 200",
	} {
		if !ran[want] {
			t.Errorf("no measurement of %s", want)
		}
	}
	if !strings.Contains(out.String(), "PG CPU/req") || !strings.Contains(out.String(), "targets on postgres") {
		t.Errorf("the report has no PostgreSQL table:\n%s", out.String())
	}

	// Every database the run created is dropped.
	names := regexp.MustCompile(`PostgreSQL databases (\w+) \(Aries\) and (\w+) \(floor\)`).FindAllStringSubmatch(errOut.String(), -1)
	if len(names) != 2 {
		t.Fatalf("got %d tiers' databases in the log, want 2", len(names))
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, n := range names {
		for _, db := range n[1:] {
			var left bool
			if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, db).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left {
				t.Errorf("database %s is still there after the run", db)
			}
		}
	}
}

// TestPostgresCPU checks that pgCPU counts the work of the backends of its
// database and not that of another database's.
func TestPostgresCPU(t *testing.T) {
	ctx := context.Background()
	server := pgtest.ServerURL(t)
	connect := func(dsn string) *pgx.Conn {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	measured, other := connect(pgtest.Database(t)), connect(pgtest.Database(t))
	// About half a second of one core, far above the 10 ms tick of
	// /proc/PID/stat.
	const work = `SELECT count(*) FROM generate_series(1, 5000000)`
	c, err := newPGCPU(ctx, server, measured.Config().Database)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close(ctx)
	before := c.snapshot(ctx)
	if before == nil {
		t.Skip("PostgreSQL's processes are not on this machine")
	}
	if _, err := measured.Exec(ctx, work); err != nil {
		t.Fatal(err)
	}
	own, ok := c.since(ctx, before)
	if !ok || own < 100*time.Millisecond {
		t.Fatalf("CPU of a query in the measured database: got %v (%v), want at least 100ms", own, ok)
	}

	before = c.snapshot(ctx)
	if _, err := other.Exec(ctx, work); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.since(ctx, before); got > own/4 {
		t.Errorf("CPU of the same query in another database: got %v counted, want (almost) none of its %v", got, own)
	}
}
