// Package portal owns the developer portal: the landing page at /, the
// documentation of docs/ rendered at /docs, the OpenAPI 3.1 document of
// every public endpoint at /openapi.json and its reference at /docs/api,
// and the interactive token page at /docs/try.
//
// Pages are server-rendered with the templates of package web, behind
// web.Secure (CSP without scripts, no framing, cross-origin POSTs refused).
// The docs are the Markdown files of the repository's docs/ folder, embedded
// by package docs and rendered once at start by goldmark in safe mode, so
// the same text reads on GitHub and here. The OpenAPI document is
// openapi.json beside this file; internal/server's tests check it against
// the routes the server mounts.
//
// The token page lets a signed-in developer send each request shape of the
// token endpoint (code exchange, refresh, client credentials) and of
// revocation (RFC 7009) and introspection (RFC 7662) for one of their own
// apps. It sends them through the server's own handler with the
// developer's source address, so rate limits count them as any other
// request, and it never shows or keeps a client secret: the developer types
// it into each request, and the curl line shown masks it.
//
// Routes mounted by Register:
//
//	GET  /{$}             the landing page
//	GET  /docs            docs/README.md, the index
//	GET  /docs/{page}     docs/{page}.md
//	GET  /docs/api        the API reference, rendered from /openapi.json
//	GET  /docs/try        the interactive token page (signed in)
//	POST /docs/try        send one token request
//	GET  /openapi.json    the OpenAPI 3.1 document
package portal
