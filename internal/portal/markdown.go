package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Doc is one rendered page of docs/.
type Doc struct {
	Slug  string        // the URL path under /docs/; "" for docs/README.md
	Title string        // the text of the first level-1 heading
	HTML  template.HTML // the body, rendered safely (no raw HTML)
}

// markdown is the one renderer of the portal: CommonMark with GitHub's
// tables, strikethrough and autolinks, heading ids as GitHub makes them,
// links between pages rewritten to portal URLs. It is goldmark's safe mode:
// raw HTML in a page is dropped and dangerous link schemes (javascript:)
// are emptied, so a page cannot put script or markup of its own on the
// portal, whose CSP would refuse it anyway.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(
		parser.WithAutoHeadingID(),
		parser.WithASTTransformers(util.Prioritized(linkRewriter{}, 100)),
	),
)

// Render renders one Markdown page.
func Render(src []byte) (title string, body template.HTML, err error) {
	var buf bytes.Buffer
	ctx := parser.NewContext(parser.WithIDs(&githubIDs{seen: map[string]int{}}))
	doc := markdown.Parser().Parse(text.NewReader(src), parser.WithContext(ctx))
	if err := markdown.Renderer().Render(&buf, src, doc); err != nil {
		return "", "", err
	}
	return firstHeading(doc, src), template.HTML(buf.String()), nil
}

// LoadDocs renders every *.md file at the top of fsys (the docs package's
// FS). README.md is the index, slug "".
func LoadDocs(fsys fs.FS) (map[string]Doc, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, err
	}
	docs := make(map[string]Doc, len(names))
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		title, body, err := Render(src)
		if err != nil {
			return nil, fmt.Errorf("rendering docs/%s: %w", name, err)
		}
		slug := strings.TrimSuffix(name, ".md")
		if name == "README.md" {
			slug = ""
		}
		docs[slug] = Doc{Slug: slug, Title: title, HTML: body}
	}
	return docs, nil
}

func firstHeading(doc ast.Node, src []byte) string {
	var title string
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering && h.Level == 1 {
			title = plainText(h, src)
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return title
}

func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch t := c.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
		case *ast.String:
			b.Write(t.Value)
		case *ast.CodeSpan:
			for k := t.FirstChild(); k != nil; k = k.NextSibling() {
				if s, ok := k.(*ast.Text); ok {
					b.Write(s.Segment.Value(src))
				}
			}
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// DocURL returns the portal URL of a link written in a page of docs/, and
// whether the link has one. Links to other pages ("oidc.md#logout",
// "./scopes.md") become /docs/oidc#logout; "README.md" is /docs; links
// elsewhere on the web and to anchors stay as written. A relative link to a
// file of the repository outside docs/ ("../internal/api/routes.go") has
// no portal URL: the portal does not serve source files.
func DocURL(dest string) (string, bool) {
	u, err := url.Parse(dest)
	if err != nil {
		return "", false
	}
	if u.Scheme != "" || u.Host != "" || strings.HasPrefix(dest, "/") || (u.Path == "" && u.Fragment != "") {
		return dest, true
	}
	p := path.Clean(u.Path)
	if strings.Contains(p, "/") || !strings.HasSuffix(p, ".md") {
		return "", false
	}
	out := "/docs/" + strings.TrimSuffix(p, ".md")
	if p == "README.md" {
		out = "/docs"
	}
	if u.Fragment != "" {
		out += "#" + u.Fragment
	}
	return out, true
}

// linkRewriter points links between pages of docs/ at their portal URLs
// and turns links to the repository's other files into their plain text.
type linkRewriter struct{}

func (linkRewriter) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var unlink []*ast.Link
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		l, ok := n.(*ast.Link)
		if !ok || !entering {
			return ast.WalkContinue, nil
		}
		if dest, ok := DocURL(string(l.Destination)); ok {
			l.Destination = []byte(dest)
		} else {
			unlink = append(unlink, l)
		}
		return ast.WalkContinue, nil
	})
	for _, l := range unlink {
		parent := l.Parent()
		for c := l.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, l, c)
			c = next
		}
		parent.RemoveChild(parent, l)
	}
}

// githubIDs makes heading ids the way GitHub does, so an anchor written
// for GitHub ("rate-limits.md#categories-and-limits") works in the portal:
// lower case, letters, digits, '-' and '_' kept, spaces to '-', everything
// else dropped, and -1, -2 ... appended to repeats.
type githubIDs struct{ seen map[string]int }

func (g *githubIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	var b strings.Builder
	for _, r := range strings.ToLower(string(value)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	id := b.String()
	if id == "" {
		id = "section"
	}
	n := g.seen[id]
	g.seen[id] = n + 1
	if n > 0 {
		id = fmt.Sprintf("%s-%d", id, n)
	}
	return []byte(id)
}

func (g *githubIDs) Put(value []byte) { g.seen[string(value)]++ }
