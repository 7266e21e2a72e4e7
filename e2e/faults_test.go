package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/fakeprom"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

var updateFaults = flag.Bool("update", false, "rewrite docs/faults.md with the table of this TestFaults run")

// The fault suite's settings. The exporter ticks every 2s and keeps 10s,
// 30s and 1h (its period) windows, so that a case lasts seconds.
const (
	faultInterval = 2 * time.Second
	faultSLO      = "api-availability"
	// shortWindow is the SLO's shortest window: after a fault is lifted,
	// the windows must equal the truth again within it (plus the two ticks
	// that read and publish the first pull after the fault, and 2s for a
	// loaded machine).
	shortWindow   = 10 * time.Second
	recoveryBound = shortWindow + 2*faultInterval + 2*time.Second
	// staleSlack: a snapshot with slo_data_up 1 must be at most
	// query_offset + 2 intervals + staleSlack old when it is read (the
	// tick that should replace it is due one interval after it).
	staleSlack = 2 * time.Second
	// rssBound is the exporter's documented memory budget: the Helm
	// chart's limit, inside which the defaults of docs/configuration.md
	// ("Memory limits") keep one SLO at its caps.
	rssBound = 256 << 20
	// reloadBound: POST /-/reload answers once the new configuration is
	// validated, and must never wait behind a hung tick or start-up.
	reloadBound = 5 * time.Second
	// healthyFor and holdFor: the normal phase before a fault, and how
	// long a fault lasts unless the case says otherwise.
	healthyFor = 2 * time.Second
	holdFor    = 5 * time.Second
	settleFor  = 2 * time.Second
	// churnMaxSeries is the SLO's max_series in the churn case.
	churnMaxSeries = 1000
	// explosionGroups is the SLO's max_groups in the group_by explosion
	// case; its max_series is then 20 times that.
	explosionGroups = 100
	// htmlLabel is a label value the status pages must escape.
	htmlLabel = `<script>alert("slo")</script>`
)

// dataEffect says which windows a fault may leave different from the
// truth, once slo_data_up is 1 again.
type dataEffect int

const (
	// noData: no stored sample is wrong; every window equals the truth
	// whenever slo_data_up is 1 (outages are backfilled).
	noData dataEffect = iota
	// edges: samples in the fault's span are refused but nothing is lost
	// (the next good sample carries the increment), so a window equals the
	// truth unless one of its edges lies in the span; then it may differ by
	// at most the span's events.
	edges
	// lossy: the span's samples cannot be trusted (a second replica), so a
	// window overlapping the span may differ by at most the span's events;
	// the others equal the truth.
	lossy
)

// downRule says what slo_data_up must do while the fault lasts.
type downRule int

const (
	// downAny: either is right (the numbers stay exact, or the source is
	// refused and says so).
	downAny downRule = iota
	// downSeen: the fault must be reported: slo_data_up 0 at some poll.
	downSeen
	// upAlways: the fault must not disturb anything: slo_data_up 1 at
	// every poll.
	upAlways
)

// faultCase is one row of the fault table.
type faultCase struct {
	name string
	// real runs the case against a real Prometheus scraping the
	// ML-platform simulator instead of the fake.
	real bool
	// bearer configures an authorization bearer token instead of basic
	// auth (both are sent with a secret header).
	bearer bool
	hold   time.Duration
	data   dataEffect
	down   downRule
	// replicaJump widens a lossy window's bound by the first jump from
	// the counter to its replica's copy (3 x value + 1000): an increase
	// that no guard reading samples in order can tell from traffic before
	// the first drop comes.
	replicaJump bool
	// maxSeries and maxGroups set the SLO's max_series and max_groups
	// when not zero.
	maxSeries, maxGroups int
	// inject starts the fault; lift ends it (default: the fake back to
	// healthy).
	inject, lift func(r *faultRun)
	// run replaces the whole start-inject-lift sequence (process faults):
	// it must start the exporter and the poller and set faultStart and
	// liftAt.
	run func(r *faultRun)
	// check adds the case's own checks after the fault; it returns
	// problems.
	check func(r *faultRun) []string
}

// faultRow is the outcome of one case, for the table.
type faultRow struct {
	name     string
	handled  bool
	peak     int64 // bytes
	recovery time.Duration
	noRecov  bool
	problems []string
}

// TestFaults runs the exporter against hostile and failing sources, one
// fault per case: transport faults and corrupted samples from a scriptable
// fake Prometheus (internal/fakeprom) whose counters are known, and process
// faults (a Prometheus stopped or killed, the exporter killed during its
// backfill) with a real Prometheus scraping the ML-platform simulator.
// At every poll (every 250ms) of /api/v1/slos: with slo_data_up 1 the
// snapshot is current and every window's good and valid counts equal the
// truth computed from raw samples (the fake's clean counters, or the real
// Prometheus' raw samples; never increase()); counts are never negative
// and good never exceeds valid. After the fault is lifted, the windows
// must equal the truth with slo_data_up 1 within recoveryBound and stay
// so; the exporter's peak RSS (VmHWM) stays under rssBound; no secret of
// its configuration appears in its log, /metrics, the JSON API, the status
// pages, /-/ready or the body of /-/reload. The table of the run is logged;
// with -update it is written to docs/faults.md.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: real processes")
	}
	bin, simBin := binaries(t)
	var mu sync.Mutex
	rows := map[string]faultRow{}
	cases := faultCases()
	t.Run("case", func(t *testing.T) {
		for _, c := range cases {
			t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				r := newFaultRun(t, c, bin, simBin)
				row := r.execute()
				mu.Lock()
				rows[c.name] = row
				mu.Unlock()
			})
		}
	})
	table := faultTable(cases, rows)
	t.Logf("fault table:\n%s", table)
	if *updateFaults {
		writeFaultsDoc(t, table)
	}
}

