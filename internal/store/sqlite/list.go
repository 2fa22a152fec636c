package sqlite

import (
	"strings"
	"unicode/utf8"
)

// simpleList decodes the JSON arrays list writes for lists of plain strings
// (scopes, redirect URIs, AMR values) without encoding/json, whose decoding
// of the three list columns was about 7 % of an introspection's CPU in its
// profile (aries-bench -profile). It accepts only `[]` and arrays, with no
// whitespace, of strings with no escapes, control characters or invalid
// UTF-8, for which json.Unmarshal would return the bytes between the quotes
// unchanged; for anything else ok is false and the caller must decode with
// encoding/json. Like fromList, it returns nil for an empty array.
func simpleList(s string) (v []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	body := s[1 : len(s)-1]
	if body == "" {
		return nil, true
	}
	v = make([]string, 0, strings.Count(body, ",")+1)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := 1
		ascii := true
		for ; end < len(body); end++ {
			c := body[end]
			if c == '"' || c == '\\' || c < ' ' {
				break
			}
			if c >= utf8.RuneSelf {
				ascii = false
			}
		}
		if end == len(body) || body[end] != '"' {
			return nil, false // an escape, a control character, or no closing quote
		}
		elem := body[1:end]
		if !ascii && !utf8.ValidString(elem) {
			return nil, false // json.Unmarshal replaces invalid bytes with U+FFFD
		}
		v = append(v, elem)
		body = body[end+1:]
		if body == "" {
			return v, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}
