package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func parse(contentType, body string) (Params, *Error) {
	r := httptest.NewRequest(http.MethodPost, "/v1/oauth2/token", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return ParseBody(httptest.NewRecorder(), r)
}

func TestParseBodyAcceptsFormAndJSON(t *testing.T) {
	want := Params{"grant_type": "code", "code": "abc", "redirect_uri": "https://app.example/cb"}
	tests := []struct {
		name, contentType, body string
	}{
		{"form", "application/x-www-form-urlencoded", "grant_type=code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "grant_type=code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"},
		{"form empty value dropped", "application/x-www-form-urlencoded", "grant_type=code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope="},
		{"json", "application/json", `{"grant_type":"code","code":"abc","redirect_uri":"https://app.example/cb"}`},
		{"json null dropped", "application/json", `{"grant_type":"code","code":"abc","redirect_uri":"https://app.example/cb","scope":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.contentType, tt.body)
			if err != nil {
				t.Fatalf("ParseBody: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBodyRefusesMalformedInput(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
	}{
		{"no content type", "", "grant_type=code", 400},
		{"text/plain", "text/plain", "grant_type=code", 400},
		{"multipart", "multipart/form-data; boundary=x", "--x--", 400},
		{"form duplicate", "application/x-www-form-urlencoded", "code=a&code=b", 400},
		{"form duplicate empty", "application/x-www-form-urlencoded", "code=a&code=", 400},
		{"form bad escape", "application/x-www-form-urlencoded", "code=%zz", 400},
		{"form invalid utf-8 escaped", "application/x-www-form-urlencoded", "code=%ff%fe", 400},
		{"raw invalid utf-8", "application/x-www-form-urlencoded", "code=\xff", 400},
		{"json duplicate", "application/json", `{"code":"a","code":"b"}`, 400},
		{"json array", "application/json", `["code"]`, 400},
		{"json number", "application/json", `{"code":1}`, 400},
		{"json nested", "application/json", `{"code":{"a":"b"}}`, 400},
		{"json truncated", "application/json", `{"code":"a"`, 400},
		{"json trailing", "application/json", `{"code":"a"} {}`, 400},
		{"json invalid utf-8", "application/json", "{\"code\":\"\xff\"}", 400},
		{"too large", "application/x-www-form-urlencoded", "code=" + strings.Repeat("a", MaxBodyBytes), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.contentType, tt.body)
			if err == nil {
				t.Fatalf("ParseBody accepted it: %v", got)
			}
			if err.Code != InvalidRequest || err.Status != tt.status {
				t.Errorf("got %s %d, want invalid_request %d", err.Code, err.Status, tt.status)
			}
		})
	}
}

// FuzzParseBody checks that no body makes the parser panic and that what it
// accepts holds only non-empty, valid UTF-8 values, given once.
func FuzzParseBody(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "grant_type=code&code=abc&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier=x"},
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=aries_rt_x&client_id=c&client_secret=s"},
		{"application/x-www-form-urlencoded", "a=1&a=2"},
		{"application/x-www-form-urlencoded", "a=%zz;b"},
		{"application/json", `{"grant_type":"client_credentials","scope":"read"}`},
		{"application/json", `{"a":"1","a":"2"}`},
		{"application/json", `{"a":null,"b":[1]}`},
		{"application/json; charset=utf-8", `{"a":"\u00e9"}`},
		// The identifiers of the security review: NUL, invalid UTF-8, 64 KiB.
		{"application/x-www-form-urlencoded", "client_id=a%00b&email=x%40example.com"},
		{"application/x-www-form-urlencoded", "client_id=%ff%fe"},
		{"application/json", `{"client_id":"a\u0000b"}`},
		{"application/json", "{\"client_id\":\"\xff\"}"},
		{"application/x-www-form-urlencoded", "client_id=" + strings.Repeat("a", MaxBodyBytes-10)},
	} {
		f.Add(seed.ct, seed.body)
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		p, err := parse(ct, body)
		if err != nil {
			if err.Code != InvalidRequest {
				t.Fatalf("error code %q, want invalid_request", err.Code)
			}
			return
		}
		for k, v := range p {
			if v == "" {
				t.Fatalf("empty value kept for %q", k)
			}
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 accepted in %q=%q", k, v)
			}
			if strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
				t.Fatalf("NUL byte accepted in %q=%q", k, v)
			}
		}
	})
}
