package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// The tests in this file prove that reloads and ticks cannot hang the
// daemon, that a reload keeps the state of unchanged SLOs, and that
// slo_data_up says whether the numbers are current. They run on the fake
// clock and the fake Prometheus of daemon_test.go.

// goodURL is the fake Prometheus' working address (any but badURL).
const goodURL = "http://127.0.0.1:1"

// sloDef is one SLO of multiConfig: variant is appended inside its
// selectors' braces (",": the same series through a different
// expression, so that two SLOs share no query).
type sloDef struct {
	name, objective, variant string
}

// multiConfig is a configuration on Prometheus url with the given SLOs,
// evaluated every 3s with a 3s query offset.
func multiConfig(url string, slos ...sloDef) string {
	var b strings.Builder
	fmt.Fprintf(&b, `global:
  evaluation_interval: 3s
  query_offset: 3s
  backfill: true
prometheus:
  url: %s
slos:
`, url)
	for _, s := range slos {
		if s.objective == "" {
			s.objective = "99%"
		}
		fmt.Fprintf(&b, `  - name: %s
    service: app
    objective: %s
    period: 1h
    group_by: [model]
    windows: [3s, 6s, 15s, 30s, 1m]
    sli:
      ratio:
        good: 'app_requests_total{job="app",code="200"%s}'
        valid: 'app_requests_total{job="app"%s}'
    alerting:
      tiers:
        - {name: fast, budget_fraction: 0.05, long_window: 15m, short_window: 3m}
        - {name: medium, enabled: false}
        - {name: slow, enabled: false}
        - {name: long, enabled: false}
`, s.name, s.objective, s.variant, s.variant)
	}
	return b.String()
}

// eventually polls cond until it holds; it fails the test after 20s of
// wall time (a hang detector, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// reloadNow reloads and fails the test if the answer does not come
// within 20s of wall time: Reload must not wait for ticks, backfills or
// Prometheus (it does in the fake's hangs, forever).
func (h *harness) reloadNow() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.d.Reload(ctx); err != nil {
		h.t.Fatalf("reload: %v", err)
	}
}

func TestReloadAndDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"a reload replaces a start-up stuck on a wrong URL", testStuckStartupReplaced},
		{"a hung tick is abandoned at its deadline, data_up 0, then 1", testHungTickDeadline},
		{"a reload during a hung tick is answered and applied", testReloadDuringHungTick},
		{"an unchanged reload keeps the state and queries no history", testUnchangedReloadKeepsState},
		{"a reload backfills only the changed SLO", testChangedSLOOnlyBackfilled},
		{"a storm of reloads stays bounded and applies the last", testReloadStorm},
		{"a tick whose samples are all refused sets data_up 0", testRefusedSamplesDown},
	} {
		t.Run(tc.name, tc.run)
	}
}

func testStuckStartupReplaced(t *testing.T) {
	before := goruntime.NumGoroutine()
	h := newHarnessWith(t, false, multiConfig(badURL, sloDef{name: "app-availability"}))
	// The start-up backfill's probe hangs on the wrong address.
	eventually(t, "the start-up probe", func() bool { return len(h.prom.calls(0)) > 0 })
	if code := h.readyCode(); code != 503 {
		t.Errorf("/-/ready while the start-up hangs: %d", code)
	}
	h.setConfig(multiConfig(goodURL, sloDef{name: "app-availability"}))
	h.reloadNow()
	st := h.waitState(0, "ready after the fixed configuration", func(s *State) bool { return s.Ready })
	if !st.BackfillDone || !dataUp(st) {
		t.Errorf("after the reload: backfill done %v, data_up %v", st.BackfillDone, dataUp(st))
	}
	checkCounts(t, st.Snapshot)
	h.idle()
	h.checkExported("app-availability", true, true, true)
	for range 2 {
		checkCounts(t, h.tick().Snapshot)
	}
	h.stop()
	settle(t, before) // the hung start-up's goroutines ended too
}

func testHungTickDeadline(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	h.prom.hang.Store(true)
	tm := h.idle()
	n := h.published()
	h.fire(tm)
	deadline := h.clock.waitTimer(t, tm.id+1)
	if got, want := deadline.at.Sub(tm.at), time.Duration(float64(testInterval)*DefaultTickTimeoutRatio); got != want {
		t.Errorf("tick deadline %s after the tick, want %s", got, want)
	}
	h.fire(deadline)
	st := h.waitState(n, "the abandoned tick", func(s *State) bool { return s.TicksMissed > 0 })
	if st.TicksMissed != 1 || dataUp(st) || !st.Ready {
		t.Errorf("after a missed deadline: %d missed, data_up %v, ready %v", st.TicksMissed, dataUp(st), st.Ready)
	}
	if want := tm.at.Add(-testOffset); !st.Snapshot.Time.Equal(want) {
		t.Errorf("abandoned tick's snapshot at %s, want %s", st.Snapshot.Time, want)
	}
	h.idle()
	h.checkExported("app-availability", false, true, true)
	if got := h.exported("slo_exporter_ticks_missed_total "); len(got) != 1 || got[0] != "1" {
		t.Errorf("/metrics: slo_exporter_ticks_missed_total %v, want 1", got)
	}
	h.prom.hang.Store(false)
	st = h.tick()
	if !dataUp(st) || st.TicksMissed != 1 {
		t.Errorf("tick after the hang: data_up %v, %d missed", dataUp(st), st.TicksMissed)
	}
	checkCounts(t, st.Snapshot) // the gap was backfilled
	h.checkExported("app-availability", true, true, true)
}

