package server

import (
	"net/http"
	"strings"
)

// route is one pattern New mounted and the package whose handler serves
// it. testdata/routes.golden lists them all.
type route struct {
	Method, Path, Package string
}

// routes is the server's mux and the record of every route mounted on it.
type routes struct {
	mux  *http.ServeMux
	list []route
}

// of returns the mux as package pkg mounts routes on it: each pattern is
// recorded as served by pkg.
func (rs *routes) of(pkg string) mounter { return mounter{rs, pkg} }

type mounter struct {
	rs  *routes
	pkg string
}

// Handle mounts h at pattern ("METHOD /path", or "/path" for any method).
func (m mounter) Handle(pattern string, h http.Handler) {
	m.rs.mux.Handle(pattern, h)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "*", pattern
	}
	m.rs.list = append(m.rs.list, route{Method: method, Path: path, Package: m.pkg})
}

func (m mounter) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}
