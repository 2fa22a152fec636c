package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// The pages of docs/ are run here: their examples are what the tests
// execute, so a page cannot drift from the server (docs/README.md).

// A block is one fenced code block of a page of docs/.
type block struct {
	lang, code string
	line       int // where it starts, for failure messages
}

var fence = regexp.MustCompile("(?m)^```([a-z]*)\n")

// codeBlocks returns the fenced code blocks of a Markdown page, in order.
func codeBlocks(t *testing.T, page string) []block {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	var out []block
	for {
		loc := fence.FindStringSubmatchIndex(text)
		if loc == nil {
			return out
		}
		lang := text[loc[2]:loc[3]]
		rest := text[loc[1]:]
		end := strings.Index(rest, "\n```")
		if end < 0 {
			t.Fatalf("%s: a code block never ends", page)
		}
		line := strings.Count(string(src[:len(src)-len(text)+loc[0]]), "\n") + 1
		out = append(out, block{lang: lang, code: rest[:end+1], line: line})
		text = rest[end+4:]
	}
}

// docRun is one page being followed by a reader, against its own `aries
// serve --demo`, in a folder of its own.
type docRun struct {
	t      *testing.T
	page   string
	server *testServer
	work   string // the reader's folder: ./aries-data is the server's
	state  string // the shell variables so far, as export -p wrote them
	env    []string
	ctx    context.Context
}

const serverCommand = "go run ./cmd/aries serve --demo"

func installStep(code string) bool {
	code = strings.TrimSpace(code)
	return code == "go get github.com/ariesexchange/aries/sdk" || code == "pip install ./sdk/python"
}

// runDocPage follows docs/<name>.md: every sh block in order, in a shell
// that keeps its variables from block to block; every go block saved where
// the page says ("save this program as `PATH`") and run by the page's own
// `go run`, in a module that uses this repository's SDK. A block that exits
// non-zero fails the test.
//
// console blocks are what a reader does outside the shell: the server
// command, which the test runs itself (on a free port, with the same
// --demo), and steps done by hand, such as signing in with a browser, for
// which byHand returns the shell lines that stand for them.
func runDocPage(t *testing.T, name string, byHand func(r *docRun, step string) string) *docRun {
	for _, tool := range []string{"bash", "curl", "jq", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; the docs' examples need it", tool)
			}
			t.Skipf("%s is not installed; the docs' examples need it", tool)
		}
	}
	page := filepath.Join("..", "..", "docs", name+".md")
	blocks := codeBlocks(t, page)
	// A page may say how to install an SDK first: the reader's module below
	// already requires the Go SDK, and python blocks get the Python SDK on
	// PYTHONPATH.
	for len(blocks) > 0 && blocks[0].lang == "console" && installStep(blocks[0].code) {
		blocks = blocks[1:]
	}
	if len(blocks) == 0 || blocks[0].lang != "console" || strings.TrimSpace(blocks[0].code) != serverCommand {
		t.Fatalf("%s: the first block must be the console block `%s`", page, serverCommand)
	}

	r := &docRun{t: t, page: page, work: t.TempDir()}
	data := filepath.Join(r.work, "aries-data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	r.server = startServer(t, data, "--demo", "--metrics-addr", "")

	// The reader's clone: a module that requires the SDK, as the
	// repository's own go.mod does. Offline: the SDK's dependencies come
	// from the module cache, like every other test's.
	sdkDir, err := filepath.Abs(filepath.Join("..", "..", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/reader\n\ngo 1.26\n\nrequire github.com/ariesexchange/aries/sdk v0.0.0\n\n" +
		"replace github.com/ariesexchange/aries/sdk => " + sdkDir + "\n"
	sum, err := os.ReadFile(filepath.Join(sdkDir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	r.state = filepath.Join(r.work, ".state")
	for file, content := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, ".state": nil} {
		if err := os.WriteFile(filepath.Join(r.work, file), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.ctx = ctx

	src, _ := os.ReadFile(page)
	goPaths := regexp.MustCompile("(?i)save\\s+this\\s+program\\s+as\\s+`([^`]+)`").FindAllStringSubmatch(string(src), -1)
	goIndex := 0
	started := time.Now()
	for _, b := range blocks[1:] {
		switch b.lang {
		case "console":
			step := strings.TrimSpace(b.code)
			if step == serverCommand {
				continue
			}
			lines := ""
			if byHand != nil {
				lines = byHand(r, step)
			}
			if lines == "" {
				t.Fatalf("%s:%d: nothing stands in for the step done by hand:\n%s", page, b.line, step)
			}
			r.sh(b, lines)
		case "go":
			if goIndex >= len(goPaths) {
				t.Fatalf("%s:%d: a Go block without \"save this program as `PATH`\" before it", page, b.line)
			}
			file := filepath.Join(r.work, filepath.FromSlash(goPaths[goIndex][1]))
			goIndex++
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(b.code), 0o644); err != nil {
				t.Fatal(err)
			}
		case "sh":
			r.sh(b, b.code)
		case "python":
			r.python(b)
		default:
			t.Fatalf("%s:%d: a %q block: only sh, go, python and console blocks are run", page, b.line, b.lang)
		}
	}
	if goIndex != len(goPaths) {
		t.Errorf("%s names %d Go programs but has %d Go blocks", page, len(goPaths), goIndex)
	}
	t.Logf("%s ran in %v", page, time.Since(started).Round(time.Millisecond))
	return r
}

// keepVariables ends every block: it exports the variables the block set
// (the pages name theirs in capitals; bash's own start with BASH), so
// export -p hands them to the next block and to Go programs, leaving out
// bash's read-only ones, which cannot be set again; and it keeps the
// shell functions a page defines.
const keepVariables = `for __v in $(compgen -v); do case $__v in [a-z_]*|BASH*) ;; *) export "$__v" 2>/dev/null || true ;; esac; done
export -p | grep -v '^declare -[a-zA-Z]*r' > %q
declare -f >> %q
`

// sh runs code in the reader's shell, with the variables of the blocks
// before it.
func (r *docRun) sh(b block, code string) {
	r.t.Helper()
	script := fmt.Sprintf("set -euo pipefail\n. %q\n%s\n", r.state, code) + fmt.Sprintf(keepVariables, r.state, r.state)
	cmd := exec.CommandContext(r.ctx, "bash", "-c", script)
	cmd.Dir = r.work
	cmd.Env = r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("%s:%d: the block failed: %v\n%s\noutput:\n%s", r.page, b.line, err, code, out.String())
	}
	r.t.Logf("%s:%d ok:\n%s", r.page, b.line, out.String())
}

// python runs a Python block with the shell's variables in its
// environment and the repository's Python SDK importable, as
// `pip install ./sdk/python` makes it.
func (r *docRun) python(b block) {
	r.t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") != "" {
			r.t.Fatal("python3 is not installed; the Python SDK's page needs it")
		}
		r.t.Skip("python3 is not installed; skipping the Python SDK's page")
	}
	sdkPython, err := filepath.Abs(filepath.Join("..", "..", "sdk", "python"))
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.CommandContext(r.ctx, "bash", "-c", fmt.Sprintf(". %q\nexec python3 -", r.state))
	cmd.Dir = r.work
	cmd.Env = append(r.env, "PYTHONPATH="+sdkPython)
	cmd.Stdin = strings.NewReader(b.code)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("%s:%d: the block failed: %v\n%s\noutput:\n%s", r.page, b.line, err, b.code, out.String())
	}
	r.t.Logf("%s:%d ok:\n%s", r.page, b.line, out.String())
}

