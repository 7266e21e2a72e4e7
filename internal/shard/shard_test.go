package shard

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/config"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{"", All, ""},
		{"0/1", Spec{0, 1}, ""},
		{"3/4", Spec{3, 4}, ""},
		{"4/4", Spec{}, `shard "4/4": the index must be in 0..3 (counted from 0)`},
		{"-1/4", Spec{}, `shard "-1/4": the index must be in 0..3 (counted from 0)`},
		{"0/0", Spec{}, `shard "0/0": the number of shards must be at least 1`},
		{"1", Spec{}, `shard "1": want i/n, e.g. 0/4 for the first of four shards`},
		{"a/b", Spec{}, `shard "a/b": want i/n, e.g. 0/4 for the first of four shards`},
	} {
		got, err := Parse(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("Parse(%q) error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func names(n int) []*config.SLO {
	out := make([]*config.SLO, n)
	for i := range out {
		out[i] = &config.SLO{Name: fmt.Sprintf("service-%d-availability", i)}
	}
	return out
}

// TestPartitionAndBalance: every SLO is on exactly one shard, and shards get
// about the same number (within 25% of the mean for 2,000 SLOs).
func TestPartitionAndBalance(t *testing.T) {
	cfg := &config.Config{SLOs: names(2000)}
	for _, n := range []int{1, 2, 3, 4, 8} {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			part := Spec{i, n}.Filter(cfg)
			mean := float64(len(cfg.SLOs)) / float64(n)
			if got := float64(len(part.SLOs)); got < 0.75*mean || got > 1.25*mean {
				t.Errorf("n=%d shard %d holds %v SLOs, mean %.0f", n, i, got, mean)
			}
			for _, s := range part.SLOs {
				seen[s.Name]++
			}
		}
		for _, s := range cfg.SLOs {
			if seen[s.Name] != 1 {
				t.Fatalf("n=%d: %s is on %d shards", n, s.Name, seen[s.Name])
			}
		}
	}
}

// TestResizeMovesOnlyToTheNewShard: going from n to n+1 shards, an SLO
// either stays or moves to the new shard, and about 1/(n+1) of them move.
func TestResizeMovesOnlyToTheNewShard(t *testing.T) {
	slos := names(4000)
	for n := 1; n <= 7; n++ {
		before, after := Spec{0, n}, Spec{0, n + 1}
		moved := 0
		for _, s := range slos {
			a, b := before.Of(s.Name), after.Of(s.Name)
			if a != b {
				if b != n {
					t.Fatalf("%d -> %d shards: %s moved from %d to %d, not to the new shard", n, n+1, s.Name, a, b)
				}
				moved++
			}
		}
		want := float64(len(slos)) / float64(n+1)
		if f := float64(moved); f < 0.8*want || f > 1.2*want {
			t.Errorf("%d -> %d shards: %d of %d SLOs moved, expected about %.0f", n, n+1, moved, len(slos), want)
		}
	}
}

// TestCompositesStayWithComponents: a composite and its components, and
// composites sharing a component, always land on one shard.
func TestCompositesStayWithComponents(t *testing.T) {
	comp := func(name string, parts ...string) *config.SLO {
		s := &config.SLO{Name: name, SLI: config.SLI{Composite: &config.CompositeSLI{}}}
		for _, p := range parts {
			s.SLI.Composite.Components = append(s.SLI.Composite.Components, config.CompositeComponent{SLO: p})
		}
		return s
	}
	slos := append(names(200),
		comp("journey-a", "service-7-availability", "service-150-availability"),
		comp("journey-b", "service-150-availability", "service-99-availability"),
		comp("journey-c", "service-3-availability"))
	units := Units(slos)
	for _, group := range [][]string{
		{"journey-a", "journey-b", "service-7-availability", "service-150-availability", "service-99-availability"},
		{"journey-c", "service-3-availability"},
	} {
		for _, name := range group {
			if units[name] != units[group[0]] {
				t.Errorf("%s has unit %q, %s has %q", name, units[name], group[0], units[group[0]])
			}
		}
		if want := minName(group); units[group[0]] != want {
			t.Errorf("unit key %q, want the smallest name %q", units[group[0]], want)
		}
	}
	cfg := &config.Config{SLOs: slos}
	for n := 2; n <= 5; n++ {
		where := map[string]int{}
		for i := 0; i < n; i++ {
			for _, s := range (Spec{i, n}).Filter(cfg).SLOs {
				where[s.Name] = i
			}
		}
		if where["journey-a"] != where["service-99-availability"] || where["journey-c"] != where["service-3-availability"] {
			t.Errorf("n=%d: a composite and a component on different shards: %v", n, where)
		}
	}
}

func minName(xs []string) string {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

// TestReferencePlatformAssignment pins the assignment of the reference
// platform's SLOs for 2 and 3 shards: replicas of different versions must
// agree on it, so a change of the hash is a visible, deliberate change.
func TestReferencePlatformAssignment(t *testing.T) {
	cfg, err := config.Load([]string{"../../config/examples/ml-platform.yaml"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range []int{2, 3} {
		for i := 0; i < n; i++ {
			s := Spec{i, n}
			fmt.Fprintf(&b, "shard %s:", s)
			for _, slo := range s.Filter(cfg).SLOs {
				fmt.Fprintf(&b, " %s", slo.Name)
			}
			b.WriteString("\n")
		}
	}
	golden := filepath.Join("testdata", "ml-platform.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("assignment changed:\n%s\nwant:\n%s", b.String(), want)
	}
}
