package daemon

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"net/http"
	"net/http/httptest"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// The tests in this file run the daemon's loop on a fake clock against a
// fake Prometheus: no external process and no real sleeps beyond polling.

// fakeClock is a manual clock: timers fire only when the test fires them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	next   int
	timers map[int]*fakeTimer
}

type fakeTimer struct {
	id int
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, timers: map[int]*fakeTimer{}}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	t := &fakeTimer{id: c.next, at: c.now.Add(d), c: make(chan time.Time, 1)}
	c.timers[t.id] = t
	return t.c, func() {
		c.mu.Lock()
		delete(c.timers, t.id)
		c.mu.Unlock()
	}
}

// active is the number of timers started and neither stopped nor fired.
func (c *fakeClock) active() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// waitTimer waits until a timer numbered from or later runs, and returns
// the newest.
func (c *fakeClock) waitTimer(t *testing.T, from int) *fakeTimer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		var found *fakeTimer
		for _, tm := range c.timers {
			if tm.id >= from && (found == nil || tm.id > found.id) {
				found = tm
			}
		}
		c.mu.Unlock()
		if found != nil {
			return found
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the daemon started no timer numbered %d or later", from)
	return nil
}

// advance moves the clock forward by d without firing timers.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fire moves the clock to the timer's time and fires it.
func (c *fakeClock) fire(tm *fakeTimer) {
	c.mu.Lock()
	if tm.at.After(c.now) {
		c.now = tm.at
	}
	delete(c.timers, tm.id)
	now := c.now
	c.mu.Unlock()
	tm.c <- now
}

// fakeSeries is a counter scraped every second at 250 ms past the second:
// sample n (at n s + 250 ms) is inc*n, or inc*(n mod 4) when it restarts
// every 4th scrape.
type fakeSeries struct {
	labels   model.Metric
	inc      float64
	restarts bool
}

func (s fakeSeries) value(n int64) float64 {
	if s.restarts {
		return s.inc * float64(n%4)
	}
	return s.inc * float64(n)
}

var fakeSource = []fakeSeries{
	{labels: model.Metric{"__name__": "app_requests_total", "job": "app", "model": "a", "code": "200"}, inc: 7, restarts: true},
	{labels: model.Metric{"__name__": "app_requests_total", "job": "app", "model": "a", "code": "500"}, inc: 1},
	{labels: model.Metric{"__name__": "app_requests_total", "job": "app", "model": "b", "code": "200"}, inc: 5},
}

// matcher is one label="value" pair of a selector.
var matcher = regexp.MustCompile(`(\w+)="([^"]*)"`)

// matches reports whether the plain selector sel (name{l="v",...}, the
// only form these tests use) selects m.
func matches(sel string, m model.Metric) bool {
	name, rest, _ := strings.Cut(sel, "{")
	if name != "" && model.LabelValue(name) != m["__name__"] {
		return false
	}
	for _, lv := range matcher.FindAllStringSubmatch(rest, -1) {
		if m[model.LabelName(lv[1])] != model.LabelValue(lv[2]) {
			return false
		}
	}
	return true
}

// fakeProm is the fake Prometheus: raw samples of fakeSource up to the
// clock's now, the backfill's probe, and failure and blocking on demand.
type fakeProm struct {
	clock *fakeClock
	down  atomic.Bool
	// gate, when set at the time a querier is built, blocks that
	// querier's calls until it is closed or their context ends.
	gate atomic.Pointer[chan struct{}]
	// slowProbe, when set, is how far the clock moves while the next
	// backfill probe runs: a backfill that takes that long.
	slowProbe atomic.Int64
	// hang, while set, blocks every call until its context ends or hang
	// is cleared: a Prometheus that accepts connections and does not
	// answer.
	hang atomic.Bool
	// queriers counts the queriers built; those numbered up to hangUpTo
	// hang like hang does (a runtime's client, not the next one's).
	queriers, hangUpTo atomic.Int64
	// nanAfter, when not 0, turns every sample after that unix ms into NaN.
	nanAfter atomic.Int64
	// log records the calls: probes and raw reads.
	logMu sync.Mutex
	log   []call
}