// faultCases are the table's rows.
func faultCases() []faultCase {
	set := func(f fakeprom.Fault) func(r *faultRun) { return func(r *faultRun) { r.fake.SetFault(f) } }
	// corrupt corrupts the samples of the counters given from a second
	// after the fault starts (what the exporter already read stays as it
	// was) until it is lifted, or for one sample when one is true.
	corrupt := func(kind fakeprom.CorruptionKind, counters []int, value float64, series int, one bool) func(r *faultRun) {
		return func(r *faultRun) {
			from := time.Now().Add(time.Second)
			to := from.Add(r.c.hold - time.Second)
			if one {
				to = from.Add(999 * time.Millisecond)
			}
			r.setSpan(from, to)
			r.fake.Corrupt(fakeprom.Corruption{Kind: kind, From: from, To: to, Counters: counters, Value: value, Series: series})
		}
	}
	return []faultCase{
		{name: "hang (reload during it)", hold: 8 * time.Second, data: noData, down: downSeen, inject: func(r *faultRun) {
			r.fake.SetFault(fakeprom.Fault{Mode: fakeprom.Hang})
			r.reloadAfter(3 * time.Second)
		}, check: (*faultRun).checkReload},
		{name: "slow, within the interval (1s)", down: upAlways, inject: set(fakeprom.Fault{Mode: fakeprom.Slow, Delay: time.Second})},
		{name: "HTTP 500", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.HTTP500})},
		{name: "HTTP 503 with Retry-After", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.HTTP503, RetryAfter: 1})},
		{name: "garbage JSON", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.Garbage})},
		{name: "truncated body", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.Truncated})},
		{name: "HTML page with 200", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.HTML})},
		{name: "wrong result type", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.WrongType})},
		{name: "status error (422 execution)", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.APIError})},
		{name: "redirect to another host (basic auth)", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.Redirect}), check: (*faultRun).checkOtherHost},
		{name: "redirect to another host (bearer token)", bearer: true, down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.Redirect}), check: (*faultRun).checkOtherHost},
		{name: "connection reset", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.Reset})},
		{name: "error page echoing the request headers", down: downSeen, inject: set(fakeprom.Fault{Mode: fakeprom.EchoHeaders})},
		{name: "huge answer: 500,000 series", down: downAny, inject: set(fakeprom.Fault{Mode: fakeprom.HugeSeries, Series: 500_000})},
		{name: "huge answer: 96 MiB of labels", inject: set(fakeprom.Fault{Mode: fakeprom.HugeBytes, Series: 3000, LabelBytes: 32 << 10})},
		{name: "group_by explosion: 9,000 models per answer", maxGroups: explosionGroups,
			inject: set(fakeprom.Fault{Mode: fakeprom.HugeSeries, Series: 9000, Label: "model", Prefix: "m-"}),
			lift: func(r *faultRun) {
				for _, p := range r.checkGroups() {
					r.problem("at the lift: %s", p)
				}
				r.fake.SetFault(fakeprom.Fault{})
			}, check: (*faultRun).checkGroups},
		{name: "HTML in a label value", inject: set(fakeprom.Fault{Mode: fakeprom.HugeSeries, Series: 1, Label: "model", Prefix: htmlLabel}),
			check: (*faultRun).checkEscaped},
		{name: "NaN, +Inf and negative samples", data: edges, inject: func(r *faultRun) {
			corrupt(fakeprom.NaN, []int{0}, 0, 0, false)(r)
			r.fake.Corrupt(fakeprom.Corruption{Kind: fakeprom.PosInf, From: r.span[0], To: r.span[1], Counters: []int{1}})
			r.fake.Corrupt(fakeprom.Corruption{Kind: fakeprom.Negative, From: r.span[0], To: r.span[1], Counters: []int{2}})
		}},
		{name: "one 1e300 sample", data: edges, hold: 2 * time.Second, inject: corrupt(fakeprom.Spike, []int{0}, 1e300, 0, true)},
		{name: "every sample refused (all NaN)", data: edges, down: downSeen, inject: corrupt(fakeprom.NaN, nil, 0, 0, false)},
		{name: "duplicate replica interleaved", data: lossy, replicaJump: true, inject: corrupt(fakeprom.Replica, []int{0}, 0, 0, false)},
		{name: "series churn beyond max_series", maxSeries: churnMaxSeries, inject: corrupt(fakeprom.Churn, []int{0}, 0, 400, false),
			lift: func(r *faultRun) {
				for _, p := range r.checkTracked() {
					r.problem("at the lift: %s", p)
				}
			}, check: func(r *faultRun) []string {
				var out []string
				for _, p := range r.checkTracked() {
					out = append(out, "at the end: "+p)
				}
				return out
			}},
		{name: "reload storm: 50 reloads in 10s", hold: 10 * time.Second, down: upAlways, inject: (*faultRun).reloadStorm, check: (*faultRun).checkStorm},
		{name: "reload replaces a stuck start-up", run: (*faultRun).stuckStartup, check: (*faultRun).checkReload},
		{name: "Prometheus stopped and restarted", real: true, down: downSeen,
			inject: func(r *faultRun) { r.prom.Stop() }, lift: func(r *faultRun) { r.prom.Restart(r.t) }},
		// The samples scraped just before a kill may be lost with the
		// write-ahead log's last page; the exporter may have read them: their
		// increments then land at the next sample, so a window with an edge
		// there may differ by those.
		{name: "Prometheus killed (SIGKILL) and restarted", real: true, down: downSeen, data: edges,
			inject: func(r *faultRun) {
				r.setSpan(time.Now().Add(-2*time.Second), time.Now().Add(time.Second))
				r.prom.Kill()
			},
			lift: func(r *faultRun) { r.prom.Restart(r.t) }},
		{name: "exporter killed (SIGKILL) during backfill", real: true, run: (*faultRun).killDuringBackfill},
	}
}

// secrets of the exporter's configuration: none may appear in any output.
type secrets struct {
	user, password, header, token string
}

func newSecrets() secrets {
	id := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	return secrets{user: "slo", password: "pw-" + id + "-Zq7", header: "hdr-" + id + "-Kx3", token: "tok-" + id + "-Vb9"}
}

