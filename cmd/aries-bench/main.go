// Command aries-bench measures Aries against its physical floor. It builds
// `aries` from this module, starts it (rate limits off) next to a floor
// server — a minimal net/http program doing only the irreducible work of
// each case — and drives both over loopback with the same load, case by
// case, alternating between them, so the Aries/floor ratios it prints hold
// on a noisy machine. Each measurement is bounded in time and requests.
//
// Cases: client_credentials, refresh_token (each worker rotates its own
// token), code_exchange (codes made beforehand through first-party sign-in),
// api_users_me (GET /v1/users/me) and introspection. Each runs closed-loop
// (workers send back to back: capacity) and open-loop (requests due at a
// fixed rate, latency counted from when each was due: latency under a
// given load without coordinated omission). The refresh and code cases are
// repeated with more refresh tokens already stored (-stored). The DPoP
// cases (client_credentials_dpop, refresh_token_dpop, api_users_me_dpop,
// dpop.go) run against Aries only, and the report compares each with its
// bearer case (RFC 9449, docs/dpop.md). The financial-grade cases run
// when -cases names them, against Aries only (fapi.go, docs/fapi.md):
// client_credentials_private_key_jwt (and _eddsa), compared with
// client_credentials, and fapi2_flow, a whole FAPI 2.0 code flow (PAR,
// authorization with a signed-in session, token with PKCE and DPoP).
//
// Every case runs on SQLite, on PostgreSQL, or on both in one run (-store
// sqlite,postgres): on PostgreSQL each tier gets fresh databases for Aries
// and the floor on the server -postgres-url names, and the report adds
// PostgreSQL's CPU per request (postgres.go, floor_postgres.go).
//
// Run from the repository: go run ./cmd/aries-bench. BENCHMARKS.md has the
// figures and what bounds each case.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// floorEnv, when set, makes this program the floor server; its value is
// the floorConfig as JSON.
const floorEnv = "ARIES_BENCH_FLOOR"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg, ok := os.LookupEnv(floorEnv); ok {
		os.Exit(floorMain(ctx, cfg))
	}
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func floorMain(ctx context.Context, raw string) int {
	var cfg floorConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %s: %v\n", floorEnv, err)
		return 2
	}
	if err := runFloor(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		return 1
	}
	return 0
}

