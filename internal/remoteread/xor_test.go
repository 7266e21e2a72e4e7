package remoteread

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// sameSamples compares samples by timestamp and value bits.
func sameSamples(t *testing.T, what string, got, want []Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d\n got %v\nwant %v", what, len(got), len(want), head10(got), head10(want))
	}
	for i := range got {
		if got[i].T != want[i].T || math.Float64bits(got[i].V) != math.Float64bits(want[i].V) {
			t.Fatalf("%s: sample %d = (%d, %v %#x), want (%d, %v %#x)", what, i,
				got[i].T, got[i].V, math.Float64bits(got[i].V), want[i].T, want[i].V, math.Float64bits(want[i].V))
		}
	}
}

func head10(s []Sample) []Sample {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// series builds samples from timestamps and values.
func series(ts []int64, vs []float64) []Sample {
	out := make([]Sample, len(ts))
	for i := range ts {
		out[i] = Sample{ts[i], vs[i]}
	}
	return out
}

func TestXORRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	stale := math.Float64frombits(staleNaN)
	otherNaN := math.Float64frombits(0x7ff8000000000001)
	odd := []float64{0, math.Copysign(0, -1), math.NaN(), otherNaN, math.Inf(1), math.Inf(-1),
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-300, 1e300, 1, 1, 1, 2, 0.1, 1e15 + 0.5}
	randomTimes := func(n int, start int64, step func(i int) int64) []int64 {
		ts := make([]int64, n)
		t := start
		for i := range ts {
			ts[i] = t
			t += step(i)
		}
		return ts
	}
	const t0 = 1_700_000_000_123
	cases := []struct {
		name string
		s    []Sample
	}{
		{"one sample", series([]int64{t0}, []float64{42})},
		{"negative first timestamp", series([]int64{-5000, -1000, 3}, []float64{1, 2, 3})},
		{"two samples", series([]int64{t0, t0 + 15000}, []float64{1, 1})},
		{"odd values", series(randomTimes(len(odd), t0, func(int) int64 { return 15000 }), odd)},
		{"constant run", series(randomTimes(200, t0, func(int) int64 { return 15000 }), func() []float64 {
			v := make([]float64, 200)
			for i := range v {
				v[i] = 7.25
			}
			return v
		}())},
		{"counter, equal deltas, 150 samples", series(randomTimes(150, t0, func(int) int64 { return 30000 }), func() []float64 {
			v := make([]float64, 150)
			for i := 1; i < len(v); i++ {
				v[i] = v[i-1] + float64(rng.Intn(100))
			}
			return v
		}())},
		{"timestamp buckets", series(randomTimes(12, t0, func(i int) int64 {
			// deltas whose delta-of-delta lands in each bucket and on its edges
			return []int64{15000, 15000, 15000 + 8192, 15000, 15000 - 8191, 15000 + 65536, 15000, 15000 - 65535,
				15000 + 524288, 15000, 15000 + 1<<40, 15000}[i]
		}), []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})},
		{"bucket edges + 1", series(randomTimes(8, t0, func(i int) int64 {
			return []int64{20000, 20000 + 8193, 20000, 20000 + 65537, 20000, 20000 + 524289, 20000, 1}[i]
		}), []float64{1, 2, 3, 4, 5, 6, 7, 8})},
		{"random everything, 500 samples", func() []Sample {
			s := make([]Sample, 500)
			tt := int64(t0)
			for i := range s {
				switch rng.Intn(4) {
				case 0:
					tt += 1 + rng.Int63n(100)
				case 1:
					tt += rng.Int63n(1 << 30)
				default:
					tt += 15000
				}
				var v float64
				switch rng.Intn(5) {
				case 0:
					v = odd[rng.Intn(len(odd))]
				case 1:
					v = math.Float64frombits(rng.Uint64())
				case 2:
					v = rng.NormFloat64() * 1e6
				default:
					if i > 0 {
						v = s[i-1].V
					}
				}
				s[i] = Sample{tt, v}
			}
			return s
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunk := encodeXOR(tc.s)
			got, err := decodeXOR(chunk, math.MinInt64, math.MaxInt64, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameSamples(t, "all", got, tc.s)

			// A window cutting through the chunk keeps exactly the samples inside.
			if len(tc.s) >= 3 {
				lo, hi := tc.s[1].T, tc.s[len(tc.s)-2].T
				got, err := decodeXOR(chunk, lo, hi, true, nil)
				if err != nil {
					t.Fatal(err)
				}
				sameSamples(t, "window", got, tc.s[1:len(tc.s)-1])
			}
		})
	}

	// Staleness markers are dropped unless asked for; other NaNs are kept.
	s := series([]int64{1, 2, 3, 4}, []float64{1, stale, otherNaN, 2})
	got, err := decodeXOR(encodeXOR(s), 0, 10, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSamples(t, "stale removed", got, []Sample{s[0], s[2], s[3]})
}

func TestXORErrors(t *testing.T) {
	good := encodeXOR(series([]int64{1000, 2000, 3500, 4000}, []float64{1, 2.5, 2.5, 1e9}))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no sample count"},
		{"one byte", []byte{0}, "no sample count"},
		{"count without data", []byte{0, 3}, "sample 1 of 3: chunk data ends early"},
		{"truncated", good[:len(good)-3], "sample 4 of 4: chunk data ends early"},
		{"count too large", append([]byte{0, 9}, good[2:]...), "of 9: chunk data ends early"},
		// sample 2: delta 1, then '11', 31 leading zeros, 64 meaningful bits
		{"bad window", []byte{0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "31 leading zero bits and 64 meaningful bits exceed 64"},
		{"varint too long", []byte{0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "varint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeXOR(tc.data, math.MinInt64, math.MaxInt64, false, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("decoding %x: error %v, want one containing %q", tc.data, err, tc.want)
			}
		})
	}
	if s, err := decodeXOR([]byte{0, 0}, 0, 1, false, nil); err != nil || len(s) != 0 {
		t.Errorf("empty chunk: %v, %v", s, err)
	}
}