// forms are the strings that would betray a secret: each value, and the
// basic-auth header's encoding of the password.
func (s secrets) forms() []string {
	return []string{s.password, s.header, s.token, base64.StdEncoding.EncodeToString([]byte(s.user + ":" + s.password))}
}

// observation is one poll of /api/v1/slos.
type observation struct {
	at        time.Time
	ok        bool // the SLO was in the answer
	dataUp    bool
	evaluated time.Time
	// windows: model -> window -> good, valid.
	windows map[string]map[string][2]float64
}

// faultRun is one case's processes and record.
type faultRun struct {
	t       *testing.T
	c       faultCase
	bin     string
	simBin  string
	dir     string
	cfgFile string
	port    int
	url     string
	sec     secrets
	offset  time.Duration
	// fake is the fake Prometheus, or the proxy in front of the real one.
	fake *fakeprom.Server
	prom *promtest.Server

	mu         sync.Mutex
	exp        *proc
	logs       []string // log files of every exporter process of the case
	obs        []observation
	hwm        int64
	span       [2]time.Time // the data fault's span (zero: none)
	outputs    []string     // texts to scan for secrets (reload bodies...)
	extra      []string     // problems found by helpers
	stopPoll   chan struct{}
	pollDone   chan struct{}
	faultStart time.Time
	liftAt     time.Time
	storm      stormRecord
	reloadRes  chan reloadResult
}

type reloadResult struct {
	latency time.Duration
	code    int
	err     error
}

type stormRecord struct {
	goroutines, fds float64
	probes          int64
	maxLatency      time.Duration
	failed          int
}

func newFaultRun(t *testing.T, c faultCase, bin, simBin string) *faultRun {
	if c.hold == 0 {
		c.hold = holdFor
	}
	if c.lift == nil {
		c.lift = func(r *faultRun) { r.fake.SetFault(fakeprom.Fault{}) }
	}
	r := &faultRun{t: t, c: c, bin: bin, simBin: simBin, dir: t.TempDir(), sec: newSecrets()}
	r.cfgFile = filepath.Join(r.dir, "slo.yaml")
	r.port = freePort(t)
	r.url = fmt.Sprintf("http://127.0.0.1:%d", r.port)
	return r
}