type options struct {
	cases       []benchCase
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	requests    int
	rounds      int
	openLoad    float64
	stored      []int
	codes       int
	dir         string
	keep        bool
	reuse       bool
	ariesBin    string
	ariesFlags  []string
	profileDir  string
	jsonPath    string
	// stores are the stores every case runs on, in order: "sqlite"
	// and/or "postgres" (postgres.go).
	stores      []string
	postgresURL string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("aries-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	cases := fs.String("cases", "client_credentials,refresh_token,code_exchange,api_users_me,introspection,client_credentials_dpop,refresh_token_dpop,api_users_me_dpop",
		"cases to run, comma-separated; short names: cc, refresh, code, api, introspect, cc-dpop, refresh-dpop, api-dpop; not by default: cc-pkjwt, cc-pkjwt-eddsa, par (fapi.go)")
	fs.IntVar(&o.concurrency, "concurrency", 32, "workers, each with its own connection")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of one measurement")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unrecorded load before each closed-loop measurement")
	fs.IntVar(&o.requests, "requests", 0, "at most this many requests per measurement (0: bounded by -duration only)")
	fs.IntVar(&o.rounds, "rounds", 3, "measurements per case and server; the report gives medians")
	fs.Float64Var(&o.openLoad, "open-load", 0.5, "open-loop rate as a fraction of Aries's closed-loop capacity for the case (0: no open-loop runs)")
	stored := fs.String("stored", "10000,1000000", "refresh tokens stored before the run; the first count runs every case, the others refresh_token and code_exchange")
	fs.IntVar(&o.codes, "codes", 1000, "authorization codes made for each code_exchange measurement")
	fs.StringVar(&o.dir, "dir", "", "working directory for databases, logs and the aries binary (default: a temporary one)")
	fs.BoolVar(&o.keep, "keep", false, "keep the working directory, and each tier's seeded databases (-reuse)")
	fs.BoolVar(&o.reuse, "reuse", false, "reuse the seeded databases a -keep run left in -dir, adding only fresh worker tokens (seeding 10M tokens takes minutes)")
	fs.StringVar(&o.ariesBin, "aries", "", "a prebuilt aries binary (default: go build ./cmd/aries into the working directory)")
	ariesFlags := fs.String("aries-flags", "--rate-limits-off", "extra `aries serve` flags, space-separated")
	fs.StringVar(&o.profileDir, "profile", "", "write a CPU profile of each server per case into this directory (an extra, unrecorded run)")
	fs.StringVar(&o.jsonPath, "json", "", "write every measurement as JSON to this file")
	stores := fs.String("store", "sqlite", "the stores to run every case on, comma-separated: sqlite, postgres")
	pgURL := defaultPostgresURL
	if v := os.Getenv(postgresURLEnv); v != "" {
		pgURL = v
	}
	fs.StringVar(&o.postgresURL, "postgres-url", pgURL,
		"PostgreSQL server for -store postgres (default from $"+postgresURLEnv+"), as a user allowed to create databases; each tier gets fresh ones, dropped afterwards unless -keep")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for name := range strings.SplitSeq(*cases, ",") {
		c, ok := caseByName(strings.TrimSpace(name))
		if !ok {
			return o, fmt.Errorf("-cases: unknown case %q", name)
		}
		if !slices.ContainsFunc(o.cases, func(x benchCase) bool { return x.name == c.name }) {
			o.cases = append(o.cases, c)
		}
	}
	for s := range strings.SplitSeq(*stored, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(s, "_", "")))
		if err != nil || n < 0 {
			return o, fmt.Errorf("-stored: %q is not a count", s)
		}
		o.stored = append(o.stored, n)
	}
	for s := range strings.SplitSeq(*stores, ",") {
		s = strings.TrimSpace(s)
		if s != "sqlite" && s != "postgres" {
			return o, fmt.Errorf("-store: unknown store %q (sqlite or postgres)", s)
		}
		if !slices.Contains(o.stores, s) {
			o.stores = append(o.stores, s)
		}
	}
	o.ariesFlags = strings.Fields(*ariesFlags)
	switch {
	case o.concurrency < 1:
		return o, errors.New("-concurrency must be at least 1")
	case o.rounds < 1:
		return o, errors.New("-rounds must be at least 1")
	case o.duration <= 0:
		return o, errors.New("-duration must be positive")
	case o.codes < 1:
		return o, errors.New("-codes must be at least 1")
	case o.reuse && o.dir == "":
		return o, errors.New("-reuse needs the -dir of an earlier -keep run")
	}
	if o.reuse {
		o.keep = true // what is reused stays reusable
	}
	return o, nil
}

// measurement is one bounded run of one case against one server.
type measurement struct {
	Store   string  `json:"store"` // "sqlite" or "postgres"
	Stored  int     `json:"stored"`
	Case    string  `json:"case"`
	Server  string  `json:"server"`
	Loop    string  `json:"loop"` // "closed" or "open"
	Rate    float64 `json:"rate,omitempty"`
	Round   int     `json:"round"`
	PeakRSS int64   `json:"peak_rss_bytes"`
	// PrepPeakRSS is the peak while the items of a counted case were
	// made (for Aries: password sign-ins, argon2id at 19 MiB each).
	PrepPeakRSS int64 `json:"prep_peak_rss_bytes,omitempty"`
	// ServerCPU and LoaderCPU are the CPU time (user + system) the server
	// and the bench itself spent per request: what each request costs,
	// whatever else the machine was doing.
	ServerCPU time.Duration `json:"server_cpu_per_request"`
	LoaderCPU time.Duration `json:"loader_cpu_per_request"`
	// DBCPU is PostgreSQL's CPU time per request for the server's
	// database (pgCPU); 0 on SQLite, which runs inside the server.
	DBCPU   time.Duration `json:"db_cpu_per_request,omitempty"`
	Skipped string        `json:"skipped,omitempty"`
	result
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "aries-bench: %v\n", err)
		return 2
	}
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "aries-bench: %v\n", err)
		return 1
	}
	return 0
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "aries-bench-"); err != nil {
			return err
		}
	}
	if !o.keep && o.dir == "" {
		defer os.RemoveAll(dir)
	} else {
		logf("working directory %s", dir)
	}
	bin := o.ariesBin
	if bin == "" {
		logf("building aries")
		var err error
		if bin, err = buildAries(ctx, dir); err != nil {
			return err
		}
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}

	var all []measurement
	for _, st := range o.stores {
		openRate := map[string]float64{} // per case, fixed by the store's first tier
		for tier, stored := range o.stored {
			cases := o.cases
			if tier > 0 {
				cases = slices.DeleteFunc(slices.Clone(cases), func(c benchCase) bool {
					return c.name != "refresh_token" && c.name != "code_exchange"
				})
			}
			if len(cases) == 0 {
				continue
			}
			w, err := setupWorld(ctx, o, bin, st, filepath.Join(dir, fmt.Sprintf("%s-stored-%d", st, stored)), stored, logf)
			if err != nil {
				return err
			}
			got, err := runTier(ctx, o, w, stored, cases, openRate, logf)
			all = append(all, got...)
			if serr := w.stop(); err == nil && serr != nil {
				err = serr
			}
			if err != nil {
				return err
			}
		}
	}
	if o.jsonPath != "" {
		b, _ := json.MarshalIndent(struct {
			Machine      machine       `json:"machine"`
			Concurrency  int           `json:"concurrency"`
			Duration     time.Duration `json:"duration"`
			Rounds       int           `json:"rounds"`
			Measurements []measurement `json:"measurements"`
		}{describeMachine(), o.concurrency, o.duration, o.rounds, all}, "", "  ")
		if err := os.WriteFile(o.jsonPath, b, 0o644); err != nil {
			return err
		}
	}
	report(stdout, o, all)
	return nil
}

