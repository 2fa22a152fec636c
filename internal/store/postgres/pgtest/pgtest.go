// Package pgtest owns the throwaway PostgreSQL databases of Aries' tests:
// each test that needs PostgreSQL gets a database (or a schema) of its own,
// created on the server ARIES_TEST_POSTGRES_URL names and dropped when the
// test ends, so tests neither see each other's rows nor leave any behind.
//
// Without ARIES_TEST_POSTGRES_URL a test is skipped with a message saying
// how to run it, except when CI is set: CI must run the PostgreSQL tests,
// so there a missing or unreachable server fails the test.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the URL of a PostgreSQL server (as a
// user allowed to create databases), e.g.
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvURL = "ARIES_TEST_POSTGRES_URL"

// ServerURL returns the server URL of EnvURL, or skips (fails in CI) the
// test when it is unset or the server does not answer.
func ServerURL(t testing.TB) string {
	t.Helper()
	raw := os.Getenv(EnvURL)
	if raw == "" {
		unavailable(t, EnvURL+" is not set; set it to e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		unavailable(t, fmt.Sprintf("PostgreSQL at %s does not answer: %v", redact(raw), err))
	}
	conn.Close(ctx)
	return raw
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run the PostgreSQL tests: %s", why)
	}
	t.Skipf("skipped: %s", why)
}

// Database creates an empty database and returns its URL; it is dropped,
// connections and all, when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	name := "aries_test_" + strings.ToLower(rand.Text()[:12])
	exec(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		// FORCE ends the connections a failed test left open.
		exec(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Schema creates an empty schema in the database of dbURL and returns a URL
// whose connections use it (search_path), dropped when the test ends.
// Creating a schema is much cheaper than creating a database, for suites
// that want a fresh store per subtest.
func Schema(t testing.TB, dbURL string) string {
	t.Helper()
	name := "s_" + strings.ToLower(rand.Text()[:12])
	exec(t, dbURL, "CREATE SCHEMA "+name)
	t.Cleanup(func() { exec(t, dbURL, "DROP SCHEMA IF EXISTS "+name+" CASCADE") })
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to %s: %v", redact(dsn), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured server"
	}
	return u.Redacted()
}
