package daemon

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/evaluator"
	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// restartingCounters is scraped by Prometheus: at every scrape model "a"
// grows by 7 good and 1 bad request and model "b" by 5 good, and model a
// restarts (drops to its increment) every 4th scrape.
type restartingCounters struct {
	mu      sync.Mutex
	scrapes int
	vals    map[string]float64
}

func (rc *restartingCounters) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.scrapes++
	var b strings.Builder
	b.WriteString("# TYPE app_requests_total counter\n")
	for _, s := range []struct {
		model, code string
		inc         float64
	}{{"a", "200", 7}, {"a", "500", 1}, {"b", "200", 5}} {
		key := s.model + "/" + s.code
		if s.model == "a" && rc.scrapes%4 == 0 {
			rc.vals[key] = s.inc
		} else {
			rc.vals[key] += s.inc
		}
		fmt.Fprintf(&b, "app_requests_total{model=%q,code=%q} %g\n", s.model, s.code, rc.vals[key])
	}
	_, _ = w.Write([]byte(b.String()))
}

// crossingQuerier delays the first backfill of its runtime (at its probe)
// until after the next tick boundary, so that the backfill ends before the
// tick the daemon then evaluates.
type crossingQuerier struct {
	scrape.Querier
	iv      time.Duration
	delayed bool
}

func (c *crossingQuerier) Query(ctx context.Context, expr string, ts time.Time) (model.Vector, error) {
	if !c.delayed && strings.Contains(expr, `"slo_exporter_probe"`) {
		c.delayed = true
		time.Sleep(time.Until(time.Now().Truncate(c.iv).Add(c.iv + c.iv/3)))
	}
	return c.Querier.Query(ctx, expr, ts)
}

// recordingSink keeps every published state.
type recordingSink struct {
	mu     sync.Mutex
	states []*State
}

func (s *recordingSink) Publish(st *State) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
}

