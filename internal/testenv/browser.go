package testenv

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// Browser is a user agent with cookies that does not follow redirects, so
// each step of a flow through the hosted pages can be checked.
func Browser(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// BrowserFrom is a Browser whose connections come from ip: a loopback
// address other than 127.0.0.1 stands for another machine, and the server
// sees it as the request's source.
func BrowserFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	c := Browser(t)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c.Timeout = 60 * time.Second
	c.Transport = &http.Transport{DialContext: dialer.DialContext}
	return c
}

// Page is one answer of the hosted pages, its body read.
type Page struct {
	*http.Response
	Body string
}

// Get requests u with c.
func Get(t testing.TB, c *http.Client, u string) Page {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Page{resp, string(b)}
}

// PostForm posts v to u with c.
func PostForm(t testing.TB, c *http.Client, u string, v url.Values) Page {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Page{resp, string(b)}
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// Form returns the action and hidden fields of the page's first POST form.
func Form(t testing.TB, page string) (string, url.Values) {
	t.Helper()
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no POST form on the page:\n%s", page)
	}
	fields := url.Values{}
	for _, in := range hiddenInput.FindAllStringSubmatch(page, -1) {
		fields.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), fields
}

// Submit fills in the first POST form of p with fields (name, value pairs)
// and sends it to base.
func Submit(t testing.TB, c *http.Client, base string, p Page, fields ...string) Page {
	t.Helper()
	action, form := Form(t, p.Body)
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return PostForm(t, c, base+action, form)
}

// Follow requests where a redirect to base points.
func Follow(t testing.TB, c *http.Client, base string, p Page) Page {
	t.Helper()
	loc, err := p.Location()
	if err != nil || !strings.HasPrefix(loc.String(), base) {
		t.Fatalf("status %d, Location %v; want a redirect on %s", p.StatusCode, loc, base)
	}
	return Get(t, c, loc.String())
}

// Person is someone signing in through the hosted pages. TOTP, when set,
// answers the two-step verification page with the code their app shows.
type Person struct {
	Email, Password string
	TOTP            func() string
}

// Authorize drives the hosted pages of base as p would: open the
// authorization request q, sign in, pass the TOTP step, approve. It
// returns the redirect back to the client.
func Authorize(t testing.TB, c *http.Client, base string, p Person, q url.Values) *url.URL {
	t.Helper()
	return AuthorizeURL(t, c, base, p, base+"/oauth2/authorize?"+q.Encode())
}

// AuthorizeURL is Authorize for a whole authorization URL (one an SDK
// built), which leaves base when it reaches the client.
func AuthorizeURL(t testing.TB, c *http.Client, base string, p Person, authURL string) *url.URL {
	t.Helper()
	page := Get(t, c, authURL)
	for range 8 {
		switch {
		case page.StatusCode == http.StatusOK && strings.Contains(page.Body, `name="password"`):
			page = Submit(t, c, base, page, "email", p.Email, "password", p.Password)
		case page.StatusCode == http.StatusOK && strings.Contains(page.Body, `name="code"`) && p.TOTP != nil:
			page = Submit(t, c, base, page, "code", p.TOTP())
		case page.StatusCode == http.StatusOK && strings.Contains(page.Body, `name="decision"`):
			page = Submit(t, c, base, page, "decision", "approve")
		case page.StatusCode == http.StatusFound || page.StatusCode == http.StatusSeeOther:
			loc, err := page.Location()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc.String(), base) {
				return loc
			}
			page = Get(t, c, loc.String())
		default:
			t.Fatalf("unexpected step: %d\n%s", page.StatusCode, page.Body)
		}
	}
	t.Fatal("the flow did not reach the client within 8 steps")
	return nil
}

// TOTPCode is the code an authenticator app shows for secret at t.
func TOTPCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// WrongTOTPCode is a well-formed code that matches none of the steps near
// at, so a test cannot pass by luck.
func WrongTOTPCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	near := map[string]bool{}
	for d := -3; d <= 3; d++ {
		near[TOTPCode(t, secret, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%06d", i); !near[c] {
			return c
		}
	}
}
