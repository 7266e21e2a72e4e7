package synth

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestWriteOpenMetricsGolden(t *testing.T) {
	cfg := Config{
		Start:       testStart,
		End:         testStart.Add(3 * time.Minute),
		Seed:        42,
		Jitter:      1500 * time.Millisecond,
		BaseRate:    2,
		ErrorRatio:  0.1,
		ExtraLabels: map[string]string{"note": "a \"quoted\" \\ value\nnext"},
		Groups:      []Group{{Name: "b"}, {Name: "a"}},
		Restarts:    []Restart{{At: testStart.Add(100 * time.Second), Groups: []string{"a"}}},
	}
	series := Generate(cfg)
	series = append(series, Series{
		Labels:  map[string]string{"__name__": "synth_queue_depth"},
		Samples: []Sample{{T: 1_000, V: 0.5}, {T: 2_500, V: 1e21}},
	})
	var buf bytes.Buffer
	if err := WriteOpenMetrics(&buf, series); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.om.txt")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, buf.String())
	}
}

func TestWriteOpenMetricsErrors(t *testing.T) {
	good := []Sample{{T: 1000, V: 1}, {T: 2000, V: 2}}
	for _, tc := range []struct {
		name   string
		series []Series
		want   string
	}{
		{"no name", []Series{{Labels: map[string]string{"a": "b"}, Samples: good}}, `metric name ""`},
		{"bad name", []Series{{Labels: map[string]string{"__name__": "1x"}, Samples: good}}, `metric name "1x"`},
		{"bad label", []Series{{Labels: map[string]string{"__name__": "x", "a-b": "c"}, Samples: good}}, `label name "a-b"`},
		{"time goes back", []Series{{Labels: map[string]string{"__name__": "x", "k": "v"}, Samples: []Sample{{T: 2000}, {T: 2000}}}},
			`x{k="v"}: sample 1 at 2000 ms is not after sample 0 at 2000 ms`},
		{"duplicate", []Series{
			{Labels: map[string]string{"__name__": "x"}, Samples: good},
			{Labels: map[string]string{"__name__": "x"}, Samples: good},
		}, "series x appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteOpenMetrics(&bytes.Buffer{}, tc.series)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFormatMillis(t *testing.T) {
	for ms, want := range map[int64]string{0: "0.000", 1: "0.001", 1709251200123: "1709251200.123", -1500: "-1.500"} {
		if got := formatMillis(ms); got != want {
			t.Errorf("formatMillis(%d) = %q, want %q", ms, got, want)
		}
	}
}
