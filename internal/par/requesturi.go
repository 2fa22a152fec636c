package par

import (
	"strings"

	"github.com/ariesexchange/aries/internal/secret"
	"github.com/ariesexchange/aries/sdk/protocol"
)

// randomPrefix begins the random part of every request_uri, so that leak
// scanners recognise one (package secret).
const randomPrefix = "aries_ru_"

// maxRequestURI bounds a request_uri before it is hashed: the ones Aries
// hands out are under 100 characters.
const maxRequestURI = 200

// NewRequestURI returns a fresh request_uri (RFC 9126 section 2.2) and its
// random part, whose hash (Hasher.Hash) names the stored request. 256
// random bits make it unguessable, as section 7.1 asks.
func NewRequestURI() (uri, random string) {
	random = secret.New(randomPrefix)
	return protocol.RequestURIPrefix + random, random
}

// Random returns the random part of a request_uri this server could have
// handed out; ok is false for any other value, which then names no stored
// request and need not reach the store.
func Random(uri string) (random string, ok bool) {
	if len(uri) > maxRequestURI {
		return "", false
	}
	random, ok = strings.CutPrefix(uri, protocol.RequestURIPrefix+randomPrefix)
	if !ok || random == "" || strings.Trim(random, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return "", false
	}
	return randomPrefix + random, true
}