func testReloadDuringHungTick(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	h.prom.hangUpTo.Store(h.prom.queriers.Load()) // the running client hangs, the next one not
	tm := h.idle()
	n := h.published()
	h.fire(tm)
	h.clock.waitTimer(t, tm.id+1) // the tick is in flight
	h.reloadNow()
	st := h.waitState(n, "the reloaded runtime's snapshot", func(s *State) bool { return s.Carried == 1 })
	if !dataUp(st) || st.TicksMissed != 0 || !st.Ready {
		t.Errorf("after a reload during a hung tick: data_up %v, %d missed, ready %v", dataUp(st), st.TicksMissed, st.Ready)
	}
	if want := tm.at.Add(-testOffset); !st.Snapshot.Time.Equal(want) {
		t.Errorf("snapshot at %s, want the cancelled tick's time %s", st.Snapshot.Time, want)
	}
	checkCounts(t, st.Snapshot)
	h.idle()
	if n := h.clock.active(); n != 1 {
		t.Errorf("%d timers running, want the next tick's only (the cancelled tick's deadline must stop)", n)
	}
	for range 2 {
		checkCounts(t, h.tick().Snapshot)
	}
}

func testUnchangedReloadKeepsState(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	before := h.tick()
	h.idle()
	from := len(h.prom.calls(0))
	n := h.published()
	h.reloadNow()
	st := h.waitState(n, "the reloaded runtime's snapshot", func(s *State) bool { return s.Carried == 1 })
	if calls := h.prom.calls(from); len(calls) != 0 {
		t.Errorf("an unchanged reload at the same tick queried Prometheus %d times: %+v", len(calls), calls)
	}
	if bq := h.d.runningPuller().BackfillQueries; st.Rebackfilled != 0 || bq != 0 {
		t.Errorf("unchanged reload: %d SLOs backfilled again, %d backfill queries", st.Rebackfilled, bq)
	}
	if !st.Snapshot.Time.Equal(before.Snapshot.Time) || !reflect.DeepEqual(st.Snapshot.SLOs[0].Groups, before.Snapshot.SLOs[0].Groups) {
		t.Errorf("the windows changed across an unchanged reload:\nbefore %+v\nafter  %+v", before.Snapshot.SLOs[0].Groups, st.Snapshot.SLOs[0].Groups)
	}
	if !dataUp(st) {
		t.Error("data_up 0 after an unchanged reload")
	}
	checkCounts(t, st.Snapshot)
	// Ticks go on from the kept trackers: every later read is a tick's,
	// at most two intervals long.
	h.idle()
	from = len(h.prom.calls(0))
	for range 3 {
		checkCounts(t, h.tick().Snapshot)
	}
	for _, c := range h.prom.calls(from) {
		if c.probe || c.end.Sub(c.start) > 2*testInterval {
			t.Errorf("after an unchanged reload, a read of %s over %s: history was read again", c.expr, c.end.Sub(c.start))
		}
	}
}

func testChangedSLOOnlyBackfilled(t *testing.T) {
	a := sloDef{name: "app-a"}
	b := sloDef{name: "app-b", variant: ","}
	h := newHarnessWith(t, false, multiConfig(goodURL, a, b))
	h.tick()
	h.idle()
	from := len(h.prom.calls(0))
	n := h.published()
	b.objective = "98%"
	h.setConfig(multiConfig(goodURL, a, b))
	h.reloadNow()
	st := h.waitState(n, "the reloaded runtime's snapshot", func(s *State) bool { return s.Carried == 1 })
	if st.Rebackfilled != 1 || st.Snapshot.SLOs[1].Spec.Objective != 0.98 {
		t.Errorf("%d SLOs backfilled again, objective of app-b %v", st.Rebackfilled, st.Snapshot.SLOs[1].Spec.Objective)
	}
	probes := 0
	for _, c := range h.prom.calls(from) {
		changed := strings.Contains(c.expr, `",}`)
		if c.probe {
			probes++
			for _, e := range strings.Fields(c.expr) {
				if !strings.Contains(e, `",}`) {
					t.Errorf("the backfill probed the unchanged SLO's %s", e)
				}
			}
			continue
		}
		if !changed && c.end.Sub(c.start) > 2*testInterval {
			t.Errorf("the unchanged SLO's %s was read over %s: its history was read again", c.expr, c.end.Sub(c.start))
		}
	}
	if probes == 0 {
		t.Error("the changed SLO was not backfilled")
	}
	checkCounts(t, st.Snapshot)
	h.idle()
	for range 2 {
		checkCounts(t, h.tick().Snapshot)
	}
}

