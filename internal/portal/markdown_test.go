package portal

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/docs"
)

func TestDocURL(t *testing.T) {
	for _, tc := range []struct {
		dest, want string
		ok         bool
	}{
		{"oidc.md", "/docs/oidc", true},
		{"./scopes.md#routes-by-scope", "/docs/scopes#routes-by-scope", true},
		{"README.md", "/docs", true},
		{"#errors", "#errors", true},
		{"https://www.rfc-editor.org/rfc/rfc6749", "https://www.rfc-editor.org/rfc/rfc6749", true},
		{"/docs/api", "/docs/api", true},
		{"../README.md", "", false},
		{"../internal/api/routes.go", "", false},
		{"flows/../../README.md", "", false}, // climbs out of docs/ through a subfolder
		{"picture.png", "", false},
	} {
		got, ok := DocURL(tc.dest)
		if got != tc.want || ok != tc.ok {
			t.Errorf("DocURL(%q) = %q, %v; want %q, %v", tc.dest, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRenderRewritesLinksBetweenPages(t *testing.T) {
	_, html, err := Render([]byte("# T\n\nSee [scopes](scopes.md#the-bundles), [the index](README.md), " +
		"[the route table](../internal/api/routes.go) and [RFC 6749](https://www.rfc-editor.org/rfc/rfc6749).\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<a href="/docs/scopes#the-bundles">scopes</a>`,
		`<a href="/docs">the index</a>`,
		`<a href="https://www.rfc-editor.org/rfc/rfc6749">RFC 6749</a>`,
		`, the route table and <a`, // no portal URL: the text stays, the link goes
	} {
		if !strings.Contains(string(html), want) {
			t.Errorf("rendered page lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(string(html), "routes.go") {
		t.Errorf("a link to a source file survived:\n%s", html)
	}
}

func TestRenderDropsRawHTML(t *testing.T) {
	src := "# T\n\n<script>alert(1)</script>\n\nText <img src=x onerror=alert(2)> and <b>bold</b>.\n\n" +
		"[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=)\n"
	_, html, err := Render([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "onerror", "<b>", "javascript:", "data:text/html"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("rendered page contains %q:\n%s", bad, html)
		}
	}
}

func TestRenderTablesAndGitHubHeadingIDs(t *testing.T) {
	title, html, err := Render([]byte("# The `token` endpoint\n\n## Categories and limits\n\n## The API and `sdk/bearer`\n\n" +
		"## Categories and limits\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"))
	if err != nil {
		t.Fatal(err)
	}
	if title != "The token endpoint" {
		t.Errorf("title = %q, want %q", title, "The token endpoint")
	}
	for _, want := range []string{`id="categories-and-limits"`, `id="the-api-and-sdkbearer"`, `id="categories-and-limits-1"`, "<table>", "<td>2</td>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("rendered page lacks %s:\n%s", want, html)
		}
	}
}

// TestDocsLinksResolve: every link from one page of docs/ to another lands
// on a page the portal serves, and its #anchor on a heading of that page,
// so the same links work on GitHub and in the portal.
func TestDocsLinksResolve(t *testing.T) {
	pages, err := LoadDocs(docs.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"", "quickstart", "troubleshooting", "scopes", "rate-limits", "oidc", "dpop",
		"authorization-code", "pkce", "refresh", "client-credentials", "first-party", "sdk-go", "sdk-python"} {
		if _, ok := pages[want]; !ok {
			t.Errorf("docs/%s.md is missing", want)
		}
	}
	ids := map[string]map[string]bool{}
	idRE := regexp.MustCompile(`<h[1-6] id="([^"]+)"`)
	for slug, p := range pages {
		ids[slug] = map[string]bool{}
		for _, m := range idRE.FindAllStringSubmatch(string(p.HTML), -1) {
			ids[slug][m[1]] = true
		}
	}
	hrefRE := regexp.MustCompile(`href="(/docs[^"]*)"`)
	for slug, p := range pages {
		for _, m := range hrefRE.FindAllStringSubmatch(string(p.HTML), -1) {
			target, anchor, _ := strings.Cut(m[1], "#")
			if target == "/docs/api" || target == "/docs/try" {
				continue
			}
			to := strings.TrimPrefix(strings.TrimPrefix(target, "/docs"), "/")
			if _, ok := pages[to]; !ok {
				t.Errorf("docs/%s.md links to %s: no such page", name(slug), m[1])
				continue
			}
			if anchor != "" && !ids[to][anchor] {
				t.Errorf("docs/%s.md links to %s: docs/%s.md has no heading #%s", name(slug), m[1], name(to), anchor)
			}
		}
	}
	// Every page has a title for the table of contents.
	fs.WalkDir(docs.FS, ".", func(path string, d fs.DirEntry, err error) error {
		slug := strings.TrimSuffix(path, ".md")
		if path == "README.md" {
			slug = ""
		}
		if p, ok := pages[slug]; ok && p.Title == "" {
			t.Errorf("docs/%s has no level-1 heading", path)
		}
		return nil
	})
}

func name(slug string) string {
	if slug == "" {
		return "README"
	}
	return slug
}
