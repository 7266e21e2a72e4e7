package export

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/evaluator"
)

// historySnapshot is the fixture at time t, with resnet50's 5m burn rate
// and budget set from i, so every recorded point can be identified.
func historySnapshot(t time.Time, i int) *evaluator.Snapshot {
	snap, _ := fixture()
	snap.Time = t
	g := &snap.SLOs[0].Groups[1]
	g.Windows[0].BurnRate = float64(i)
	g.Budget.RemainingRatio = 1 - float64(i)/1000
	return snap
}

// TestHistoryBounded: whatever the number of evaluations, a group keeps at
// most maxPoints points, evenly spaced, starting at the first evaluation
// and each equal to the evaluation recorded at its time.
func TestHistoryBounded(t *testing.T) {
	for _, tc := range []struct{ maxPoints, evals int }{
		{8, 3}, {8, 8}, {8, 9}, {8, 100}, {7, 100}, {256, 5000}, {2, 17},
	} {
		h := NewHistory(tc.maxPoints, 10)
		for i := range tc.evals {
			h.Record(historySnapshot(fixtureTime.Add(time.Duration(i)*time.Minute), i))
		}
		pts := h.points("model-api-availability", []evaluator.Label{{Name: "model", Value: "resnet50"}})
		if len(pts) == 0 || len(pts) >= tc.maxPoints && tc.evals >= tc.maxPoints {
			t.Errorf("%+v: %d points, want 1 to %d", tc, len(pts), tc.maxPoints-1)
		}
		if len(pts) > tc.maxPoints {
			t.Errorf("%+v: %d points exceed the bound", tc, len(pts))
		}
		if !pts[0].t.Equal(fixtureTime) {
			t.Errorf("%+v: first point at %v, want the first evaluation", tc, pts[0].t)
		}
		var step time.Duration
		for i, p := range pts {
			idx := int(p.t.Sub(fixtureTime) / time.Minute)
			if p.burn[0] != float64(idx) || p.remaining != 1-float64(idx)/1000 {
				t.Errorf("%+v: point %d at evaluation %d holds burn %v, remaining %v", tc, i, idx, p.burn[0], p.remaining)
			}
			if i > 0 {
				d := p.t.Sub(pts[i-1].t)
				if step == 0 {
					step = d
				}
				if d != step {
					t.Errorf("%+v: uneven spacing: %v after %v", tc, d, step)
					break
				}
			}
		}
		// The points cover the run: the last is within one spacing of the
		// last evaluation.
		last := fixtureTime.Add(time.Duration(tc.evals-1) * time.Minute)
		if gap := last.Sub(pts[len(pts)-1].t); step > 0 && gap >= step {
			t.Errorf("%+v: last point %v before the last evaluation, spacing %v", tc, gap, step)
		}
	}
}

// TestHistoryGroups: absent values are NaN, groups past the cap get no
// history, and groups that disappear are forgotten.
func TestHistoryGroups(t *testing.T) {
	h := NewHistory(16, 2)
	h.Record(historySnapshot(fixtureTime, 1))
	if h.len() != 2 {
		t.Fatalf("%d groups with a history, want the cap 2", h.len())
	}
	bert := h.points("model-api-availability", []evaluator.Label{{Name: "model", Value: "bert"}})
	if len(bert) != 1 || !math.IsNaN(bert[0].burn[0]) || math.IsNaN(bert[0].burn[1]) {
		t.Errorf("bert: a window without valid events must be NaN, others not: %+v", bert)
	}
	if p := h.points("batch-success", nil); p != nil {
		t.Errorf("a group past the cap has a history: %+v", p)
	}
	snap := historySnapshot(fixtureTime.Add(time.Minute), 2)
	snap.SLOs = snap.SLOs[1:] // model-api-availability removed by a reload
	h.Record(snap)
	if p := h.points("model-api-availability", []evaluator.Label{{Name: "model", Value: "resnet50"}}); p != nil {
		t.Errorf("a removed SLO keeps its history")
	}
	fs := h.points("feature-store-availability", nil)
	if len(fs) != 1 || !math.IsNaN(fs[0].remaining) {
		t.Errorf("feature-store (no budget): %+v, want one point with NaN remaining", fs)
	}
}

// TestChartSVG: one group per series, one dashed line per rule, gaps where
// values are missing, and a note when there is nothing to draw.
func TestChartSVG(t *testing.T) {
	t0 := fixtureTime
	times := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(3 * time.Minute)}
	nan := math.NaN()
	c := chart{ID: "c", Title: `a "chart" <x>`, Series: []chartSeries{
		{Name: "5m", Times: times, Values: []float64{1, 2, nan, 4}},
		{Name: "1h", Times: times, Values: []float64{1, 1, 1, 1}},
	}, Rules: []chartRule{{Name: "fast", Value: 14.4, Class: "threshold"}}}
	out := string(c.svg())
	for _, want := range []string{`data-series="2"`, `data-rules="1"`, `data-points="7"`, `&#34;chart&#34; &lt;x&gt;`} {
		if !strings.Contains(out, want) {
			t.Errorf("svg lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `<g class="series`); n != 2 {
		t.Errorf("%d series groups, want 2", n)
	}
	// 5m is split by its gap: a polyline of 2 points and a lone dot.
	if n := strings.Count(out, "<polyline"); n != 2 {
		t.Errorf("%d polylines, want 2 (5m before its gap, 1h)", n)
	}
	if n := strings.Count(out, "<circle"); n != 1 {
		t.Errorf("%d dots, want 1 (5m after its gap)", n)
	}
	if n := strings.Count(out, `<line class="rule threshold"`); n != 1 {
		t.Errorf("%d rule lines, want 1", n)
	}
	empty := string(chart{ID: "e", Series: []chartSeries{{Name: "x"}}}.svg())
	if !strings.Contains(empty, "no data yet") || strings.Contains(empty, "NaN") {
		t.Errorf("empty chart:\n%s", empty)
	}
}

// BenchmarkHistoryRecord measures what publishing a snapshot costs the
// history: 10 SLOs x 1000 groups, 8 windows (the exposition benchmark's
// size), of which DefaultHistoryGroups get points.
func BenchmarkHistoryRecord(b *testing.B) {
	snap, _ := bigSnapshot(10, 1000, 8, 4)
	h := NewHistory(DefaultHistoryPoints, DefaultHistoryGroups)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		snap.Time = fixtureTime.Add(time.Duration(i) * 30 * time.Second)
		h.Record(snap)
	}
}

// TestHistoryKeys: a group's key is matched exactly, so groups whose hashes
// collided could not share a history.
func TestHistoryKeys(t *testing.T) {
	labels := []evaluator.Label{{Name: "model", Value: "a"}, {Name: "region", Value: "eu"}}
	gh := &groupHistory{key: groupKey("slo", labels)}
	for _, tc := range []struct {
		slo    string
		labels []evaluator.Label
		want   bool
	}{
		{"slo", labels, true},
		{"slo", labels[:1], false},
		{"sl", labels, false},
		{"slo", []evaluator.Label{{Name: "model", Value: "a"}, {Name: "region", Value: "e"}}, false},
		{"slo", []evaluator.Label{{Name: "model", Value: "a\x00region"}, {Name: "", Value: "eu"}}, false},
		{"slo", nil, false},
	} {
		if got := gh.sameGroup(tc.slo, tc.labels); got != tc.want {
			t.Errorf("sameGroup(%q, %v) = %v, want %v", tc.slo, tc.labels, got, tc.want)
		}
	}
}