// call is one query the fake answered (or was asked, when it failed).
type call struct {
	probe      bool
	expr       string // the selector read, or every selector of a probe
	start, end time.Time
}

// badURL is the Prometheus URL that hangs: the wrong address of a
// start-up that a reload fixes.
const badURL = "http://127.0.0.1:2"

// querier is one runtime's client.
type querier struct {
	scrape.NoStats
	p    *fakeProm
	gate *chan struct{}
	url  string
	seq  int64
}

func (p *fakeProm) newQuerier(c scrape.ClientConfig) (scrape.Querier, error) {
	return &querier{p: p, gate: p.gate.Load(), url: c.URL, seq: p.queriers.Add(1)}, nil
}

// calls returns the calls logged from index from on.
func (p *fakeProm) calls(from int) []call {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return append([]call(nil), p.log[min(from, len(p.log)):]...)
}

func (p *fakeProm) record(c call) {
	p.logMu.Lock()
	p.log = append(p.log, c)
	p.logMu.Unlock()
}

func (q *querier) wait(ctx context.Context) error {
	if q.url == badURL || q.seq <= q.p.hangUpTo.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	for q.p.hang.Load() { // answers once the hang ends
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if q.gate != nil {
		select {
		case <-*q.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if q.p.down.Load() {
		return errors.New("fake prometheus: connection refused")
	}
	return nil
}

var probePart = regexp.MustCompile(`label_replace\(sum\(count_over_time\((.*?)\[(\d+)ms\]\)\), "slo_exporter_probe", "(\d+)", "", ""\)`)

// Query answers the backfill's probe only.
func (q *querier) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	parts := probePart.FindAllStringSubmatch(expr, -1)
	if len(parts) == 0 {
		return nil, fmt.Errorf("fake prometheus: unexpected query %q", expr)
	}
	var exprs []string
	for _, m := range parts {
		exprs = append(exprs, m[1])
	}
	q.p.record(call{probe: true, expr: strings.Join(exprs, " "), end: ts})
	if err := q.wait(ctx); err != nil {
		return nil, err
	}
	if d := q.p.slowProbe.Swap(0); d > 0 {
		q.p.clock.advance(time.Duration(d))
	}
	var v model.Vector
	for _, m := range parts {
		span, _ := strconv.ParseInt(m[2], 10, 64)
		n := 0
		for _, ss := range q.p.samples(m[1], ts.Add(-time.Duration(span)*time.Millisecond), ts) {
			n += len(ss.Values)
		}
		if n > 0 {
			v = append(v, &model.Sample{Metric: model.Metric{"slo_exporter_probe": model.LabelValue(m[3])}, Value: model.SampleValue(n)})
		}
	}
	return v, nil
}

func (q *querier) QueryRange(ctx context.Context, expr string, _, _ time.Time, _ time.Duration) (model.Matrix, error) {
	return nil, fmt.Errorf("fake prometheus: unexpected range query %q", expr)
}

func (q *querier) RawSamples(ctx context.Context, sel string, start, end time.Time) (model.Matrix, error) {
	q.p.record(call{expr: sel, start: start, end: end})
	if err := q.wait(ctx); err != nil {
		return nil, err
	}
	return q.p.samples(sel, start, end), nil
}

// samples returns the samples of sel in (start, end], none after now.
func (p *fakeProm) samples(sel string, start, end time.Time) model.Matrix {
	if now := p.clock.Now(); end.After(now) {
		end = now
	}
	var m model.Matrix
	for _, s := range fakeSource {
		if !matches(sel, s.labels) {
			continue
		}
		ss := &model.SampleStream{Metric: s.labels}
		nan := p.nanAfter.Load()
		for n := sampleAfter(start); sampleTime(n) <= end.UnixMilli(); n++ {
			v := model.SampleValue(s.value(n))
			if nan != 0 && sampleTime(n) > nan {
				v = model.SampleValue(math.NaN())
			}
			ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(sampleTime(n)), Value: v})
		}
		if len(ss.Values) > 0 {
			m = append(m, ss)
		}
	}
	return m
}

func sampleTime(n int64) int64 { return n*1000 + 250 }

