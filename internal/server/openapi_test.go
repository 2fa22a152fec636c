package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/ariesexchange/aries/internal/portal"
	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/internal/testenv"
)

// notInOpenAPI are the routes /openapi.json deliberately leaves out: what a
// browser reaches as pages rather than what an app calls. Every other
// mounted route must be documented, and every documented one mounted.
var notInOpenAPI = map[string]string{
	"* /":                            "the JSON 404 for every unknown path",
	"GET /{$}":                       "the portal's landing page (HTML)",
	"GET /docs":                      "portal documentation (HTML)",
	"GET /docs/{page}":               "portal documentation (HTML)",
	"GET /docs/api":                  "this document rendered as HTML",
	"GET /docs/try":                  "the interactive token page (HTML)",
	"POST /docs/try":                 "the interactive token page's form",
	"GET /assets/":                   "stylesheet, icon and script of the HTML pages",
	"GET /demo/callback":             "only with serve --demo: the demo clients' landing page",
	"POST /oauth2/authorize":         "the consent form of the hosted pages (GET /oauth2/authorize is the endpoint)",
	"GET /login":                     "hosted sign-in page",
	"POST /login":                    "hosted sign-in form",
	"GET /login/mfa":                 "hosted two-step verification page",
	"POST /login/mfa":                "hosted two-step verification form",
	"POST /logout":                   "the account pages' sign-out form",
	"POST /oauth2/logout":            "the sign-out button of the RP-initiated logout page (GET /oauth2/logout is the endpoint)",
	"GET /account/security":          "account page (HTML)",
	"POST /account/security":         "account page form",
	"GET /account/apps":              "account page (HTML)",
	"POST /account/apps/{id}/revoke": "account page form",
	"GET /clients":                   "Client Center (HTML)",
	"POST /clients":                  "Client Center form",
	"GET /clients/new":               "Client Center (HTML)",
	"GET /clients/{id}":              "Client Center (HTML)",
	"POST /clients/{id}":             "Client Center form",
	"GET /clients/{id}/delete":       "Client Center (HTML)",
	"POST /clients/{id}/delete":      "Client Center form",
	"POST /clients/{id}/disable":     "Client Center form",
	"POST /clients/{id}/enable":      "Client Center form",
	"POST /clients/{id}/secret":      "Client Center form",
}

// TestOpenAPIMatchesRoutes: /openapi.json documents every public route the
// server mounts, and nothing it does not. CORS preflights (OPTIONS) are
// the browser's, answered for the documented POST and GET routes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
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

	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(portal.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}

	mounted := map[string]bool{}
	for _, r := range s.routes.list {
		key := r.Method + " " + r.Path
		mounted[key] = true
		if r.Method == "OPTIONS" {
			continue
		}
		if _, skip := notInOpenAPI[key]; skip {
			if documented[key] {
				t.Errorf("%s is documented in openapi.json and also listed in notInOpenAPI: drop one", key)
			}
			continue
		}
		if !documented[key] {
			t.Errorf("%s is mounted (package %s) but missing from internal/portal/openapi.json", key, r.Package)
		}
	}
	var extra []string
	for key := range documented {
		if !mounted[key] {
			extra = append(extra, key)
		}
	}
	slices.Sort(extra)
	for _, key := range extra {
		t.Errorf("openapi.json documents %s, which the server does not mount", key)
	}
	for key := range notInOpenAPI {
		if !mounted[key] {
			t.Errorf("notInOpenAPI lists %s, which the server does not mount: drop it", key)
		}
	}
}
