package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes bounds every protocol request body.
const MaxBodyBytes = 64 << 10

// MaxIdentifierLen bounds the identifiers a request names (client ids,
// emails, codes, tokens): far above any Aries issues or RFC 5321 allows,
// far below what would cost a store anything.
const MaxIdentifierLen = 512

// ValidIdentifier reports whether s can name something Aries stores: at most
// MaxIdentifierLen bytes of valid UTF-8 without control characters. Anything
// else is refused with the endpoint's own 4xx before it reaches a store,
// where PostgreSQL would reject a NUL byte or invalid UTF-8 with an error
// that reads as an outage
// (docs/security.md#identifiers-are-checked-before-the-store).
func ValidIdentifier(s string) bool {
	if len(s) > MaxIdentifierLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Params holds the parameters of a protocol request, each given at most
// once. Empty values are dropped: RFC 6749 section 3.1 treats a parameter
// sent without a value as omitted.
type Params map[string]string

// ParseBody reads the parameters of a POST to a protocol endpoint. It accepts
// application/x-www-form-urlencoded (RFC 6749 appendix B) and application/json
// with the same field names and string values. Anything malformed is an
// invalid_request: a parameter given twice (RFC 6749 section 3.2), invalid
// UTF-8, a NUL byte (no parameter of OAuth can hold one, and PostgreSQL text
// cannot store one), an unknown content type, JSON that is not one flat
// object. A body over MaxBodyBytes is refused with 413.
func ParseBody(w http.ResponseWriter, r *http.Request) (Params, *Error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != "application/x-www-form-urlencoded" && mediaType != "application/json") {
		return nil, Errorf(InvalidRequest, "Content-Type must be application/x-www-form-urlencoded or application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &Error{Code: InvalidRequest, Description: "request body is larger than 64 KiB", Status: http.StatusRequestEntityTooLarge}
		}
		return nil, Errorf(InvalidRequest, "could not read the request body")
	}
	if !utf8.Valid(body) {
		return nil, Errorf(InvalidRequest, "request body is not valid UTF-8")
	}
	var p Params
	var oerr *Error
	if mediaType == "application/json" {
		p, oerr = parseJSON(body)
	} else {
		p, oerr = parseForm(string(body))
	}
	if oerr != nil {
		return nil, oerr
	}
	for k, v := range p {
		if strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			return nil, Errorf(InvalidRequest, "parameter %q contains a NUL byte", strings.ReplaceAll(k, "\x00", ""))
		}
	}
	return p, nil
}

func parseForm(body string) (Params, *Error) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, Errorf(InvalidRequest, "malformed form body")
	}
	p := make(Params, len(values))
	for k, vs := range values {
		if len(vs) > 1 {
			return nil, Errorf(InvalidRequest, "parameter %q is given more than once", k)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
			return nil, Errorf(InvalidRequest, "parameter %q is not valid UTF-8", k)
		}
		if vs[0] != "" {
			p[k] = vs[0]
		}
	}
	return p, nil
}

// parseJSON reads one flat object of string values. encoding/json would
// silently keep the last of two equal keys, so the object is walked token by
// token to refuse duplicates.
func parseJSON(body []byte) (Params, *Error) {
	malformed := Errorf(InvalidRequest, "request body must be one JSON object with string values")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, malformed
	}
	p := Params{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed
		}
		key := tok.(string) // object keys are always strings
		tok, err = dec.Token()
		if err != nil {
			return nil, malformed
		}
		value, ok := tok.(string)
		if !ok {
			if tok == nil { // null is "not given"
				value = ""
			} else {
				return nil, Errorf(InvalidRequest, "parameter %q must be a string", key)
			}
		}
		if seen[key] {
			return nil, Errorf(InvalidRequest, "parameter %q is given more than once", key)
		}
		seen[key] = true
		if value != "" {
			p[key] = value
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed
	}
	return p, nil
}

// Require returns the named parameter or an invalid_request naming it.
func (p Params) Require(name string) (string, *Error) {
	v, ok := p[name]
	if !ok {
		return "", Errorf(InvalidRequest, "%s is required", name)
	}
	return v, nil
}

// String renders the parameter names (never values: they hold secrets).
func (p Params) String() string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	return fmt.Sprint(names)
}