func testReloadStorm(t *testing.T) {
	before := goruntime.NumGoroutine()
	h := newHarness(t, false)
	h.tick()
	h.idle()
	// Prometheus hangs: every reload's backfill blocks until the next
	// reload cancels it.
	h.prom.hang.Store(true)
	const n = 50
	for i := 1; i <= n; i++ {
		h.setConfig(testConfig(fmt.Sprintf("app-v%d", i)))
		h.reloadNow()
	}
	// Run, one blocked backfill and the test's helpers.
	settle(t, before+4)
	if got := h.loads.Load(); got != n+1 {
		t.Errorf("%d loads, want %d", got, n+1)
	}
	h.prom.hang.Store(false)
	st := h.waitState(0, "the last configuration", func(s *State) bool { return names(s) == fmt.Sprintf("app-v%d", n) })
	if !st.Ready || !dataUp(st) || !st.ReloadOK {
		t.Errorf("after the storm: ready %v, data_up %v, reload ok %v", st.Ready, dataUp(st), st.ReloadOK)
	}
	checkCounts(t, st.Snapshot)
	for _, s := range h.states() {
		if name := names(s); name != "" && name != "app-availability" && name != fmt.Sprintf("app-v%d", n) {
			t.Errorf("a state of %s was published: only the last reload should be applied", name)
			break
		}
	}
	h.stop()
	settle(t, before)
}

func testRefusedSamplesDown(t *testing.T) {
	h := newHarness(t, false)
	h.tick()
	h.idle()
	// Every sample after the last pull is NaN.
	h.prom.nanAfter.Store(h.clock.Now().Add(-testOffset).UnixMilli())
	st := h.tick()
	if dataUp(st) || st.Tick.Failed != 0 {
		t.Errorf("a tick whose samples are all NaN: data_up %v, %d queries failed", dataUp(st), st.Tick.Failed)
	}
	found := false
	for _, err := range st.Tick.Errors {
		found = found || strings.Contains(err.Error(), "refused as invalid")
	}
	if !found {
		t.Errorf("no error says the samples were refused: %v", st.Tick.Errors)
	}
	h.checkExported("app-availability", false, true, true)
	h.prom.nanAfter.Store(0)
	if st := h.tick(); !dataUp(st) {
		t.Error("data_up stays 0 after valid samples returned")
	}
	h.checkExported("app-availability", true, true, true)
}

// TestReloadStormRealClient sends 50 concurrent reloads (a burst of POST
// /-/reload) to a daemon whose real HTTP client talks to a Prometheus that
// accepts connections and never answers, during the start-up (the stuck
// start-up each reload replaces). Every caller is answered, and once the
// burst is over the goroutines and open files are back near the baseline:
// the cancelled start-ups closed their requests and connections.
func TestReloadStormRealClient(t *testing.T) {
	var requests atomic.Int64
	// The handler reads the form body first: only then does the server
	// notice that the client closed the connection.
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hung.Close()
	goroutines, fds := goruntime.NumGoroutine(), openFiles(t)
	y := multiConfig(hung.URL, sloDef{name: "app-availability"})
	var loads atomic.Int32
	d, err := New(Options{
		Load: func() (*config.Config, error) {
			loads.Add(1)
			return config.Parse("test.yaml", []byte(y))
		},
		Sink:   &recordingSink{},
		Logger: zap.NewNop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	// Five waves of ten concurrent reloads: each wave replaces the
	// start-up the one before started (its request in flight).
	for range 5 {
		before := requests.Load()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
				defer rcancel()
				if err := d.Reload(rctx); err != nil {
					t.Errorf("reload: %v", err)
				}
			})
		}
		wg.Wait()
		eventually(t, "a request of the new start-up", func() bool { return requests.Load() > before })
	}
	if got := loads.Load(); got < 6 || got > 51 {
		t.Errorf("%d loads for 5 waves of 10 reloads, want 6 to 51", got)
	}
	// Run, the last start-up's backfill with its one request and
	// connection (client and server side), and the test server.
	settle(t, goroutines+12)
	if got := openFiles(t); got > fds+4 {
		t.Errorf("%d files open after the burst, %d before", got, fds)
	}
	t.Logf("after %d loads (%d requests): %d goroutines (%d before), %d open files (%d before)",
		loads.Load(), requests.Load(), goruntime.NumGoroutine(), goroutines, openFiles(t), fds)
	cancel()
	<-done
	settle(t, goroutines+2)
}

// openFiles is the number of the process' open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// runningPuller returns the running runtime's puller statistics.
func (d *Daemon) runningPuller() scrape.Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cur.puller.Stats()
}
