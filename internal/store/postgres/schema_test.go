package postgres

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/store/postgres/pgtest"
	"github.com/ariesexchange/aries/internal/store/sqlite"
)

// schema is what a migration set built: each table's columns and the names
// of its indexes (besides primary keys, which each dialect names its own
// way). Types are left out: each dialect spells them its own way.
type schema map[string]tableShape

type tableShape struct {
	Columns []string
	Indexes []string
}

// TestMigrationsAgree: the SQLite and PostgreSQL migration sets, written
// separately, build the same tables, columns and indexes, so a column added
// to one dialect and forgotten in the other fails here, not in production.
func TestMigrationsAgree(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "aries.db")
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	lite.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := sqliteSchema(t, db)

	pg := open(t, pgtest.Database(t))
	want := postgresSchema(t, pg)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the migration sets differ (-postgres +sqlite):\n%s", d)
	}
	if len(want) < 10 {
		t.Errorf("found only %d tables in PostgreSQL: %v", len(want), want)
	}
}

func sqliteSchema(t *testing.T, db *sql.DB) schema {
	t.Helper()
	out := schema{}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name != 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		var shape tableShape
		cols, err := db.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var c string
			cols.Scan(&c)
			shape.Columns = append(shape.Columns, c)
		}
		cols.Close()
		idx, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?
			AND name NOT LIKE 'sqlite_autoindex_%'`, table)
		if err != nil {
			t.Fatal(err)
		}
		for idx.Next() {
			var i string
			idx.Scan(&i)
			shape.Indexes = append(shape.Indexes, i)
		}
		idx.Close()
		out[table] = normalise(shape)
	}
	return out
}

func postgresSchema(t *testing.T, s *Store) schema {
	t.Helper()
	ctx := context.Background()
	out := schema{}
	rows, err := s.pool.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name != 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, col string
		rows.Scan(&table, &col)
		shape := out[table]
		shape.Columns = append(shape.Columns, col)
		out[table] = shape
	}
	rows.Close()
	idx, err := s.pool.Query(ctx, `SELECT tablename, indexname FROM pg_indexes
		WHERE schemaname = current_schema() AND indexname NOT LIKE '%_pkey' AND tablename != 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	for idx.Next() {
		var table, name string
		idx.Scan(&table, &name)
		shape := out[table]
		shape.Indexes = append(shape.Indexes, name)
		out[table] = shape
	}
	idx.Close()
	for table, shape := range out {
		out[table] = normalise(shape)
	}
	return out
}

// normalise sorts names and drops unique-constraint indexes PostgreSQL makes
// for UNIQUE columns (named TABLE_COLUMN_key), which SQLite keeps anonymous.
func normalise(s tableShape) tableShape {
	s.Indexes = slices.DeleteFunc(s.Indexes, func(name string) bool { return strings.HasSuffix(name, "_key") })
	slices.Sort(s.Columns)
	slices.Sort(s.Indexes)
	if len(s.Indexes) == 0 {
		s.Indexes = nil
	}
	return s
}