// tier runs the cases of one stored-token count against both servers.
type tier struct {
	ctx    context.Context
	o      options
	w      *world
	stored int
	logf   func(string, ...any)
	// openRate is the open-loop rate of each case, fixed by the first
	// tier so that later tiers are measured at the same load.
	openRate map[string]float64
	out      []measurement
}

// runTier runs every case against both servers of w.
func runTier(ctx context.Context, o options, w *world, stored int, cases []benchCase, openRate map[string]float64, logf func(string, ...any)) ([]measurement, error) {
	t := &tier{ctx: ctx, o: o, w: w, stored: stored, logf: logf, openRate: openRate}
	for _, c := range cases {
		if err := t.runCase(c); err != nil {
			return t.out, err
		}
	}
	return t.out, nil
}

// runCase measures c closed-loop, then open-loop, round by round, each
// round against both servers back to back.
func (t *tier) runCase(c benchCase) error {
	p := &preparer{c: c, ctx: t.ctx, codes: t.o.codes, senders: map[string]sender{}}
	for round := range t.o.rounds {
		skipped, err := t.pair(p, "closed", 0, round)
		if err != nil || skipped {
			return err
		}
	}
	rate, ok := t.openRate[c.name]
	if !ok && t.o.openLoad > 0 {
		var ariesRPS []float64
		for _, m := range t.out {
			if m.Case == c.name && m.Server == "aries" && m.Loop == "closed" && m.Stored == t.stored {
				ariesRPS = append(ariesRPS, m.PerSecond)
			}
		}
		rate = t.o.openLoad * median(ariesRPS)
		t.openRate[c.name] = rate
	}
	if rate > 0 {
		for round := range t.o.rounds {
			if _, err := t.pair(p, "open", rate, round); err != nil {
				return err
			}
		}
	}
	if t.o.profileDir != "" {
		return profileCase(t.ctx, t.o, t.w, c, t.stored, p.prepare, t.logf)
	}
	return nil
}

// pair measures both servers once, alternating which goes first. It
// reports whether this build of Aries cannot run the case.
func (t *tier) pair(p *preparer, loop string, rate float64, round int) (skipped bool, err error) {
	order := []*target{t.w.aries, t.w.floor}
	if round%2 == 1 {
		order = []*target{t.w.floor, t.w.aries}
	}
	if p.c.ariesOnly {
		order = []*target{t.w.aries}
	}
	if p.c.logged {
		order = []*target{t.w.ariesLogged}
	}
	for _, tg := range order {
		m, err := t.measure(p, tg, loop, rate, round)
		if err != nil {
			return false, err
		}
		t.out = append(t.out, m)
		if m.Skipped != "" {
			t.logf("%s skipped: %s", p.c.name, m.Skipped)
			return true, nil
		}
	}
	return false, nil
}

