package dpop

import (
	"errors"
	"net/url"
	"strings"
)

// NormalizeURL returns rawURL as RFC 9449 section 4.3 compares an "htu"
// with the request's URL: without its query and fragment, after the
// syntax-based normalisation of RFC 3986 section 6.2.2 (scheme and host in
// lower case, percent-encodings in upper case, unreserved characters
// decoded, dot segments removed) and the scheme-based one of section 6.2.3
// (no default port, an empty path is "/"). Only absolute http and https
// URLs are accepted.
func NormalizeURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", errors.New("dpop: not an http or https URL")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return "", errors.New("dpop: not an absolute URL with a host")
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal (RFC 3986 section 3.2.2)
	}
	port := u.Port() // "" for "host:" too (RFC 3986 section 6.2.3)
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		// Kept, so that an htu naming credentials never equals a
		// request's URL, which has none.
		b.WriteString(normalizePercent(u.User.String()))
		b.WriteByte('@')
	}
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	path := removeDotSegments(normalizePercent(u.EscapedPath()))
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	return b.String(), nil
}

// normalizePercent writes every percent-encoding of s in upper case and
// decodes those of unreserved characters (RFC 3986 sections 6.2.2.1 and
// 6.2.2.2).
func normalizePercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			b.WriteByte(s[i])
			continue
		}
		c := unhex(s[i+1])<<4 | unhex(s[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(upperHex(s[i+1]))
			b.WriteByte(upperHex(s[i+2]))
		}
		i += 2
	}
	return b.String()
}

// removeDotSegments is the algorithm of RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string // output segments, each with its leading "/"
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			// Move the first segment, with its leading "/" if any, up to
			// the next "/".
			end := strings.IndexByte(in[1:], '/')
			if end < 0 {
				out, in = append(out, in), ""
			} else {
				out, in = append(out, in[:end+1]), in[end+1:]
			}
		}
	}
	return strings.Join(out, "")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// isUnreserved reports whether c is an unreserved character of RFC 3986
// section 2.3.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
