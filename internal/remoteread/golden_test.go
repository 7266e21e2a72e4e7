package remoteread

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"strconv"
	"testing"
)

// loadGolden reads testdata/streamed.bin (a real Prometheus 2.42 streamed
// answer, captured by TestUpdateGolden -update with 2 KiB frames) and its
// expectation from the JSON API.
func loadGolden(t testing.TB) ([]byte, golden) {
	body, err := os.ReadFile("testdata/streamed.bin")
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile("testdata/streamed.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(js, &g); err != nil {
		t.Fatalf("testdata/streamed.json: %v", err)
	}
	return body, g
}

// TestGolden decodes a real streamed answer and compares every sample with
// what Prometheus' JSON API returned for the same range selectors.
func TestGolden(t *testing.T) {
	body, g := loadGolden(t)

	// The capture exercises frames that split a series.
	fr := newFrameReader(bytes.NewReader(body), DefaultMaxFrameBytes)
	frames := 0
	for {
		if _, err := fr.next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		frames++
	}

	got := make([]map[string][]Sample, len(g.Queries))
	for i := range got {
		got[i] = map[string][]Sample{}
	}
	series := 0
	err := decodeStream(bytes.NewReader(body), g.Queries, DefaultMaxFrameBytes, false, func(s Series) error {
		series++
		got[s.Query][labelKey(s.Labels)] = append([]Sample(nil), s.Samples...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if frames <= series {
		t.Errorf("%d frames for %d series: the golden answer splits no series", frames, series)
	}
	nans := 0
	for i, want := range g.Want {
		w := map[string][]Sample{}
		for k, pairs := range want {
			for _, p := range pairs {
				ts, err1 := strconv.ParseInt(p[0], 10, 64)
				v, err2 := strconv.ParseFloat(p[1], 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("testdata/streamed.json: query %d, series %s: bad sample %v", i, k, p)
				}
				w[k] = append(w[k], Sample{ts, v})
			}
		}
		sameAsPromQL(t, "golden query "+strconv.Itoa(i), got[i], w)
		for _, ss := range got[i] {
			for _, s := range ss {
				if math.IsNaN(s.V) {
					nans++
					if math.Float64bits(s.V) != math.Float64bits(math.NaN()) {
						t.Errorf("NaN at %d has bits %#x, the history wrote %#x", s.T, math.Float64bits(s.V), math.Float64bits(math.NaN()))
					}
				}
			}
		}
	}
	if nans == 0 {
		t.Error("the golden answer holds no NaN: the test misses its case")
	}
	t.Logf("%d frames, %d series", frames, series)
}

// BenchmarkDecodeGolden measures decoding (frames, protobuf, XOR chunks)
// of the real answer in samples per second.
func BenchmarkDecodeGolden(b *testing.B) {
	body, g := loadGolden(b)
	benchDecode(b, body, g.Queries)
}

// BenchmarkDecodeSynthetic decodes 1,000 series of 2,880 samples each
// (one day at 30 s) in 120-sample chunks, 1 MiB frames as Prometheus cuts.
func BenchmarkDecodeSynthetic(b *testing.B) {
	var body []byte
	var frameMsg []byte
	q := Query{Start: 0, End: math.MaxInt64}
	for s := 0; s < 1000; s++ {
		ls := []Label{{"__name__", "http_requests_total"}, {"instance", "pod-" + strconv.Itoa(s)}, {"job", "api"}}
		samples := make([]Sample, 2880)
		v := 0.0
		for i := range samples {
			v += float64((i*7919 + s) % 13)
			samples[i] = Sample{1_750_000_000_000 + int64(i)*30_000 + int64((i*31)%500), v}
		}
		var chunks []testChunk
		for i := 0; i < len(samples); i += 120 {
			chunks = append(chunks, xorChunk(samples[i:i+120]))
		}
		frameMsg = encodeChunkedSeries(ls, chunks...)
		body = append(body, frame(encodeChunkedReadResponse(0, frameMsg))...)
	}
	benchDecode(b, body, []Query{q})
}

func benchDecode(b *testing.B, body []byte, qs []Query) {
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	samples := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		samples = 0
		err := decodeStream(bytes.NewReader(body), qs, DefaultMaxFrameBytes, false, func(s Series) error {
			samples += len(s.Samples)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(len(body))/float64(samples), "bytes/sample")
}