// measure runs one bounded measurement of the case against tg.
func (t *tier) measure(p *preparer, tg *target, loop string, rate float64, round int) (measurement, error) {
	c, o := p.c, t.o
	m := measurement{Store: t.w.store, Stored: t.stored, Case: c.name, Server: tg.name, Loop: loop, Rate: rate, Round: round}
	tg.p.resetPeak()
	s, err := p.prepare(tg)
	if c.counted {
		m.PrepPeakRSS = tg.p.peakRSS()
	}
	if skip, ok := errors.AsType[errSkip](err); ok {
		m.Skipped = skip.why
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("%s on %s: %w", c.name, tg.name, err)
	}
	l := load{workers: o.concurrency, duration: o.duration, requests: o.requests, rate: rate}
	if c.counted {
		l.requests = o.codes
		if o.requests > 0 {
			l.requests = min(o.requests, o.codes)
		}
	} else if loop == "closed" && o.warmup > 0 {
		load{workers: o.concurrency, duration: o.warmup, requests: o.requests}.run(t.ctx, s)
	}
	tg.p.resetPeak()
	var db0 map[int]time.Duration
	if tg.db != nil {
		db0 = tg.db.snapshot(t.ctx)
	}
	cpu0, self0 := tg.p.cpuTime(), cpuTimeOf("/proc/self/stat")
	m.result = l.run(t.ctx, s)
	m.PeakRSS = tg.p.peakRSS()
	if n := m.OK + m.errorCount(); n > 0 {
		m.ServerCPU = (tg.p.cpuTime() - cpu0) / time.Duration(n)
		m.LoaderCPU = (cpuTimeOf("/proc/self/stat") - self0) / time.Duration(n)
		if tg.db != nil {
			if d, ok := tg.db.since(t.ctx, db0); ok {
				m.DBCPU = d / time.Duration(n)
			}
		}
	}
	if err := t.ctx.Err(); err != nil {
		return m, err
	}
	dbCPU := ""
	if tg.db != nil {
		dbCPU = fmt.Sprintf("  PostgreSQL CPU/req %v", m.DBCPU.Round(time.Microsecond))
	}
	t.logf("%s stored=%d %-18s %-5s %-6s round %d: %8.0f req/s  p50 %-9v p99 %-9v errors %d  peak RSS %d MB  CPU/req %v%s",
		t.w.store, t.stored, c.name, tg.name, loop, round+1, m.PerSecond, m.P50.Round(time.Microsecond), m.P99.Round(time.Microsecond),
		m.errorCount(), m.PeakRSS>>20, m.ServerCPU.Round(time.Microsecond), dbCPU)
	return m, nil
}

// preparer makes the sender of a case for a server: once per server, or
// for a counted case once per measurement (each needs fresh codes).
type preparer struct {
	c       benchCase
	ctx     context.Context
	codes   int
	senders map[string]sender
}

func (p *preparer) prepare(t *target) (sender, error) {
	if p.c.counted {
		return p.c.prepare(p.ctx, t, p.codes)
	}
	if s, ok := p.senders[t.name]; ok {
		return s, nil
	}
	s, err := p.c.prepare(p.ctx, t, 0)
	if err == nil {
		p.senders[t.name] = s
	}
	return s, err
}

// profileCase runs the case closed-loop once more against each server
// while its CPU profile is recorded.
func profileCase(ctx context.Context, o options, w *world, c benchCase, stored int, prepare func(*target) (sender, error), logf func(string, ...any)) error {
	targets := []*target{w.aries, w.floor}
	if c.ariesOnly {
		targets = targets[:1]
	}
	if c.logged {
		targets = []*target{w.ariesLogged}
	}
	for _, t := range targets {
		s, err := prepare(t)
		if err != nil {
			return err
		}
		secs := max(1, int(o.duration.Seconds()))
		name := fmt.Sprintf("%s-%d-%s.pprof", c.name, stored, t.name)
		if w.store != "sqlite" {
			name = w.store + "-" + name
		}
		path := filepath.Join(o.profileDir, name)
		got := make(chan error, 1)
		go func() { got <- fetchProfile(ctx, t.p.pprof, secs, path) }()
		l := load{workers: o.concurrency, duration: time.Duration(secs)*time.Second + 500*time.Millisecond}
		if c.counted {
			l.requests = o.codes
		}
		l.run(ctx, s)
		if err := <-got; err != nil {
			return fmt.Errorf("profiling %s: %w", t.name, err)
		}
		logf("CPU profile of %s during %s: %s", t.name, c.name, path)
	}
	return nil
}

func fetchProfile(ctx context.Context, addr string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// machine describes where the figures were taken.
type machine struct {
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
	OS     string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}
