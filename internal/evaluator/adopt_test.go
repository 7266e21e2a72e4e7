package evaluator

import (
	"strings"
	"testing"
	"time"
)

// TestAdopt moves an SLO's groups to a new engine and checks that the new
// one reports the same counts and keeps recording, and that SLOs whose
// windows or time slices differ are refused with an error naming them.
func TestAdopt(t *testing.T) {
	iv := 30 * time.Second
	spec := Spec{Name: "a", Objective: 0.99, Period: time.Hour, Windows: []time.Duration{5 * time.Minute}}
	old, err := New(iv, []Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	t0 := int64(1_800_000_000_000)
	for _, lv := range []string{"x", "y"} {
		g, err := old.Group(0, []Label{{Name: "model", Value: lv}}, t0)
		if err != nil {
			t.Fatal(err)
		}
		for k := int64(1); k <= 4; k++ {
			if err := g.Record(t0+(k-1)*30_000, t0+k*30_000, 9, 10); err != nil {
				t.Fatal(err)
			}
		}
	}
	old.SetDataUp(0, true)
	at := time.UnixMilli(t0 + 4*30_000)
	want := old.Evaluate(at)

	other := spec
	other.Name = "b"
	eng, err := New(iv, []Spec{other, spec})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Adopt(1, old, 0); err != nil {
		t.Fatal(err)
	}
	got := eng.Evaluate(at)
	if g, w := got.SLOs[1], want.SLOs[0]; !g.DataUp || len(g.Groups) != 2 || g.Groups[0].Windows[0] != w.Groups[0].Windows[0] ||
		g.Groups[1].Windows[0] != w.Groups[1].Windows[0] {
		t.Errorf("after Adopt: %+v, want the old engine's %+v", g, w)
	}
	if n := old.Groups(0); n != 0 {
		t.Errorf("the old engine still has %d groups", n)
	}
	g, err := eng.Group(1, []Label{{Name: "model", Value: "x"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Record(t0+4*30_000, t0+5*30_000, 1, 10); err != nil {
		t.Fatal(err)
	}
	if w := eng.Evaluate(time.UnixMilli(t0 + 5*30_000)).SLOs[1].Groups[0].Windows[0]; w.Good != 37 || w.Valid != 50 {
		t.Errorf("recording after Adopt: good/valid %v/%v, want 37/50", w.Good, w.Valid)
	}

	for _, tc := range []struct {
		name   string
		change func(s *Spec)
	}{
		{"other windows", func(s *Spec) { s.Windows = []time.Duration{10 * time.Minute} }},
		{"other period", func(s *Spec) { s.Period = 2 * time.Hour }},
		{"time slices", func(s *Spec) { s.TimeSlice = &TimeSlice{Length: time.Minute, Target: 0.9} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec
			tc.change(&s)
			e, err := New(iv, []Spec{s})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Adopt(0, eng, 1); err == nil || !strings.Contains(err.Error(), `"a"`) {
				t.Errorf("Adopt across %s: %v, want an error naming the SLO", tc.name, err)
			}
			if eng.Groups(1) != 2 {
				t.Error("a refused Adopt moved groups")
			}
		})
	}
}
