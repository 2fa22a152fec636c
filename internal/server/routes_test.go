package server

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRoutesGolden: testdata/routes.golden lists every route New mounts
// (the demo's included), with the package that serves it, so the whole
// surface reads in one place and a change to it shows in review. Refresh
// it with go test ./internal/server -run TestRoutesGolden -update.
func TestRoutesGolden(t *testing.T) {
	e := testenv.New(t, testenv.NoUser())
	cfg := DefaultConfig()
	cfg.Issuer = testenv.Issuer
	cfg.Demo = true
	cfg.Now = e.Clock.Now
	master, _ := secret.NewMaster()
	s, err := New(context.Background(), cfg, e.Store, e.Store, master, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	list := slices.Clone(s.routes.list)
	slices.SortFunc(list, func(a, b route) int {
		return cmp3(a.Path, b.Path, a.Method, b.Method)
	})
	var buf bytes.Buffer
	buf.WriteString("# Every route server.New mounts: method (* for any), path pattern, the package\n")
	buf.WriteString("# that serves it. GET /demo/callback only with serve --demo.\n")
	buf.WriteString("# Written by go test ./internal/server -run TestRoutesGolden -update\n")
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Method, r.Path, r.Package)
	}
	tw.Flush()

	golden := filepath.Join("testdata", "routes.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("the mounted routes differ from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}

	// The record is what the mux serves: each pattern is mounted once, and
	// a request matching it reaches it.
	seen := map[route]bool{}
	for _, r := range s.routes.list {
		if seen[r] {
			t.Errorf("%s %s is mounted twice", r.Method, r.Path)
		}
		seen[r] = true
		method := r.Method
		if method == "*" {
			// Any method: one that no pattern names, since GET / is the
			// portal's landing page (GET /{$}).
			method = http.MethodTrace
		}
		path := strings.ReplaceAll(strings.ReplaceAll(r.Path, "{id}", "x"), "{$}", "")
		if strings.HasSuffix(path, "/") && path != "/" {
			path += "x"
		}
		pattern := r.Path
		if r.Method != "*" {
			pattern = r.Method + " " + r.Path
		}
		if _, got := s.routes.mux.Handler(httptest.NewRequest(method, path, nil)); got != pattern {
			t.Errorf("%s %s reaches pattern %q, want %q", method, path, got, pattern)
		}
	}
}

// cmp3 orders by path, then by method.
func cmp3(pathA, pathB, methodA, methodB string) int {
	if c := strings.Compare(pathA, pathB); c != 0 {
		return c
	}
	return strings.Compare(methodA, methodB)
}