// sampleAfter is the first sample strictly after t.
func sampleAfter(t time.Time) int64 {
	n := (t.UnixMilli() - 250) / 1000
	for sampleTime(n) <= t.UnixMilli() {
		n++
	}
	for sampleTime(n-1) > t.UnixMilli() {
		n--
	}
	return n
}

// wantEvents is the test's own count of the events of the series matching
// sel in (from, to] per model, sample by sample: the increase from the
// previous sample, or the value itself after a restart.
func wantEvents(sel string, from, to time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, s := range fakeSource {
		if !matches(sel, s.labels) {
			continue
		}
		key := string(s.labels["model"])
		for n := sampleAfter(from); sampleTime(n) <= to.UnixMilli(); n++ {
			prev, v := s.value(n-1), s.value(n)
			if v < prev {
				out[key] += v
			} else {
				out[key] += v - prev
			}
		}
	}
	return out
}

// checkCounts compares every window of every group of snap with
// wantEvents (exact: the counts are integers) and requires data_up 1.
func checkCounts(t *testing.T, snap *evaluator.Snapshot) {
	t.Helper()
	T := snap.Time
	for _, sr := range snap.SLOs {
		if !sr.DataUp {
			t.Errorf("%s: data_up 0 at %s", sr.Spec.Name, T.Format(time.TimeOnly))
		}
		for wi, w := range sr.Windows {
			good := wantEvents(`app_requests_total{job="app",code="200"}`, T.Add(-w), T)
			valid := wantEvents(`app_requests_total{job="app"}`, T.Add(-w), T)
			if len(sr.Groups) != len(valid) {
				t.Errorf("%s: %d groups, want %d", sr.Spec.Name, len(sr.Groups), len(valid))
			}
			for _, g := range sr.Groups {
				key := g.Labels[0].Value
				if got := g.Windows[wi]; got.Good != good[key] || got.Valid != valid[key] {
					t.Errorf("%s at %s, window %s %q: good/valid %v/%v, raw samples %v/%v",
						sr.Spec.Name, T.Format(time.TimeOnly), model.Duration(w), key, got.Good, got.Valid, good[key], valid[key])
				}
			}
		}
	}
}

// testConfig is a configuration with one SLO named name, evaluated every
// 3s with a 3s query offset, on a Prometheus address nothing answers.
func testConfig(name string) string {
	return multiConfig("http://127.0.0.1:1", sloDef{name: name})
}

const (
	testInterval = 3 * time.Second
	testOffset   = 3 * time.Second
)

// harness runs one daemon on a fake clock and a fake Prometheus.
type harness struct {
	t     *testing.T
	clock *fakeClock
	prom  *fakeProm
	sink  *recordingSink
	// srv is the export server the daemon also publishes to, as serve
	// wires it: its /metrics and /-/ready are what users see.
	srv *export.Server
	d   *Daemon
	// yaml is the configuration the next load reads.
	yaml atomic.Pointer[string]
	// loads counts loads; inLoad and maxInLoad show whether two ran at once.
	loads, inLoad, maxInLoad atomic.Int32
	cancel                   context.CancelFunc
	done                     chan error
	// lastTimer is the number of the oldest timer idle may return.
	lastTimer int
}

// t0 is the start time, unaligned: 7.4s past a 3s boundary.
var t0 = time.Date(2026, 3, 1, 12, 0, 7, 400e6, time.UTC)

// newHarness starts a daemon; setup, if any, runs before it starts.
func newHarness(t *testing.T, promDown bool, setup ...func(*harness)) *harness {
	return newHarnessWith(t, promDown, testConfig("app-availability"), setup...)
}

