// Package docs carries the Markdown pages of this folder into the binary:
// internal/portal renders them at /docs. The files stay plain Markdown so
// the same text reads on GitHub and in the portal.
package docs

import "embed"

// FS holds every page of docs/ (the *.md files of this folder).
//
//go:embed *.md
var FS embed.FS