// authHeaders are the headers the exporter sends, which the fake demands:
// the credentials are in use, so their absence from the outputs means
// something.
func (r *faultRun) authHeaders() map[string]string {
	h := map[string]string{"X-Api-Key": r.sec.header}
	if r.c.bearer {
		h["Authorization"] = "Bearer " + r.sec.token
	} else {
		h["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(r.sec.user+":"+r.sec.password))
	}
	return h
}

// setupBackend starts the fake, or the simulator, a real Prometheus and a
// fake proxy in front of it.
func (r *faultRun) setupBackend() {
	if !r.c.real {
		r.fake = fakeprom.Start(r.t, fakeprom.Options{Origin: faultOrigin(), Step: time.Second, Counters: faultCounters(), Headers: r.authHeaders()})
		return
	}
	r.offset = 2 * time.Second
	simPort := freePort(r.t)
	start(r.t, "sim", r.simBin, fmt.Sprintf("--web.listen-address=127.0.0.1:%d", simPort))
	r.prom = promtest.Start(r.t, promtest.Options{ConfigYAML: fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: model-api
    metrics_path: /metrics/model-api
    static_configs: [{targets: ["127.0.0.1:%d"]}]
`, simPort)})
	r.fake = fakeprom.Start(r.t, fakeprom.Options{Upstream: r.prom.URL, Headers: r.authHeaders()})
	waitFor(r.t, "the first samples of the simulator", 30*time.Second, func() error {
		v, err := r.prom.Query(context.Background(), `http_requests_total{job="model-api"}`, time.Now())
		if err != nil || len(v) == 0 {
			return fmt.Errorf("no sample yet: %v", err)
		}
		return nil
	})
	// Two samples per series before the exporter's first read.
	time.Sleep(2*time.Second + r.offset)
}

// faultOrigin is the fake counters' sample 0: two hours ago (the exporter
// backfills its 1h period and its baselines before it), 370ms after a
// second, so that samples never fall on a tick.
func faultOrigin() time.Time {
	return time.Now().Truncate(time.Second).Add(-2*time.Hour + 370*time.Millisecond)
}

// faultCounters: two models, each with a 200 and a 500 series. The 200
// series grow by 5 to 15 a second (resnet50's restarts every 10 minutes);
// the 500 series by 0 or 1. A series of another job must not be counted.
func faultCounters() []fakeprom.Counter {
	var out []fakeprom.Counter
	for mi, m := range []string{"resnet50", "bert-base"} {
		for ci, code := range []string{"200", "500"} {
			seed := int64(mi*2 + ci)
			inc, period := func(j int64) int64 { return 5 + (7*j+seed)%11 }, int64(11)
			if code == "500" {
				inc, period = func(j int64) int64 {
					if (3*j+seed)%4 == 0 {
						return 1
					}
					return 0
				}, 4
			}
			var reset int64
			if code == "200" && m == "resnet50" {
				reset = 600
			}
			out = append(out, fakeprom.Counter{
				Labels: model.LabelSet{"__name__": "http_requests_total", "job": "api", "model": model.LabelValue(m), "code": model.LabelValue(code)},
				Value:  counterValue(inc, period, reset, float64(1000*(seed+1))),
			})
		}
	}
	out = append(out, fakeprom.Counter{
		Labels: model.LabelSet{"__name__": "http_requests_total", "job": "other", "model": "resnet50", "code": "200"},
		Value:  func(k int64) float64 { return float64(1000 * k) },
	})
	return out
}

// counterValue is a counter that adds inc(j) at sample j (inc periodic
// with the period given), restarting from zero every reset samples (0:
// never), from base before its first restart.
func counterValue(inc func(int64) int64, period, reset int64, base float64) func(int64) float64 {
	var perPeriod int64
	for j := int64(0); j < period; j++ {
		perPeriod += inc(j)
	}
	cum := func(n int64) int64 { // sum of inc(0..n-1)
		s := n / period * perPeriod
		for j := n / period * period; j < n; j++ {
			s += inc(j)
		}
		return s
	}
	return func(k int64) float64 {
		from := int64(0)
		if reset > 0 {
			from = k / reset * reset
		}
		v := float64(cum(k+1) - cum(from))
		if from == 0 {
			v += base
		}
		return v
	}
}

// selectors are the SLO's good and valid selectors for the backend.
func (r *faultRun) selectors() (good, valid string) {
	if r.c.real {
		return `http_requests_total{job="model-api",code=~"2.."}`, `http_requests_total{job="model-api"}`
	}
	return `http_requests_total{job="api",code="200"}`, `http_requests_total{job="api"}`
}

// writeConfig writes the exporter's configuration pointing at url.
func (r *faultRun) writeConfig(url string) {
	good, valid := r.selectors()
	auth := fmt.Sprintf("basic_auth: {username: %s, password: %q}", r.sec.user, r.sec.password)
	if r.c.bearer {
		auth = fmt.Sprintf("authorization: {credentials: %q}", r.sec.token)
	}
	maxSeries := ""
	if r.c.maxSeries > 0 {
		maxSeries = fmt.Sprintf("\n    max_series: %d", r.c.maxSeries)
	}
	if r.c.maxGroups > 0 {
		maxSeries += fmt.Sprintf("\n    max_groups: %d", r.c.maxGroups)
	}
	cfg := fmt.Sprintf(`global:
  evaluation_interval: %s
  query_offset: %s
  query_timeout: 5s
  alert_tiers: [{name: fast, enabled: false}, {name: medium, enabled: false}, {name: slow, enabled: false}, {name: long, enabled: false}]
prometheus:
  url: %s
  %s
  http_headers: {X-Api-Key: {secrets: [%q]}}
slos:
  - name: %s
    service: api
    objective: 99%%
    period: 1h
    group_by: [model]
    windows: [%s, 30s]%s
    sli: {ratio: {good: '%s', valid: '%s'}}
`, model.Duration(faultInterval), model.Duration(r.offset), url, auth, r.sec.header, faultSLO, model.Duration(shortWindow), maxSeries, good, valid)
	if err := os.WriteFile(r.cfgFile, []byte(cfg), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// startExporter starts an exporter process (with the lifecycle API on and
// debug logs, where a leak would show) and makes it the polled one.
func (r *faultRun) startExporter(name string) *proc {
	p := start(r.t, name, r.bin, "serve", "--config.file="+r.cfgFile, "--web.listen-address=127.0.0.1:"+strconv.Itoa(r.port),
		"--web.enable-lifecycle", "--log.level=debug")
	r.mu.Lock()
	r.exp = p
	r.logs = append(r.logs, p.log)
	r.mu.Unlock()
	return p
}

func (r *faultRun) current() *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exp
}

func (r *faultRun) setSpan(from, to time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.span = [2]time.Time{from, to}
}

func (r *faultRun) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.extra = append(r.extra, fmt.Sprintf(format, args...))
}

// execute runs the case and returns its row; problems also fail the test.
func (r *faultRun) execute() faultRow {
	r.setupBackend()
	if r.c.run != nil {
		r.c.run(r)
	} else {
		target := r.fake.URL
		if r.c.real {
			// Process faults of Prometheus: the exporter talks to it
			// directly (it ignores the credentials), so that a stopped
			// server is a refused connection, not a proxy's 502.
			target = r.prom.URL
		}
		r.writeConfig(target)
		r.startExporter("exporter")
		waitFor(r.t, "the exporter ready", 60*time.Second, ready(r.url))
		r.startPoller()
		time.Sleep(healthyFor)
		r.faultStart = time.Now()
		r.c.inject(r)
		time.Sleep(r.c.hold)
		r.c.lift(r)
		r.liftAt = time.Now()
	}
	r.waitRecovery()
	time.Sleep(settleFor)
	return r.finish()
}

// startPoller polls /api/v1/slos and the exporter's peak RSS every 250ms.
func (r *faultRun) startPoller() {
	r.stopPoll, r.pollDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.pollDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			r.poll()
			select {
			case <-r.stopPoll:
				return
			case <-tick.C:
			}
		}
	}()
}

func (r *faultRun) poll() {
	p := r.current()
	if p != nil {
		if hwm := vmHWM(p.cmd.Process.Pid); hwm > 0 {
			r.mu.Lock()
			r.hwm = max(r.hwm, hwm)
			r.mu.Unlock()
		}
	}
	o := observation{at: time.Now()}
	code, body, err := httpGet(r.url + "/api/v1/slos")
	if err == nil && code == http.StatusOK {
		var resp struct {
			Data []struct {
				Name        string    `json:"name"`
				DataUp      bool      `json:"data_up"`
				EvaluatedAt time.Time `json:"evaluated_at"`
				Groups      []struct {
					Labels  map[string]string `json:"labels"`
					Windows []struct {
						Window string   `json:"window"`
						Good   *float64 `json:"good"`
						Valid  *float64 `json:"valid"`
					} `json:"windows"`
				} `json:"groups"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(body), &resp) == nil {
			for _, s := range resp.Data {
				if s.Name != faultSLO || s.EvaluatedAt.IsZero() {
					continue
				}
				o.ok, o.dataUp, o.evaluated = true, s.DataUp, s.EvaluatedAt
				o.windows = map[string]map[string][2]float64{}
				for _, g := range s.Groups {
					w := map[string][2]float64{}
					for _, win := range g.Windows {
						var gv [2]float64
						if win.Good != nil {
							gv[0] = *win.Good
						}
						if win.Valid != nil {
							gv[1] = *win.Valid
						}
						w[win.Window] = gv
					}
					o.windows[g.Labels["model"]] = w
				}
			}
		}
	}
	r.mu.Lock()
	r.obs = append(r.obs, o)
	r.mu.Unlock()
}

// vmHWM reads a process' peak resident set size (VmHWM) in bytes, 0 when
// it cannot.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// truth is the raw-sample count of events per model, good and valid.
type truth struct {
	series []truthSeries
}

type truthSeries struct {
	model string
	good  bool
	ts    []int64   // sample timestamps, ms
	cum   []float64 // cum[i]: events from the first sample to sample i
	vals  []float64 // the samples' values
}

// newTruth follows the counters' rule on raw samples: a value at or above
// the previous sample adds the difference, a drop (a restart) adds the new
// value, a series' first sample is its baseline.
func newTruth(series []model.SampleStream, isGood func(model.Metric) bool) truth {
	var tr truth
	for _, ss := range series {
		if len(ss.Values) == 0 {
			continue
		}
		s := truthSeries{model: string(ss.Metric["model"]), good: isGood(ss.Metric)}
		var sum float64
		for i, p := range ss.Values {
			if i > 0 {
				prev, v := float64(ss.Values[i-1].Value), float64(p.Value)
				if v >= prev {
					sum += v - prev
				} else {
					sum += v
				}
			}
			s.ts = append(s.ts, int64(p.Timestamp))
			s.cum = append(s.cum, sum)
			s.vals = append(s.vals, float64(p.Value))
		}
		tr.series = append(tr.series, s)
	}
	return tr
}

// maxValue returns the largest value at or before t (ms) of a model's
// series.
func (tr truth) maxValue(m string, t int64) float64 {
	var out float64
	for i := range tr.series {
		s := &tr.series[i]
		if s.model != m {
			continue
		}
		if k := sort.Search(len(s.ts), func(k int) bool { return s.ts[k] > t }) - 1; k >= 0 {
			out = max(out, s.vals[k])
		}
	}
	return out
}

// events returns good and valid events of a model with sample timestamps
// in (from, to], ms.
func (tr truth) events(m string, from, to int64) (good, valid float64) {
	at := func(s *truthSeries, t int64) float64 {
		i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] > t }) - 1
		if i < 0 {
			return 0
		}
		return s.cum[i]
	}
	for i := range tr.series {
		s := &tr.series[i]
		if s.model != m || to <= from {
			continue
		}
		n := at(s, to) - at(s, from)
		valid += n
		if s.good {
			good += n
		}
	}
	return good, valid
}