// newHarnessWith starts a daemon on configuration y.
func newHarnessWith(t *testing.T, promDown bool, y string, setup ...func(*harness)) *harness {
	h := &harness{t: t, clock: newFakeClock(t0), sink: &recordingSink{}}
	h.prom = &fakeProm{clock: h.clock}
	h.prom.down.Store(promDown)
	h.yaml.Store(&y)
	store := export.NewStore()
	srv, err := export.NewServer(store, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	d, err := New(Options{
		Load:       h.load,
		Sink:       teeSink{h.sink, ExportSink(store, srv)},
		Logger:     zap.NewNop(),
		Now:        h.clock.Now,
		NewTimer:   h.clock.NewTimer,
		NewQuerier: h.prom.newQuerier,
		Registerer: srv.Registerer(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.d = d
	for _, f := range setup {
		f(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- d.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// teeSink publishes to each of its sinks in turn.
type teeSink []Sink

func (t teeSink) Publish(st *State) {
	for _, s := range t {
		s.Publish(st)
	}
}

// exported returns the values of the /metrics lines that start with
// prefix (a metric name, or a name and the start of its labels), in order.
func (h *harness) exported(prefix string) []string {
	h.t.Helper()
	var b strings.Builder
	if err := h.srv.WriteText(&b); err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line[strings.LastIndexByte(line, ' ')+1:])
		}
	}
	return out
}

// exportedValue is the value of the one /metrics line that starts with
// prefix.
func (h *harness) exportedValue(prefix string) float64 {
	h.t.Helper()
	got := h.exported(prefix)
	if len(got) != 1 {
		h.t.Fatalf("/metrics has %d lines starting with %q, want 1", len(got), prefix)
	}
	v, err := strconv.ParseFloat(got[0], 64)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// readyCode is the status of GET /-/ready.
func (h *harness) readyCode() int {
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/-/ready", nil))
	return rec.Code
}

// checkExported requires /metrics to show the SLO slo with data_up up and
// reload_successful reloadOK, and /-/ready to answer ready.
func (h *harness) checkExported(slo string, up, reloadOK bool, ready bool) {
	h.t.Helper()
	want := func(b bool) []string {
		if b {
			return []string{"1"}
		}
		return []string{"0"}
	}
	if got := h.exported(`slo_data_up{slo="` + slo + `",`); strings.Join(got, ",") != strings.Join(want(up), ",") {
		h.t.Errorf("/metrics: slo_data_up of %s is %v, want %v", slo, got, want(up))
	}
	if got := h.exported("slo_exporter_config_last_reload_successful "); strings.Join(got, ",") != strings.Join(want(reloadOK), ",") {
		h.t.Errorf("/metrics: slo_exporter_config_last_reload_successful is %v, want %v", got, want(reloadOK))
	}
	if code, wantCode := h.readyCode(), map[bool]int{true: http.StatusOK, false: http.StatusServiceUnavailable}[ready]; code != wantCode {
		h.t.Errorf("/-/ready answered %d, want %d", code, wantCode)
	}
}

func (h *harness) load() (*config.Config, error) {
	n := h.inLoad.Add(1)
	defer h.inLoad.Add(-1)
	for {
		m := h.maxInLoad.Load()
		if n <= m || h.maxInLoad.CompareAndSwap(m, n) {
			break
		}
	}
	h.loads.Add(1)
	time.Sleep(time.Millisecond) // widen the window two concurrent loads would overlap in
	return config.Parse("test.yaml", []byte(*h.yaml.Load()))
}

func (h *harness) setConfig(y string) { h.yaml.Store(&y) }

// stop cancels Run and waits for it to return.
func (h *harness) stop() {
	h.t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("Run did not return after the context was cancelled")
	}
}

// idle waits until the daemon waits on a timer (not one fired by fire)
// with no job of the running runtime at work (a tick's deadline timer
// runs while the tick does), and returns the timer.
func (h *harness) idle() *fakeTimer {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if h.d.working.Load() == 0 {
			tm := h.clock.waitTimer(h.t, h.lastTimer)
			if h.d.working.Load() == 0 {
				h.lastTimer = tm.id
				return tm
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatal("the daemon did not become idle")
		}
		time.Sleep(time.Millisecond)
	}
}

// tick fires the loop's timer and waits for the daemon to be idle again.
func (h *harness) tick() *State {
	h.t.Helper()
	tm := h.idle()
	if tm.at.Truncate(testInterval) != tm.at {
		h.t.Errorf("tick at %s is not aligned to the interval", tm.at.Format(time.StampMilli))
	}
	n := h.published()
	h.fire(tm)
	h.idle()
	st := h.last()
	if h.published() != n+1 {
		h.t.Errorf("a tick published %d states, want 1", h.published()-n)
	}
	if want := tm.at.Add(-testOffset); !st.Snapshot.Time.Equal(want) {
		h.t.Errorf("snapshot at %s, want the tick's time minus the offset, %s", st.Snapshot.Time, want)
	}
	return st
}

// fire fires tm; the next idle waits for a later timer.
func (h *harness) fire(tm *fakeTimer) {
	h.clock.fire(tm)
	h.lastTimer = tm.id + 1
}

func (h *harness) published() int {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	return len(h.sink.states)
}

func (h *harness) last() *State {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	return h.sink.states[len(h.sink.states)-1]
}

func (h *harness) states() []*State {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	return append([]*State(nil), h.sink.states...)
}

// names is the SLO names of a state's snapshot.
func names(st *State) string {
	if st.Snapshot == nil {
		return ""
	}
	var out []string
	for _, sr := range st.Snapshot.SLOs {
		out = append(out, sr.Spec.Name)
	}
	return strings.Join(out, ",")
}

func dataUp(st *State) bool {
	if st.Snapshot == nil {
		return false
	}
	for _, sr := range st.Snapshot.SLOs {
		if !sr.DataUp {
			return false
		}
	}
	return len(st.Snapshot.SLOs) > 0
}

// waitState polls the published states for one after index from.
func (h *harness) waitState(from int, what string, ok func(*State) bool) *State {
	h.t.Helper()
	_, st := h.sink.wait(h.t, from, what, ok)
	return st
}

func TestDaemonLoop(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"start-up backfill, first evaluation, ready, aligned ticks", func(t *testing.T) { testStartupAndTicks(t, 0) }},
		{"start-up backfill crossing a tick boundary", func(t *testing.T) { testStartupAndTicks(t, 4*time.Second) }},
		{"reload replaces the engine once the new one is ready", testReload},
		{"bad reload keeps the running SLOs", testBadReload},
		{"concurrent reloads are serialized", testConcurrentReloads},
		{"shutdown", testShutdown},
		{"prometheus down then back", testPrometheusDown},
	} {
		t.Run(tc.name, tc.run)
	}
}

// testStartupAndTicks starts the daemon with a backfill that takes
// backfillTakes on the clock. When it crosses a tick boundary, the tick
// after it is pulled before the first evaluation, which is at that tick.
func testStartupAndTicks(t *testing.T, backfillTakes time.Duration) {
	h := newHarness(t, false, func(h *harness) { h.prom.slowProbe.Store(int64(backfillTakes)) })
	h.idle()
	states := h.states()
	ready := -1
	for i, st := range states {
		if st.Ready {
			ready = i
			break
		}
		if st.NotReadyReason == "" || !strings.HasPrefix(st.NotReadyReason, "backfill") {
			t.Errorf("state %d before ready says %q, want backfill progress", i, st.NotReadyReason)
		}
	}
	if ready < 1 {
		t.Fatalf("want backfill progress and then one ready state; got ready at %d of %d", ready, len(states))
	}
	if ready != len(states)-1 {
		t.Errorf("%d states after the first ready one before the first tick", len(states)-1-ready)
	}
	st := states[ready]
	if !st.BackfillDone || !st.ReloadOK {
		t.Errorf("ready state: backfill done %v, reload ok %v", st.BackfillDone, st.ReloadOK)
	}
	if want := t0.Add(backfillTakes).Truncate(testInterval).Add(-testOffset); !st.Snapshot.Time.Equal(want) {
		t.Errorf("first snapshot at %s, want %s", st.Snapshot.Time, want)
	}
	if backfilledTo, crossed := st.Backfill.To, backfillTakes > 0; backfilledTo.Before(st.Snapshot.Time) != crossed ||
		(crossed && (st.Tick.Time != st.Snapshot.Time || st.Tick.Up != 1)) {
		t.Errorf("backfill to %s, first snapshot at %s, catch-up tick %+v", backfilledTo, st.Snapshot.Time, st.Tick)
	}
	if q, s := h.exported("slo_exporter_backfill_queries_total "), h.exported("slo_exporter_backfill_samples_total "); len(q) != 1 || q[0] == "0" || len(s) != 1 || s[0] == "0" {
		t.Errorf("/metrics: backfill cost not counted: queries %v, samples %v", q, s)
	}
	checkCounts(t, st.Snapshot)
	h.checkExported("app-availability", true, true, true)
	for range 4 {
		st := h.tick()
		if !st.Ready || st.Tick.Failed != 0 {
			t.Errorf("tick: ready %v, %d failed", st.Ready, st.Tick.Failed)
		}
		checkCounts(t, st.Snapshot)
	}
}

func testReload(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	backfillQueries := h.exportedValue("slo_exporter_backfill_queries_total ")
	counted := h.counters()
	ticks := counted["slo_exporter_ticks_total"]
	gate := make(chan struct{})
	h.prom.gate.Store(&gate)
	h.setConfig(testConfig("app-availability-v2"))
	if err := h.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The new engine's backfill is blocked: the old one keeps serving.
	for range 3 {
		st := h.tick()
		if names(st) != "app-availability" || !st.Ready || !dataUp(st) {
			t.Errorf("while the new configuration backfills: SLOs %s, ready %v, data_up %v", names(st), st.Ready, dataUp(st))
		}
		checkCounts(t, st.Snapshot)
		h.checkExported("app-availability", true, true, true)
	}
	n := h.published()
	h.prom.gate.Store(nil)
	close(gate)
	st := h.waitState(n, "the new configuration's snapshot", func(s *State) bool { return names(s) == "app-availability-v2" })
	if !st.Ready || !dataUp(st) || !st.ReloadOK {
		t.Errorf("after the swap: ready %v, data_up %v, reload ok %v", st.Ready, dataUp(st), st.ReloadOK)
	}
	if got := h.exportedValue("slo_exporter_backfill_queries_total "); got <= backfillQueries {
		t.Errorf("/metrics: backfill queries %v after the reload's backfill, %v before: the new runtime's cost was not added", got, backfillQueries)
	}
	// The new runtime counts into the same metrics: no counter restarts,
	// and the three ticks while it backfilled and the catch-up tick (if
	// any) went on counting.
	checkNoReset(t, counted, h.counters())
	if got := h.counters()["slo_exporter_ticks_total"]; got < ticks+3 {
		t.Errorf("ticks_total %v after 3 more ticks, %v before", got, ticks)
	}
	checkCounts(t, st.Snapshot)
	h.idle()
	h.checkExported("app-availability-v2", true, true, true)
	if got := h.exported(`slo_data_up{slo="app-availability",`); len(got) != 0 {
		t.Errorf("/metrics still shows the removed SLO: %v", got)
	}
	for range 2 {
		st := h.tick()
		if names(st) != "app-availability-v2" {
			t.Errorf("after the swap a tick evaluated %s", names(st))
		}
		checkCounts(t, st.Snapshot)
	}
}

func testBadReload(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	h.setConfig(strings.Replace(testConfig("renamed"), "objective: 99%", "objective: 150%", 1))
	err := h.d.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "test.yaml") || !strings.Contains(err.Error(), "objective") {
		t.Fatalf("reload of a bad configuration: %v, want an error naming the file and the field", err)
	}
	h.idle()
	st := h.last()
	if st.ReloadOK || names(st) != "app-availability" || !st.Ready {
		t.Errorf("after a bad reload: reload ok %v, SLOs %s, ready %v", st.ReloadOK, names(st), st.Ready)
	}
	h.checkExported("app-availability", true, false, true)
	for range 2 {
		st := h.tick()
		if st.ReloadOK || names(st) != "app-availability" || !dataUp(st) {
			t.Errorf("ticks after a bad reload: reload ok %v, SLOs %s, data_up %v", st.ReloadOK, names(st), dataUp(st))
		}
		checkCounts(t, st.Snapshot)
		h.checkExported("app-availability", true, false, true)
	}
	if got := h.loads.Load(); got != 2 {
		t.Errorf("%d loads, want 2", got)
	}
	// A good one afterwards sets reload_successful back to 1.
	h.setConfig(testConfig("app-availability"))
	if err := h.d.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.waitState(0, "reload ok again", func(s *State) bool { return s.ReloadOK && s.Ready })
	h.checkExported("app-availability", true, true, true)
}

func testConcurrentReloads(t *testing.T) {
	before := goruntime.NumGoroutine()
	h := newHarness(t, false)
	h.tick()
	gate := make(chan struct{})
	h.prom.gate.Store(&gate)
	h.setConfig(testConfig("app-availability-v2"))
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- h.d.Reload(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("reload: %v", err)
		}
	}
	// Reloads that wait while one loads are coalesced into the next load.
	if got := h.loads.Load(); got < 2 || got > n+1 {
		t.Errorf("%d loads, want 2 to %d", got, n+1)
	}
	if got := h.maxInLoad.Load(); got != 1 {
		t.Errorf("%d loads ran at once, want 1", got)
	}
	// Each reload cancelled the backfill before it: one is left blocked.
	// Run, its one backfill and the test's helpers stay within the bound.
	settle(t, before+4)
	h.prom.gate.Store(nil)
	close(gate)
	h.waitState(0, "the reloaded configuration", func(s *State) bool { return names(s) == "app-availability-v2" && s.Ready })
	h.stop()
	settle(t, before)
}