// wait returns the first state after index from that satisfies ok.
func (s *recordingSink) wait(t *testing.T, from int, what string, ok func(*State) bool) (int, *State) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for i := from; i < len(s.states); i++ {
			if ok(s.states[i]) {
				st := s.states[i]
				s.mu.Unlock()
				return i, st
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no state: %s", what)
	return 0, nil
}

// rawEvents is the test's own count of the events of sel in (from, to]
// per model, from the raw samples of sel[range] (never increase()):
// reset-aware deltas between consecutive samples, the first against the
// last sample at or before from.
func rawEvents(t *testing.T, srv *promtest.Server, sel string, from, to time.Time) map[string]float64 {
	t.Helper()
	m, err := srv.QueryMatrix(context.Background(), fmt.Sprintf("%s[%s]", sel, model.Duration(to.Sub(from)+2*time.Minute)), to)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, ss := range m {
		key := string(ss.Metric["model"])
		var prev float64
		have := false
		for _, sp := range ss.Values {
			ts, v := sp.Timestamp.Time(), float64(sp.Value)
			if ts.After(to) {
				break
			}
			if ts.After(from) && have {
				if v < prev {
					out[key] += v
				} else {
					out[key] += v - prev
				}
			}
			prev, have = v, true
		}
	}
	return out
}

// checkSnapshot compares every window of every group with rawEvents and
// requires data_up 1.
func checkSnapshot(t *testing.T, srv *promtest.Server, snap *evaluator.Snapshot) {
	t.Helper()
	T := snap.Time
	for _, sr := range snap.SLOs {
		if !sr.DataUp {
			t.Errorf("%s: data_up 0 at %s", sr.Spec.Name, T.Format(time.TimeOnly))
		}
		for wi, w := range sr.Windows {
			good := rawEvents(t, srv, `app_requests_total{job="app",code="200"}`, T.Add(-w), T)
			valid := rawEvents(t, srv, `app_requests_total{job="app"}`, T.Add(-w), T)
			if len(sr.Groups) != len(valid) {
				t.Errorf("%s: %d groups, raw samples have %d", sr.Spec.Name, len(sr.Groups), len(valid))
			}
			for _, g := range sr.Groups {
				key := g.Labels[0].Value
				got := g.Windows[wi]
				if !closeRel(got.Good, good[key]) || !closeRel(got.Valid, valid[key]) {
					t.Errorf("%s at %s, window %s %q: engine good/valid %v/%v, raw samples %v/%v",
						sr.Spec.Name, T.Format(time.TimeOnly), model.Duration(w), key, got.Good, got.Valid, good[key], valid[key])
				}
			}
		}
	}
}

func closeRel(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestStartupAndReloadSnapshots runs the daemon against a real Prometheus
// scraping restarting counters every second, with a backfill that ends
// after a tick boundary (at start-up and again after a reload): the first
// snapshot served as ready, and the first one of the reloaded
// configuration, hold every interval up to their stamp (every window
// equals the raw-sample count) with slo_data_up 1, and data_up never
// drops to 0 around the reload.
func TestStartupAndReloadSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	srv := startCounters(t)

	const iv = 3 * time.Second
	yaml := countersConfig(srv.URL)
	sink := &recordingSink{}
	reg := prometheus.NewPedanticRegistry()
	d, err := New(Options{
		Load:       func() (*config.Config, error) { return config.Parse("test.yaml", []byte(yaml)) },
		Sink:       sink,
		Logger:     zaptest.NewLogger(t),
		Registerer: reg,
		NewQuerier: func(c scrape.ClientConfig) (scrape.Querier, error) {
			cl, err := scrape.NewClient(c)
			return &crossingQuerier{Querier: cl, iv: iv}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runDaemon(t, d)

	i, ready := sink.wait(t, 0, "ready", func(s *State) bool { return s.Ready })
	if !ready.BackfillDone || !ready.Snapshot.Time.After(ready.Backfill.To) {
		t.Errorf("first ready snapshot at %s, backfill to %s: the backfill was made to end before a tick boundary",
			ready.Snapshot.Time, ready.Backfill.To)
	}
	// The probe and one read (valid holds the good series).
	before := gatherValues(t, reg)
	if before["slo_exporter_backfill_queries_total"] != 2 || before["slo_exporter_backfill_samples_total"] == 0 ||
		before["slo_exporter_backfill_duration_seconds_total"] <= 0 || before["slo_exporter_source_resets_total"] == 0 {
		t.Errorf("backfill cost and resets not counted: %v", before)
	}
	time.Sleep(time.Until(ready.Snapshot.Time.Add(iv + 2*time.Second))) // ingested up to the stamp
	checkSnapshot(t, srv, ready.Snapshot)

	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	first := &ready.Meta[0]
	j, _ := sink.wait(t, i, "reloaded", func(s *State) bool { return len(s.Meta) > 0 && &s.Meta[0] != first })
	// The unchanged SLO's state was carried over: the swap is immediate
	// and its snapshot may be the last tick's; wait for a tick of the new
	// runtime.
	j, swapped := sink.wait(t, j, "a tick after the reload", func(s *State) bool {
		return len(s.Meta) > 0 && &s.Meta[0] != first && s.Snapshot.Time.After(ready.Snapshot.Time) && s.Tick.Time.Equal(s.Snapshot.Time)
	})
	time.Sleep(time.Until(swapped.Snapshot.Time.Add(2 * time.Second))) // ingested up to the stamp
	checkSnapshot(t, srv, swapped.Snapshot)
	// The reload's runtime counted into the same metrics: nothing was
	// registered twice (the registry would refuse to gather) and no
	// counter went back; the configuration did not change, so the SLO's
	// state was carried over and nothing was backfilled again.
	after := gatherValues(t, reg)
	for name, v := range before {
		if strings.HasSuffix(name, "_total") && after[name] < v {
			t.Errorf("%s went from %v to %v across the reload", name, v, after[name])
		}
	}
	if got, want := after["slo_exporter_backfill_queries_total"], before["slo_exporter_backfill_queries_total"]; got != want {
		t.Errorf("backfill queries %v after an unchanged reload, want %v: its state was not carried over", got, want)
	}
	// The carried trackers' counts were exported once, by the puller they
	// come from: no series is new to an unchanged reload.
	if got, want := after["slo_exporter_source_new_series_total"], before["slo_exporter_source_new_series_total"]; got != want {
		t.Errorf("new series %v after an unchanged reload, %v before: the carried trackers were counted twice", got, want)
	}
	if after["slo_exporter_ticks_total"] <= before["slo_exporter_ticks_total"] {
		t.Errorf("ticks did not go on counting across the reload: %v then %v", before["slo_exporter_ticks_total"], after["slo_exporter_ticks_total"])
	}
	sink.mu.Lock()
	for _, s := range sink.states[i : j+1] {
		for _, sr := range s.Snapshot.SLOs {
			if !sr.DataUp {
				t.Errorf("data_up 0 at %s around the reload", s.Snapshot.Time.Format(time.TimeOnly))
			}
		}
	}
	sink.mu.Unlock()
}

// gatherValues gathers reg as /metrics does and returns each counter's and
// gauge's value by name (and labels in braces, when it has some), and
// name_count of each histogram. A registration or collection problem fails
// the test.
func gatherValues(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				var ls []string
				for _, l := range m.GetLabel() {
					ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
				}
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// startCounters starts restartingCounters and a real Prometheus scraping
// them every second, and waits for 10 scrapes of history.
func startCounters(t *testing.T) *promtest.Server {
	t.Helper()
	src := &restartingCounters{vals: map[string]float64{}}
	hs := httptest.NewServer(src)
	t.Cleanup(hs.Close)
	srv := promtest.Start(t, promtest.Options{ConfigYAML: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(hs.URL, "http://"))})
	// Some history to backfill: 10 scrapes.
	deadline := time.Now().Add(40 * time.Second)
	for {
		v, err := srv.Query(context.Background(), `count_over_time(app_requests_total{model="b"}[1m])`, time.Now())
		if err == nil && len(v) == 1 && v[0].Value >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the source was not scraped: %v %v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return srv
}

// runDaemon runs d until the test ends, and returns the context it runs
// in (for Reload calls).
func runDaemon(t *testing.T, d *Daemon) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}

// countersConfig is the daemon's configuration for restartingCounters on
// the Prometheus at url, evaluated every 3s with a 3s query offset.
func countersConfig(url string) string {
	return multiConfig(url, sloDef{name: "app-availability"})
}

// TestUnchangedReloadKeepsWindows runs the daemon against a real
// Prometheus and reloads an unchanged configuration right after a tick:
// the reloaded engine's first snapshot has the same windows as the last
// one before (nothing lost, nothing read again: its puller issued no
// backfill query), every later window still equals the raw-sample count,
// and slo_data_up is 1 in every state published around the reload.
func TestUnchangedReloadKeepsWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prometheus")
	}
	srv := startCounters(t)
	const iv = 3 * time.Second
	yaml := countersConfig(srv.URL)
	sink := &recordingSink{}
	d, err := New(Options{
		Load:   func() (*config.Config, error) { return config.Parse("test.yaml", []byte(yaml)) },
		Sink:   sink,
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := runDaemon(t, d)

	i, _ := sink.wait(t, 0, "ready", func(s *State) bool { return s.Ready })
	// Reload just after a tick was published, so that the reloaded engine
	// evaluates at the same time (a tick boundary crossed in between is
	// caught below and makes the test retry).
	var before, after *State
	var bi, j int
	for attempt := 0; attempt < 5 && after == nil; attempt++ {
		var b *State
		i, b = sink.wait(t, i+1, "a tick", func(s *State) bool { return s.Ready && s.Tick.Time.Equal(s.Snapshot.Time) })
		if err := d.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		k, a := sink.wait(t, i+1, "the reloaded snapshot", func(s *State) bool { return s.Carried == 1 && s.ReloadTime.After(b.ReloadTime) })
		if a.Snapshot.Time.Equal(b.Snapshot.Time) {
			before, after, bi, j = b, a, i, k
		}
		i = k
	}
	if after == nil {
		t.Fatal("every reload crossed a tick boundary")
	}
	if bq := d.runningPuller().BackfillQueries; bq != 0 || after.Rebackfilled != 0 {
		t.Errorf("an unchanged reload backfilled: %d queries, %d SLOs", bq, after.Rebackfilled)
	}
	if !reflect.DeepEqual(before.Snapshot.SLOs[0].Groups, after.Snapshot.SLOs[0].Groups) {
		t.Errorf("windows changed across the reload:\nbefore %+v\nafter  %+v", before.Snapshot.SLOs[0].Groups, after.Snapshot.SLOs[0].Groups)
	}
	// Three more ticks on the kept state.
	k, last := sink.wait(t, j+1, "three ticks after the reload", func(s *State) bool {
		return s.Snapshot.Time.Sub(after.Snapshot.Time) >= 3*iv
	})
	time.Sleep(time.Until(last.Snapshot.Time.Add(iv + 2*time.Second))) // ingested up to the stamp
	sink.mu.Lock()
	states := append([]*State(nil), sink.states[bi:k+1]...)
	sink.mu.Unlock()
	checked := map[time.Time]bool{}
	for _, s := range states {
		for _, sr := range s.Snapshot.SLOs {
			if !sr.DataUp {
				t.Errorf("data_up 0 at %s around the reload", s.Snapshot.Time.Format(time.TimeOnly))
			}
		}
		if !checked[s.Snapshot.Time] {
			checked[s.Snapshot.Time] = true
			checkSnapshot(t, srv, s.Snapshot)
		}
	}
}
