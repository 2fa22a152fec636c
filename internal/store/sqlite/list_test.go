package sqlite

import (
	"encoding/json"
	"slices"
	"testing"
)

// jsonList is fromList as it was before simpleList: encoding/json alone.
func jsonList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// checkList fails t unless fromList(in) returns what jsonList does: the same
// strings, nil for the same inputs, and an error for the same inputs.
func checkList(t *testing.T, in string) {
	t.Helper()
	got, err := fromList(in)
	want, wantErr := jsonList(in)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("fromList(%q) error %v, encoding/json error %v", in, err, wantErr)
	}
	if !slices.Equal(got, want) || (got == nil) != (want == nil) {
		t.Fatalf("fromList(%q) = %#v, encoding/json gives %#v", in, got, want)
	}
}

func TestFromList(t *testing.T) {
	for _, tc := range []struct {
		in     string
		simple bool // simpleList decodes it without encoding/json
	}{
		{`[]`, true},
		{`["openid"]`, true},
		{`["openid","profile","trade:read"]`, true},
		{`["https://app.example.com/cb?a=1,2","http://127.0.0.1:8080/"]`, true},
		{`[""]`, true},
		{`["",""]`, true},
		{`["é","日本"]`, true},
		{"[\"\u2028\"]", true},
		{`null`, false},
		{``, false},
		{`[`, false},
		{`]`, false},
		{`[ ]`, false},
		{` []`, false},
		{`[] `, false},
		{`["a", "b"]`, false},
		{`["a",]`, false},
		{`[,"a"]`, false},
		{`["a""b"]`, false},
		{`["a"`, false},
		{`["a]`, false},
		{`["]`, false},
		{`"a"`, false},
		{`["a\"b"]`, false},
		{`["a\\b"]`, false},
		{`["\u00e9"]`, false},
		{`["a\/b"]`, false},
		{"[\"a\tb\"]", false},
		{"[\"a\x00\"]", false},
		{"[\"\xff\"]", false},
		{"[\"\xed\xa0\x80\"]", false}, // a UTF-16 surrogate, invalid in UTF-8
		{`[1]`, false},
		{`[null]`, false},
		{`["a",null]`, false},
		{`[["a"]]`, false},
		{`{}`, false},
		{`["a"]x`, false},
	} {
		if _, ok := simpleList(tc.in); ok != tc.simple {
			t.Errorf("simpleList(%q) ok = %v, want %v", tc.in, ok, tc.simple)
		}
		checkList(t, tc.in)
	}
}

// FuzzFromList checks fromList against encoding/json on any input, and that
// what list writes is read back unchanged.
func FuzzFromList(f *testing.F) {
	for _, s := range []string{`[]`, `["openid","profile"]`, `["a\"b"]`, `null`, `["é"]`, "[\"\xff\"]", `[ "a" ]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkList(t, in)
		// in as one element of a list, as CreateClient would store it.
		v := []string{in, "openid"}
		got, err := fromList(list(v))
		if err != nil {
			t.Fatalf("fromList(list(%q)): %v", v, err)
		}
		want, _ := jsonList(list(v))
		if !slices.Equal(got, want) {
			t.Fatalf("fromList(list(%q)) = %q, encoding/json gives %q", v, got, want)
		}
	})
}