// settle waits for the number of goroutines to drop to at most bound.
func settle(t *testing.T, bound int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for goruntime.NumGoroutine() > bound {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", goruntime.NumGoroutine(), bound, buf[:goruntime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func testShutdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(h *harness)
	}{
		{"while waiting for a tick", func(h *harness) { h.tick() }},
		{"while the start-up backfill retries", func(h *harness) { h.prom.down.Store(true) }},
		{"while a reload backfills", func(h *harness) {
			h.idle()
			gate := make(chan struct{})
			h.prom.gate.Store(&gate)
			if err := h.d.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := goruntime.NumGoroutine()
			h := newHarness(t, tc.name == "while the start-up backfill retries")
			tc.setup(h)
			h.idle()
			h.stop()
			if n := h.clock.active(); n != 0 {
				t.Errorf("%d timers left running after shutdown", n)
			}
			n := h.published()
			h.clock.advance(time.Hour)
			settle(t, before)
			if got := h.published(); got != n {
				t.Errorf("%d states published after shutdown", got-n)
			}
			if err := h.d.Reload(canceled()); !errors.Is(err, context.Canceled) {
				t.Errorf("reload after shutdown: %v, want context.Canceled", err)
			}
		})
	}
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func testPrometheusDown(t *testing.T) {
	h := newHarness(t, true)
	retry := h.idle()
	st := h.last()
	if st.Ready || dataUp(st) || !strings.HasPrefix(st.NotReadyReason, "backfill failed") {
		t.Errorf("prometheus down at start: ready %v, data_up %v, reason %q", st.Ready, dataUp(st), st.NotReadyReason)
	}
	h.checkExported("app-availability", false, true, false)
	if retry.at.Sub(t0) != testInterval {
		t.Errorf("the backfill is retried after %s, want the interval", retry.at.Sub(t0))
	}
	// Still down at the first retry.
	h.fire(retry)
	retry = h.idle()
	if st := h.last(); st.Ready || dataUp(st) {
		t.Errorf("second attempt: ready %v, data_up %v", st.Ready, dataUp(st))
	}
	h.prom.down.Store(false)
	n := h.published()
	h.fire(retry)
	h.idle()
	st = h.waitState(n, "ready", func(s *State) bool { return s.Ready })
	if !dataUp(st) || !st.BackfillDone {
		t.Errorf("prometheus back at start-up: data_up %v, backfill done %v", dataUp(st), st.BackfillDone)
	}
	checkCounts(t, st.Snapshot)
	h.checkExported("app-availability", true, true, true)

	// Down between ticks: data_up 0 while it is, the gap is filled after.
	h.prom.down.Store(true)
	for range 3 {
		st := h.tick()
		if !st.Ready || dataUp(st) || st.Tick.Failed == 0 {
			t.Errorf("tick while down: ready %v, data_up %v, %d failed", st.Ready, dataUp(st), st.Tick.Failed)
		}
		h.checkExported("app-availability", false, true, true)
	}
	h.prom.down.Store(false)
	st = h.tick()
	if st.Tick.GapSteps == 0 {
		t.Errorf("no gap backfilled after the outage: %+v", st.Tick)
	}
	checkCounts(t, st.Snapshot)
	h.checkExported("app-availability", true, true, true)
	checkCounts(t, h.tick().Snapshot)
}
