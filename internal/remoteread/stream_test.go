package remoteread

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// collected is one Series as fn saw it, copied.
type collected struct {
	Query   int
	Labels  []Label
	Samples []Sample
}

// collect returns an fn that copies every Series into *out.
func collect(out *[]collected) func(Series) error {
	return func(s Series) error {
		*out = append(*out, collected{s.Query, append([]Label(nil), s.Labels...), append([]Sample(nil), s.Samples...)})
		return nil
	}
}

// ramp makes n samples from t0 every step ms with values 0, 1, 2...
func ramp(t0, step int64, n int) []Sample {
	s := make([]Sample, n)
	for i := range s {
		s[i] = Sample{t0 + int64(i)*step, float64(i)}
	}
	return s
}

func TestDecodeStream(t *testing.T) {
	a := []Label{{"__name__", "x_total"}, {"code", "200"}}
	b := []Label{{"__name__", "x_total"}, {"code", "500"}}
	all := ramp(1000, 1000, 300) // t = 1000 .. 300000
	c1, c2, c3 := xorChunk(all[:120]), xorChunk(all[120:240]), xorChunk(all[240:])
	q := Query{Start: 0, End: math.MaxInt64}
	cut := Query{Start: 50_500, End: 250_000}
	frames := func(msgs ...[]byte) []byte {
		var out []byte
		for _, m := range msgs {
			out = append(out, frame(m)...)
		}
		return out
	}
	good := frames(
		encodeChunkedReadResponse(0, encodeChunkedSeries(a, c1, c2)),
		encodeChunkedReadResponse(0, encodeChunkedSeries(a, c3), encodeChunkedSeries(b, c1)),
		encodeChunkedReadResponse(1, encodeChunkedSeries(a, c1, c2, c3)),
	)
	histo := frames(encodeChunkedReadResponse(0, encodeChunkedSeries(b, testChunk{1, 2, encodingHistogram, []byte{0, 0}})))
	badCRC := append([]byte(nil), good...)
	badCRC[3] ^= 1 // inside the first frame's checksum
	oversize := frames(make([]byte, 200))

	for _, tc := range []struct {
		name    string
		body    []byte
		qs      []Query
		max     int
		want    []collected
		wantErr string
	}{
		{name: "series split over frames merged", body: good, qs: []Query{q, cut}, max: 1 << 20, want: []collected{
			{0, a, all}, {0, b, all[:120]}, {1, a, all[50:250]},
		}},
		{name: "empty body", body: nil, qs: []Query{q}, max: 1 << 20},
		{name: "series without samples in the interval left out", body: good, qs: []Query{{Start: 1500, End: 1999}, {Start: 1001, End: 1001}}, max: 1 << 20},
		{name: "bad checksum", body: badCRC, qs: []Query{q, cut}, max: 1 << 20, wantErr: "frame 1: checksum"},
		{name: "truncated message", body: good[:len(good)-5], qs: []Query{q, cut}, max: 1 << 20, wantErr: "frame 3: stream ends while reading its"},
		{name: "truncated checksum", body: good[:2], qs: []Query{q, cut}, max: 1 << 20, wantErr: "frame 1: stream ends while reading the checksum"},
		{name: "truncated length", body: []byte{0x80}, qs: []Query{q}, max: 1 << 20, wantErr: "frame 1: stream ends inside the frame length"},
		{name: "oversize frame", body: oversize, qs: []Query{q}, max: 100, wantErr: "frame 1: length 200 bytes exceeds the 100 byte limit"},
		{name: "query index out of range", body: good, qs: []Query{q}, max: 1 << 20, wantErr: "frame 3: query index 1, the request had 1 queries"},
		{name: "histogram chunk", body: histo, qs: []Query{q}, max: 1 << 20, wantErr: `series {__name__="x_total", code="500"}: chunk encoding HISTOGRAM is not supported`},
		{name: "junk message", body: frames([]byte{0xff, 0xff}), qs: []Query{q}, max: 1 << 20, wantErr: "frame 1: undecodable message"},
		{name: "corrupt chunk", body: frames(encodeChunkedReadResponse(0, encodeChunkedSeries(a, testChunk{1, 2, encodingXOR, []byte{0, 5, 1}}))), qs: []Query{q}, max: 1 << 20,
			wantErr: `frame 1: series {__name__="x_total", code="200"}: xor chunk, sample 1 of 5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []collected
			err := decodeStream(bytes.NewReader(tc.body), tc.qs, tc.max, false, collect(&got))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d series, want %d: %+v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i].Query != tc.want[i].Query || !reflect.DeepEqual(got[i].Labels, tc.want[i].Labels) {
					t.Errorf("series %d: query %d %v, want %d %v", i, got[i].Query, got[i].Labels, tc.want[i].Query, tc.want[i].Labels)
				}
				sameSamples(t, "series", got[i].Samples, tc.want[i].Samples)
			}
		})
	}

	t.Run("histogram is unsupported", func(t *testing.T) {
		err := decodeStream(bytes.NewReader(histo), []Query{q}, 1<<20, false, collect(new([]collected)))
		var ee *EncodingError
		if !errors.As(err, &ee) || ee.Encoding != "HISTOGRAM" || !reflect.DeepEqual(ee.Labels, b) || !IsUnsupported(err) {
			t.Errorf("error %#v, want an *EncodingError for HISTOGRAM of %v", err, b)
		}
	})
	t.Run("fn error stops the read", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := decodeStream(bytes.NewReader(good), []Query{q, cut}, 1<<20, false, func(Series) error { calls++; return stop })
		if err != stop || calls != 1 {
			t.Errorf("error %v after %d calls, want stop after 1", err, calls)
		}
	})
	t.Run("overlapping chunks sorted and deduplicated", func(t *testing.T) {
		body := frames(encodeChunkedReadResponse(0, encodeChunkedSeries(a, c2, xorChunk(all[100:130]), c1)))
		var got []collected
		if err := decodeStream(bytes.NewReader(body), []Query{q}, 1<<20, false, collect(&got)); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%d series, want 1", len(got))
		}
		sameSamples(t, "merged", got[0].Samples, all[:240])
	})
}

func FuzzFrames(f *testing.F) {
	a := []Label{{"__name__", "x_total"}}
	f.Add(frame(encodeChunkedReadResponse(0, encodeChunkedSeries(a, xorChunk(ramp(0, 1000, 130))))))
	f.Add(frame(encodeChunkedReadResponse(1, encodeChunkedSeries(a, testChunk{1, 2, encodingHistogram, []byte{0}}))))
	f.Add([]byte{0x05, 0, 0, 0, 0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, body []byte) {
		qs := []Query{{Start: math.MinInt64, End: math.MaxInt64}, {Start: 0, End: 100_000}}
		_ = decodeStream(bytes.NewReader(body), qs, 1<<16, false, func(s Series) error {
			for i := 1; i < len(s.Samples); i++ {
				if s.Samples[i].T <= s.Samples[i-1].T {
					t.Fatalf("samples out of order: %v", s.Samples)
				}
			}
			return nil
		})
	})
}