func (tr truth) models() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range tr.series {
		if !seen[s.model] {
			seen[s.model] = true
			out = append(out, s.model)
		}
	}
	sort.Strings(out)
	return out
}

// truthNow reads the raw samples the truth is computed from: the fake's
// clean counters, or every raw sample of the real Prometheus.
func (r *faultRun) truthNow() (truth, error) {
	if !r.c.real {
		var ss []model.SampleStream
		now := time.Now()
		for i, c := range faultCounters() {
			if c.Labels["job"] != "api" {
				continue
			}
			ss = append(ss, model.SampleStream{Metric: model.Metric(c.Labels), Values: r.fake.CleanSamples(i, time.Time{}, now)})
		}
		return newTruth(ss, func(m model.Metric) bool { return m["code"] == "200" }), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := r.prom.QueryMatrix(ctx, `http_requests_total{job="model-api"}[3h]`, time.Now())
	if err != nil {
		return truth{}, err
	}
	ss := make([]model.SampleStream, len(m))
	for i, s := range m {
		ss[i] = *s
	}
	return newTruth(ss, func(m model.Metric) bool { return strings.HasPrefix(string(m["code"]), "2") }), nil
}

// judgement is what one observation shows against the truth.
type judgement struct {
	problems []string
	// damage: windows excused by the fault's span that differ from the
	// truth by more than the span's events. They do not delay the
	// recovery (the criterion: exact again within one window
	// length, for the windows that no longer hold the span), but fail the
	// case.
	damage []string
	// compared counts the windows compared exactly with the truth.
	compared int
	// current: slo_data_up 1, and the shortest window and every window
	// that must be exact are.
	current bool
}

// judge checks one observation.
func (r *faultRun) judge(o observation, tr truth) judgement {
	var j judgement
	if !o.ok {
		return j
	}
	r.mu.Lock()
	span := r.span
	r.mu.Unlock()
	step := int64(1000)
	lo, hi := span[0].UnixMilli()-step, span[1].UnixMilli()+step
	hasSpan := !span[0].IsZero()
	T := o.evaluated.UnixMilli()
	rel := o.at.Sub(r.faultStart).Round(100 * time.Millisecond)
	if o.dataUp {
		if age := o.at.Sub(o.evaluated); age > r.offset+2*faultInterval+staleSlack {
			j.problems = append(j.problems, fmt.Sprintf("at %v: slo_data_up 1 on a snapshot %v old", rel, age.Round(100*time.Millisecond)))
		}
	}
	shortChecked := true
	for _, m := range tr.models() {
		if _, ok := o.windows[m]; !ok && o.dataUp {
			if _, v := tr.events(m, T-int64(time.Hour/time.Millisecond), T); v > 0 {
				j.problems = append(j.problems, fmt.Sprintf("at %v: slo_data_up 1 without the group model=%s", rel, m))
			}
		}
	}
	for m, ws := range o.windows {
		for wname, gv := range ws {
			good, valid := gv[0], gv[1]
			if valid < 0 || good < 0 || math.IsNaN(valid) || math.IsNaN(good) || good > valid+1e-6 {
				j.problems = append(j.problems, fmt.Sprintf("at %v: %s %s: good %v, valid %v", rel, m, wname, good, valid))
			}
			if !o.dataUp {
				continue
			}
			w, err := model.ParseDuration(wname)
			if err != nil {
				j.problems = append(j.problems, fmt.Sprintf("window %q: %v", wname, err))
				continue
			}
			from := T - time.Duration(w).Milliseconds()
			tg, tv := tr.events(m, from, T)
			exact := true
			if hasSpan {
				switch r.c.data {
				case edges:
					exact = !(from >= lo && from <= hi) && !(T >= lo && T <= hi)
				case lossy:
					exact = !(from < hi && T > lo)
				}
			}
			off := math.Max(math.Abs(good-tg), math.Abs(valid-tv))
			tol := 1e-6 * math.Max(1, tv)
			if exact {
				j.compared++
				if off > tol {
					j.problems = append(j.problems, fmt.Sprintf("at %v: %s %s at %s: good %v valid %v, raw samples say %v %v",
						rel, m, wname, o.evaluated.Format("15:04:05"), good, valid, tg, tv))
				}
			} else {
				_, bound := tr.events(m, max(from, lo), min(T, hi))
				if r.c.replicaJump {
					bound += 2*tr.maxValue(m, hi) + 1000
				}
				if off > bound+tol {
					j.damage = append(j.damage, fmt.Sprintf("at %v: %s %s at %s: good %v valid %v, raw samples say %v %v, more than the fault's %v events apart",
						rel, m, wname, o.evaluated.Format("15:04:05"), good, valid, tg, tv, bound))
				}
				if time.Duration(w) == shortWindow {
					shortChecked = false
				}
			}
		}
	}
	j.current = o.dataUp && len(j.problems) == 0 && shortChecked && len(o.windows) > 0
	return j
}

// waitRecovery waits until an observation after the lift is current, or
// recoveryBound passed.
func (r *faultRun) waitRecovery() {
	deadline := r.liftAt.Add(recoveryBound)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		tr, err := r.truthNow()
		if err != nil {
			continue
		}
		r.mu.Lock()
		var last observation
		if n := len(r.obs); n > 0 {
			last = r.obs[n-1]
		}
		r.mu.Unlock()
		if last.at.After(r.liftAt) && r.judge(last, tr).current {
			return
		}
	}
}