// variable reads a shell variable the page has set so far.
func (r *docRun) variable(name string) string {
	r.t.Helper()
	out, err := exec.Command("bash", "-c", fmt.Sprintf(". %q; printf %%s \"${%s:-}\"", r.state, name)).Output()
	if err != nil || len(out) == 0 {
		r.t.Fatalf("%s: the page has not set $%s: %v", r.page, name, err)
	}
	return string(out)
}

// TestQuickStart follows docs/quickstart.md from top to bottom. The demo's
// credentials it loads are readable by their owner only.
func TestQuickStart(t *testing.T) {
	r := runDocPage(t, "quickstart", nil)
	fi, err := os.Stat(filepath.Join(r.work, "aries-data", "demo.env"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("demo.env has mode %v, want 0600", mode)
	}
}

// TestFlowPages follows each flow page of docs/. What a page leaves to the
// reader's hands is done by the test: signing in with a browser and
// copying the code from the demo's callback page (demoSignIn, without a
// browser), creating a user with the CLI, reading an authenticator app.
func TestFlowPages(t *testing.T) {
	for _, page := range []string{"authorization-code", "pkce", "refresh", "client-credentials", "first-party", "troubleshooting", "sdk-go", "sdk-python"} {
		t.Run(page, func(t *testing.T) {
			var totpSecret string
			runDocPage(t, page, func(r *docRun, step string) string {
				switch {
				case strings.HasPrefix(step, "CODE="):
					code := demoSignIn(r.t, r.server, r.variable("ARIES_DEMO_EMAIL"), r.variable("ARIES_DEMO_PASSWORD"), r.variable("AUTH_URL"))
					return "CODE=" + code
				case strings.HasPrefix(step, "go run ./cmd/aries users create") && strings.Contains(step, "--mfa"):
					u := ariesJSON[userJSON](r.t, filepath.Join(r.work, "aries-data"), "users", "create",
						"--email", r.variable("MFA_EMAIL"), "--password", r.variable("MFA_PASSWORD"), "--mfa")
					totpSecret = u.TOTPSecret
					return "true # the test created the user"
				case strings.HasPrefix(step, "TOTP_CODE="):
					code, err := totp.GenerateCode(totpSecret, time.Now())
					if err != nil {
						r.t.Fatal(err)
					}
					return "TOTP_CODE=" + code
				}
				return ""
			})
		})
	}
}
