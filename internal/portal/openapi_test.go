package portal

import (
	"bytes"
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIValidates: a validator this project did not write accepts the
// document (kin-openapi's loader resolves every $ref; Validate checks the
// structure, the security requirements against the schemes, and the
// schemas).
func TestOpenAPIValidates(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI())
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	if n := doc.Paths.Len(); n < 30 {
		t.Errorf("%d paths, want every public endpoint (30 or more)", n)
	}
}

// The validator is not a formality: the same document with a dangling
// reference, or an operation naming an undeclared security scheme, fails.
func TestOpenAPIValidatorRefusesBrokenDocuments(t *testing.T) {
	for name, broken := range map[string][]byte{
		"dangling $ref":           bytes.Replace(OpenAPI(), []byte(`"#/components/schemas/TokenResponse"`), []byte(`"#/components/schemas/NoSuchSchema"`), 1),
		"unknown security scheme": bytes.Replace(OpenAPI(), []byte(`"clientSecretBasic": []`), []byte(`"noSuchScheme": []`), 1),
	} {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(broken, OpenAPI()) {
				t.Fatal("the replacement did not change the document")
			}
			doc, err := openapi3.NewLoader().LoadFromData(broken)
			if err == nil {
				err = doc.Validate(context.Background())
			}
			if err == nil {
				t.Error("the broken document was accepted")
			}
		})
	}
}