// finish stops the poller, judges every observation, runs the final
// checks and returns the row.
func (r *faultRun) finish() faultRow {
	t := r.t
	if p := r.current(); p != nil {
		if hwm := vmHWM(p.cmd.Process.Pid); hwm > 0 {
			r.mu.Lock()
			r.hwm = max(r.hwm, hwm)
			r.mu.Unlock()
		}
	}
	var probs []string
	if p := r.current(); p != nil {
		if done, code := p.exited(); done {
			probs = append(probs, fmt.Sprintf("the exporter exited (code %d)", code))
		}
	}
	close(r.stopPoll)
	<-r.pollDone
	// The case's checks, then the outputs (with a last reload, whose body
	// is scanned too: after the poller stopped, as it disturbs the data).
	if r.c.check != nil {
		probs = append(probs, r.c.check(r)...)
	}
	probs = append(probs, r.scanSecrets()...)

	tr, err := r.truthNow()
	if err != nil {
		t.Fatalf("reading the truth: %v", err)
	}
	r.mu.Lock()
	obs := append([]observation(nil), r.obs...)
	probs = append(probs, r.extra...)
	hwm := r.hwm
	r.mu.Unlock()

	row := faultRow{name: r.c.name, peak: hwm, noRecov: true}
	var violations []string
	sawDown := false
	compared := 0
	recovered := time.Time{}
	for _, o := range obs {
		j := r.judge(o, tr)
		compared += j.compared
		violations = append(violations, j.problems...)
		violations = append(violations, j.damage...)
		if o.ok && !o.at.Before(r.faultStart) && !o.at.After(r.liftAt.Add(faultInterval)) && !o.dataUp {
			sawDown = true
		}
		if o.ok && r.c.down == upAlways && !o.dataUp {
			violations = append(violations, fmt.Sprintf("at %v: slo_data_up 0, the fault must not disturb anything", o.at.Sub(r.faultStart).Round(100*time.Millisecond)))
		}
		if !o.at.Before(r.liftAt) {
			if recovered.IsZero() && j.current {
				recovered = o.at
			} else if !recovered.IsZero() && o.ok && !o.dataUp {
				violations = append(violations, fmt.Sprintf("at %v: slo_data_up 0 again after the recovery", o.at.Sub(r.faultStart).Round(100*time.Millisecond)))
			}
		}
	}
	if compared == 0 {
		probs = append(probs, "no window was ever compared with the raw samples")
	}
	if r.c.down == downSeen && !sawDown {
		probs = append(probs, "slo_data_up was never 0 while the fault lasted")
	}
	if recovered.IsZero() {
		probs = append(probs, fmt.Sprintf("not recovered within %v of the lift (slo_data_up 1 and every window equal to the raw samples)", recoveryBound))
	} else {
		row.noRecov = false
		row.recovery = recovered.Sub(r.liftAt)
		if row.recovery > recoveryBound {
			probs = append(probs, fmt.Sprintf("recovered after %v, more than %v", row.recovery.Round(100*time.Millisecond), recoveryBound))
		}
	}
	if hwm > rssBound {
		probs = append(probs, fmt.Sprintf("peak RSS %d MiB, more than %d MiB", hwm>>20, rssBound>>20))
	}
	if n := len(violations); n > 0 {
		if n > 5 {
			violations = append(violations[:5], fmt.Sprintf("... and %d more", n-5))
		}
		probs = append(probs, violations...)
	}
	for _, p := range probs {
		t.Error(p)
	}
	row.problems = probs
	row.handled = len(probs) == 0
	return row
}

