package scrape

import (
	"reflect"
	"testing"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/remoteread"
)

// TestSeriesIDs checks that interned identities are the labels' own
// (metric and fingerprint as model builds them), shared between reads of
// one series and distinct for label sets whose names and values would
// run together.
func TestSeriesIDs(t *testing.T) {
	lbl := func(kv ...string) []remoteread.Label {
		var ls []remoteread.Label
		for i := 0; i < len(kv); i += 2 {
			ls = append(ls, remoteread.Label{Name: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	sets := [][]remoteread.Label{
		lbl("__name__", "x", "a", "bc"),
		lbl("__name__", "x", "ab", "c"),
		lbl("__name__", "x", "a", "b", "c", ""),
		lbl("__name__", "x"),
		lbl("__name__", "xa", "", ""),
		lbl(),
	}
	for _, ids := range []*SeriesIDs{nil, {}} {
		seen := map[uint64]int{}
		for i, ls := range sets {
			want := model.Metric{}
			for _, l := range ls {
				want[model.LabelName(l.Name)] = model.LabelValue(l.Value)
			}
			first := ids.of(ls)
			// A copy of the labels, as the next segment's read decodes them.
			again := ids.of(append([]remoteread.Label(nil), ls...))
			if !reflect.DeepEqual(first.Metric, want) || first.FP != uint64(want.Fingerprint()) {
				t.Errorf("set %d: got %v (%x), want %v (%x)", i, first.Metric, first.FP, want, uint64(want.Fingerprint()))
			}
			if again.FP != first.FP || !reflect.DeepEqual(again.Metric, first.Metric) {
				t.Errorf("set %d: read again as %v, first %v", i, again.Metric, first.Metric)
			}
			shared := reflect.ValueOf(again.Metric).UnsafePointer() == reflect.ValueOf(first.Metric).UnsafePointer()
			if shared != (ids != nil) {
				t.Errorf("set %d (interning %v): second read shares the first's metric: %v", i, ids != nil, shared)
			}
			if j, dup := seen[first.FP]; dup && !reflect.DeepEqual(sets[j], ls) {
				t.Errorf("sets %d and %d share an identity", j, i)
			}
			seen[first.FP] = i
		}
		if ids != nil && len(ids.m) != len(sets) {
			t.Errorf("%d identities interned for %d label sets", len(ids.m), len(sets))
		}
	}
}
