package portal

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ariesexchange/aries/internal/web"
)

// openAPI is the OpenAPI 3.1 document of every public endpoint. It is
// written by hand and checked: internal/server's TestOpenAPIMatchesRoutes
// compares its paths with the routes the server mounts, and this package's
// TestOpenAPIValidates runs a validator this project did not write.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the document served at /openapi.json.
func OpenAPI() []byte { return slices.Clone(openAPI) }

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=300")
	// Browser apps and API tools on other origins read it, like the
	// discovery documents.
	hd.Set("Access-Control-Allow-Origin", "*")
	w.Write(openAPI)
}

// The subset of OpenAPI 3.1 the reference page shows.
type (
	specDoc struct {
		Info struct {
			Title       string `json:"title"`
			Version     string `json:"version"`
			Description string `json:"description"`
		} `json:"info"`
		Tags       []specTag                    `json:"tags"`
		Paths      map[string]map[string]specOp `json:"paths"`
		Components struct {
			Schemas         map[string]specSchema   `json:"schemas"`
			Responses       map[string]specResponse `json:"responses"`
			SecuritySchemes map[string]struct {
				Type        string `json:"type"`
				Scheme      string `json:"scheme"`
				Name        string `json:"name"`
				In          string `json:"in"`
				Description string `json:"description"`
				Flows       map[string]struct {
					Scopes map[string]string `json:"scopes"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	specTag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	specOp struct {
		Tags        []string                `json:"tags"`
		Summary     string                  `json:"summary"`
		Description string                  `json:"description"`
		OperationID string                  `json:"operationId"`
		Parameters  []specParam             `json:"parameters"`
		RequestBody *specBody               `json:"requestBody"`
		Responses   map[string]specResponse `json:"responses"`
		Security    []map[string][]string   `json:"security"`
	}
	specParam struct {
		Name        string     `json:"name"`
		In          string     `json:"in"`
		Required    bool       `json:"required"`
		Description string     `json:"description"`
		Schema      specSchema `json:"schema"`
	}
	specBody struct {
		Content map[string]struct {
			Schema specSchema `json:"schema"`
		} `json:"content"`
	}
	specResponse struct {
		Ref         string `json:"$ref"`
		Description string `json:"description"`
		Content     map[string]struct {
			Schema specSchema `json:"schema"`
		} `json:"content"`
	}
	specSchema struct {
		Ref         string                `json:"$ref"`
		Type        any                   `json:"type"` // a string, or a list in 3.1
		Description string                `json:"description"`
		Enum        []any                 `json:"enum"`
		Const       any                   `json:"const"`
		Items       *specSchema           `json:"items"`
		Properties  map[string]specSchema `json:"properties"`
		Required    []string              `json:"required"`
		OneOf       []specSchema          `json:"oneOf"`
		Format      string                `json:"format"`
	}
)

// APIPage is the data of the API reference.
type APIPage struct {
	Frame
	apiIndex
}

// apiIndex is the document arranged for reading: operations grouped by tag
// in the document's order, then the schemas.
type apiIndex struct {
	Title, Version, Description string
	Groups                      []apiGroup
	Schemas                     []apiSchema
	Security                    []apiSecurity
}

type apiGroup struct {
	Name, Description string
	Ops               []apiOp
}

type apiOp struct {
	ID, Method, Path, Summary, Description string
	Security                               []string
	Params                                 []apiField
	Body                                   []apiContent
	Responses                              []apiResponse
}

type apiField struct {
	Name, In, Type, Description string
	Required                    bool
}

type apiContent struct {
	MediaType, Type string
	Ref             bool // Type names a schema of the document
}

type apiResponse struct {
	Status, Description string
	Body                []apiContent
}

type apiSchema struct {
	Name, Description string
	Fields            []apiField
}

type apiSecurity struct{ Name, Kind, Description string }

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

func parseSpec(raw []byte) (apiIndex, error) {
	var d specDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return apiIndex{}, fmt.Errorf("portal: openapi.json: %w", err)
	}
	ix := apiIndex{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	byTag := map[string]*apiGroup{}
	for _, t := range d.Tags {
		ix.Groups = append(ix.Groups, apiGroup{Name: t.Name, Description: t.Description})
	}
	for i := range ix.Groups {
		byTag[ix.Groups[i].Name] = &ix.Groups[i]
	}
	for _, path := range sortedKeys(d.Paths) {
		for _, m := range methodOrder {
			op, ok := d.Paths[path][m]
			if !ok {
				continue
			}
			if len(op.Tags) == 0 || byTag[op.Tags[0]] == nil {
				return apiIndex{}, fmt.Errorf("portal: openapi.json: %s %s has no declared tag", m, path)
			}
			g := byTag[op.Tags[0]]
			g.Ops = append(g.Ops, viewOp(d, m, path, op))
		}
	}
	for _, name := range sortedKeys(d.Components.Schemas) {
		s := d.Components.Schemas[name]
		ix.Schemas = append(ix.Schemas, apiSchema{Name: name, Description: s.Description, Fields: fields(s)})
	}
	for _, name := range sortedKeys(d.Components.SecuritySchemes) {
		s := d.Components.SecuritySchemes[name]
		kind := s.Type
		switch {
		case s.Scheme != "":
			kind += " " + s.Scheme
		case s.Name != "":
			kind += " (" + s.In + " " + s.Name + ")"
		}
		ix.Security = append(ix.Security, apiSecurity{Name: name, Kind: kind, Description: s.Description})
	}
	return ix, nil
}

func viewOp(d specDoc, method, path string, op specOp) apiOp {
	v := apiOp{ID: op.OperationID, Method: strings.ToUpper(method), Path: path, Summary: op.Summary, Description: op.Description}
	for _, req := range op.Security {
		if len(req) == 0 {
			v.Security = append(v.Security, "none (public clients send client_id)")
		}
		for _, name := range sortedKeys(req) {
			if scopes := req[name]; len(scopes) > 0 {
				v.Security = append(v.Security, name+": "+strings.Join(scopes, " or "))
			} else {
				v.Security = append(v.Security, name)
			}
		}
	}
	for _, p := range op.Parameters {
		v.Params = append(v.Params, apiField{Name: p.Name, In: p.In, Type: typeName(p.Schema), Description: p.Description, Required: p.Required})
	}
	if op.RequestBody != nil {
		for _, mt := range sortedKeys(op.RequestBody.Content) {
			v.Body = append(v.Body, content(mt, op.RequestBody.Content[mt].Schema))
		}
	}
	for _, status := range sortedKeys(op.Responses) {
		r := op.Responses[status]
		if r.Ref != "" {
			r = d.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
		}
		vr := apiResponse{Status: status, Description: r.Description}
		for _, mt := range sortedKeys(r.Content) {
			vr.Body = append(vr.Body, content(mt, r.Content[mt].Schema))
		}
		v.Responses = append(v.Responses, vr)
	}
	return v
}

func content(mediaType string, s specSchema) apiContent {
	return apiContent{MediaType: mediaType, Type: typeName(s), Ref: s.Ref != ""}
}

func fields(s specSchema) []apiField {
	var out []apiField
	for _, name := range sortedKeys(s.Properties) {
		p := s.Properties[name]
		out = append(out, apiField{Name: name, Type: typeName(p), Description: p.Description, Required: slices.Contains(s.Required, name)})
	}
	return out
}

// typeName is a short description of a schema: a component's name, a
// JSON type, "array of X", the allowed values.
func typeName(s specSchema) string {
	switch {
	case s.Ref != "":
		return s.Ref[strings.LastIndex(s.Ref, "/")+1:]
	case s.Items != nil:
		return "array of " + typeName(*s.Items)
	case len(s.OneOf) > 0:
		var parts []string
		for _, o := range s.OneOf {
			parts = append(parts, typeName(o))
		}
		return strings.Join(parts, " or ")
	}
	var t string
	switch v := s.Type.(type) {
	case string:
		t = v
	case []any:
		var parts []string
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		t = strings.Join(parts, " or ")
	default:
		t = "any"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if s.Const != nil {
		t += fmt.Sprintf(" = %v", s.Const)
	}
	if len(s.Enum) > 0 {
		var vals []string
		for _, e := range s.Enum {
			vals = append(vals, fmt.Sprint(e))
		}
		t += ": " + strings.Join(vals, ", ")
	}
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (h *Handler) reference(w http.ResponseWriter, r *http.Request) {
	web.Render(w, http.StatusOK, web.PagePortalAPI, APIPage{Frame: Frame{Section: "api", Issuer: h.Issuer}, apiIndex: h.index})
}