// scanSecrets reads every output of the exporter and reports any secret
// found in it.
func (r *faultRun) scanSecrets() []string {
	texts := map[string]string{}
	for _, path := range []string{"/metrics", "/api/v1/slos", "/api/v1/slos/" + faultSLO, "/", "/slo/" + faultSLO, "/-/ready", "/-/healthy", "/api/v1/policy"} {
		if _, body, err := httpGet(r.url + path); err == nil {
			texts["GET "+path] = body
		}
	}
	if res := r.postReload(); res.err == nil {
		texts["POST /-/reload"] = r.lastOutput()
	}
	if out, err := execCommand(r.bin, "check", "--config.file="+r.cfgFile).CombinedOutput(); err == nil {
		texts["slo-exporter check"] = string(out)
	} else {
		texts["slo-exporter check"] = string(out) + err.Error()
	}
	r.mu.Lock()
	for i, s := range r.outputs {
		texts[fmt.Sprintf("output %d", i)] = s
	}
	logs := append([]string(nil), r.logs...)
	r.mu.Unlock()
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		texts["log "+filepath.Base(l)] = string(b)
	}
	var out []string
	for where, text := range texts {
		for _, s := range r.sec.forms() {
			if i := strings.Index(text, s); i >= 0 {
				// The excerpt names the secret without repeating it.
				ex := strings.ReplaceAll(excerpt(text, i, len(s)), s, "<SECRET>")
				out = append(out, fmt.Sprintf("a secret shows in %s: %q", where, ex))
			}
		}
	}
	sort.Strings(out)
	return out
}

func excerpt(text string, i, n int) string {
	from, to := max(0, i-60), min(len(text), i+n+20)
	return text[from:to]
}

func (r *faultRun) lastOutput() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.outputs) == 0 {
		return ""
	}
	return r.outputs[len(r.outputs)-1]
}