func FuzzXOR(f *testing.F) {
	f.Add(encodeXOR(series([]int64{1000, 2000, 3500, 4000}, []float64{1, 2.5, 2.5, 1e9})))
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeXOR(data, math.MinInt64, math.MaxInt64, true, nil)
		if err == nil && len(data) >= 2 && len(s) != int(data[0])<<8|int(data[1]) {
			t.Errorf("decoded %d samples without error, header says %d", len(s), int(data[0])<<8|int(data[1]))
		}
	})
}

// FuzzXORRoundTrip encodes samples made from the input (timestamp steps
// of any size, values from raw bits or small changes, so every delta of
// deltas bucket and value window turns up at every bit offset) and
// requires the decoder to return them bit for bit.
func FuzzXORRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18})
	f.Add([]byte{0xff, 0, 0x80, 0x7f, 0x10, 0x01, 0xfe, 0x33, 0x44, 0x55, 0x66, 0x77})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s []Sample
		ts, v := int64(1_700_000_000_000), 0.0
		for i := 0; i+3 <= len(data) && len(s) < 400; i += 3 {
			step := int64(data[i])<<int(data[i+1]%24) - int64(data[i+1]&1)*17
			ts += 1 + max(step, 0)
			switch data[i+2] % 4 {
			case 0: // unchanged
			case 1:
				v += float64(data[i+2])
			case 2:
				v = math.Float64frombits(uint64(data[i])<<56 | uint64(data[i+1])<<8 | uint64(data[i+2]))
			default:
				v = -v / 3
			}
			s = append(s, Sample{ts, v})
		}
		if len(s) == 0 {
			return
		}
		got, err := decodeXOR(encodeXOR(s), math.MinInt64, math.MaxInt64, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameSamples(t, "round trip", got, s)
	})
}