// postReload sends POST /-/reload, keeps its body for the secret scan and
// returns how long it took.
func (r *faultRun) postReload() reloadResult {
	ctx, cancel := context.WithTimeout(context.Background(), 2*reloadBound)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/-/reload", nil)
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	res := reloadResult{latency: time.Since(t0), err: err}
	if err != nil {
		return res
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	res.code = resp.StatusCode
	res.latency = time.Since(t0)
	r.mu.Lock()
	r.outputs = append(r.outputs, b.String())
	r.mu.Unlock()
	return res
}

// reloadAfter sends a reload of the unchanged configuration after d, for
// checkReload.
func (r *faultRun) reloadAfter(d time.Duration) {
	r.reloadRes = make(chan reloadResult, 1)
	go func() {
		time.Sleep(d)
		r.reloadRes <- r.postReload()
	}()
}

// checkReload: the reload the case sent answered 200 within reloadBound.
func (r *faultRun) checkReload() []string {
	select {
	case res := <-r.reloadRes:
		if res.err != nil || res.code != http.StatusOK || res.latency > reloadBound {
			return []string{fmt.Sprintf("POST /-/reload: status %d after %v (%v); want 200 within %v", res.code, res.latency.Round(100*time.Millisecond), res.err, reloadBound)}
		}
		return nil
	case <-time.After(20 * time.Second):
		return []string{"POST /-/reload did not answer"}
	}
}

// checkOtherHost: the host a redirect named received no secret.
func (r *faultRun) checkOtherHost() []string {
	var out []string
	hs := r.fake.OtherHeaders()
	for _, h := range hs {
		for name, vals := range h {
			for _, v := range vals {
				for _, s := range r.sec.forms() {
					if strings.Contains(v, s) {
						out = append(out, fmt.Sprintf("the redirect's other host received the secret in %s", name))
					}
				}
			}
		}
	}
	r.t.Logf("the redirect's other host received %d requests", len(hs))
	return out
}

// trackedSeries sums slo_exporter_tracked_series.
func (r *faultRun) trackedSeries() float64 {
	v, _ := metricSum(r.url, "slo_exporter_tracked_series")
	return v
}

// metricSum returns the sum of the samples of name in an exporter's
// /metrics; false when it cannot be read.
func metricSum(url, name string) (float64, bool) {
	code, body, err := httpGet(url + "/metrics")
	if err != nil || code != http.StatusOK {
		return 0, false
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil || fams[name] == nil {
		return 0, false
	}
	var sum float64
	for _, m := range fams[name].Metric {
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		default:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, true
}

// checkTracked: the series followed stay within the SLO's max_series (the
// churn case checks at the lift and at the end).
func (r *faultRun) checkTracked() []string {
	if n := r.trackedSeries(); n > churnMaxSeries {
		return []string{fmt.Sprintf("%v series tracked, more than max_series %d", n, churnMaxSeries)}
	}
	return nil
}

// checkGroups: at most max_groups groups, and no more series tracked than
// the groups' share (max_groups x 20): the series of refused groups are
// not tracked.
func (r *faultRun) checkGroups() []string {
	var out []string
	if n, _ := metricSum(r.url, "slo_exporter_groups"); n > explosionGroups {
		out = append(out, fmt.Sprintf("%v groups, more than max_groups %d", n, explosionGroups))
	}
	if n := r.trackedSeries(); n > 20*explosionGroups {
		out = append(out, fmt.Sprintf("%v series tracked, more than max_groups x 20 = %d", n, 20*explosionGroups))
	}
	return out
}

// checkEscaped: a label value holding HTML reaches the JSON API and is
// escaped on every page.
func (r *faultRun) checkEscaped() []string {
	var out []string
	_, api, _ := httpGet(r.url + "/api/v1/slos")
	var resp struct {
		Data []struct {
			Groups []struct {
				Labels map[string]string `json:"labels"`
			} `json:"groups"`
		} `json:"data"`
	}
	seen := false
	if json.Unmarshal([]byte(api), &resp) == nil {
		for _, s := range resp.Data {
			for _, g := range s.Groups {
				seen = seen || strings.HasPrefix(g.Labels["model"], htmlLabel)
			}
		}
	}
	if !seen {
		out = append(out, "the group with HTML in its label is not in /api/v1/slos: the escaping was not tested")
	}
	for _, path := range []string{"/", "/slo/" + faultSLO, "/metrics"} {
		_, body, err := httpGet(r.url + path)
		if err == nil && strings.Contains(body, "<script>alert") {
			out = append(out, "unescaped HTML of a label value in "+path)
		}
	}
	return out
}

// reloadStorm sends 50 reloads of the unchanged configuration, one every
// 200ms, recording goroutines, fds and probes before.
func (r *faultRun) reloadStorm() {
	one := func(name string) float64 {
		v, _ := metricSum(r.url, name)
		return v
	}
	r.storm.goroutines, r.storm.fds = one("go_goroutines"), one("process_open_fds")
	r.storm.probes = r.fake.Stats().Probes
	go func() {
		for i := 0; i < 50; i++ {
			res := r.postReload()
			r.mu.Lock()
			r.storm.maxLatency = max(r.storm.maxLatency, res.latency)
			if res.err != nil || res.code != http.StatusOK {
				r.storm.failed++
			}
			r.mu.Unlock()
			time.Sleep(200 * time.Millisecond)
		}
	}()
}

// checkStorm: every reload answered promptly; an unchanged configuration
// is not backfilled again (at most one probe), and goroutines and open
// files come back to where they were.
func (r *faultRun) checkStorm() []string {
	var out []string
	r.mu.Lock()
	st := r.storm
	r.mu.Unlock()
	if st.failed > 0 || st.maxLatency > reloadBound {
		out = append(out, fmt.Sprintf("reloads: %d failed, slowest %v (bound %v)", st.failed, st.maxLatency.Round(10*time.Millisecond), reloadBound))
	}
	if probes := r.fake.Stats().Probes - st.probes; probes > 1 {
		out = append(out, fmt.Sprintf("50 reloads of an unchanged configuration started %d backfills (probes)", probes))
	}
	var g, fds float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, _ = metricSum(r.url, "go_goroutines")
		fds, _ = metricSum(r.url, "process_open_fds")
		if (g <= st.goroutines+10 && fds <= st.fds+10) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	r.t.Logf("reload storm: goroutines %v -> %v, open fds %v -> %v, slowest reload %v", st.goroutines, g, st.fds, fds, st.maxLatency.Round(10*time.Millisecond))
	if g > st.goroutines+10 || fds > st.fds+10 {
		out = append(out, fmt.Sprintf("after the storm: %v goroutines (%v before), %v open fds (%v before)", g, st.goroutines, fds, st.fds))
	}
	return out
}

// stuckStartup: the exporter starts against a Prometheus that hangs; the
// configuration is fixed and POST /-/reload must replace the stuck
// start-up.
func (r *faultRun) stuckStartup() {
	hung := fakeprom.Start(r.t, fakeprom.Options{Origin: faultOrigin(), Step: time.Second, Counters: faultCounters(), Headers: r.authHeaders()})
	hung.SetFault(fakeprom.Fault{Mode: fakeprom.Hang})
	r.writeConfig(hung.URL)
	r.faultStart = time.Now()
	r.startExporter("exporter")
	r.startPoller()
	time.Sleep(4 * time.Second)
	r.writeConfig(r.fake.URL)
	r.liftAt = time.Now()
	r.reloadRes = make(chan reloadResult, 1)
	r.reloadRes <- r.postReload()
}

// killDuringBackfill: the exporter is killed with SIGKILL while a
// backfill query is in flight (the proxy in front of the real Prometheus
// is slowed to catch it there), and started again.
func (r *faultRun) killDuringBackfill() {
	r.fake.SetFault(fakeprom.Fault{Mode: fakeprom.Slow, Delay: 4 * time.Second})
	r.writeConfig(r.fake.URL)
	p := r.startExporter("exporter")
	r.startPoller()
	waitFor(r.t, "a backfill query in flight", 30*time.Second, func() error {
		if r.fake.Stats().InFlight == 0 {
			return fmt.Errorf("none yet")
		}
		if code, _, _ := httpGet(r.url + "/-/ready"); code == http.StatusOK {
			r.t.Fatalf("the exporter became ready before it could be killed during its backfill")
		}
		return nil
	})
	r.faultStart = time.Now()
	if hwm := vmHWM(p.cmd.Process.Pid); hwm > 0 {
		r.mu.Lock()
		r.hwm = max(r.hwm, hwm)
		r.mu.Unlock()
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	r.fake.SetFault(fakeprom.Fault{})
	r.startExporter("exporter-restarted")
	r.liftAt = time.Now()
}

// faultTable renders the rows in case order as Markdown.
func faultTable(cases []faultCase, rows map[string]faultRow) string {
	var b strings.Builder
	b.WriteString("| fault | source | handled | peak RSS | recovery | problems |\n|---|---|---|---|---|---|\n")
	for _, c := range cases {
		row, ok := rows[c.name]
		if !ok {
			fmt.Fprintf(&b, "| %s | | not run | | | |\n", c.name)
			continue
		}
		src := "fake"
		if c.real {
			src = "Prometheus"
		}
		handled := "yes"
		if !row.handled {
			handled = "**no**"
		}
		rec := "none"
		if !row.noRecov {
			rec = fmt.Sprintf("%.1f s", row.recovery.Seconds())
		}
		var probs []string
		for _, p := range row.problems {
			if len(p) > 160 {
				p = p[:157] + "..."
			}
			probs = append(probs, strings.ReplaceAll(p, "|", "\\|"))
		}
		if len(probs) > 3 {
			probs = append(probs[:3], fmt.Sprintf("(%d more)", len(probs)-3))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d MiB | %s | %s |\n", c.name, src, handled, row.peak>>20, rec, strings.Join(probs, "<br>"))
	}
	return b.String()
}

// writeFaultsDoc replaces the generated table of docs/faults.md.
func writeFaultsDoc(t *testing.T, table string) {
	const path = "../docs/faults.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- faults:begin (generated by go test ./e2e -run TestFaults -update) -->\n", "<!-- faults:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s: no generated section", path)
	}
	ver := "unknown"
	if out, err := execCommand(promtest.Binary(t, "prometheus", "PROMETHEUS"), "--version").CombinedOutput(); err == nil {
		ver = strings.Fields(string(out))[2]
	}
	rev := ""
	if out, err := execCommand("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		rev = ", revision " + strings.TrimSpace(string(out))
	}
	stamp := fmt.Sprintf("Run of %s UTC, Prometheus %s%s.\n\n", time.Now().UTC().Format("2006-01-02 15:04"), ver, rev)
	s = s[:i+len(begin)] + stamp + table + s[j:]
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
