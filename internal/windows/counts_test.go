package windows

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

const (
	sec  = int64(1000)
	min_ = 60 * sec
	hour = 60 * min_
	day  = 24 * hour
)

// event is one recorded interval, kept for brute-force recomputation.
type event struct {
	from, to    int64
	good, valid float64
}

// bruteSum recomputes a window from the raw records: the events whose
// interval ends in (t-w, t] and the seen milliseconds inside it.
func bruteSum(evs []event, t, w int64) Sum {
	var s Sum
	for _, e := range evs {
		if e.to > t-w && e.to <= t {
			s.Good += e.good
			s.Valid += e.valid
		}
		lo, hi := max(e.from, t-w), min(e.to, t)
		if hi > lo {
			s.Seen += float64(hi - lo)
		}
	}
	return s
}

// edgeBound returns the content of the bucket of resolution res that
// straddles t-w: the documented bound of the window's error.
func edgeBound(evs []event, t, w, res int64) Sum {
	e := ceilDiv(t-w, res) - 1
	if (e+1)*res == t-w { // aligned: no partial bucket, the window is exact
		return Sum{}
	}
	return bruteSum(evs, (e+1)*res, res)
}

func mustLayout(t *testing.T, interval time.Duration, ws ...time.Duration) *Layout {
	t.Helper()
	l, err := NewLayout(interval, ws)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var daemonWindows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour,
	6 * time.Hour, 24 * time.Hour, 72 * time.Hour, 30 * 24 * time.Hour}

func TestLayoutTiers(t *testing.T) {
	tests := []struct {
		name      string
		interval  time.Duration
		windows   []time.Duration
		wantTiers []tierSpec
		wantRes   []time.Duration
	}{
		{"short only", 30 * time.Second, []time.Duration{5 * time.Minute, time.Hour},
			[]tierSpec{{30 * sec, 122}}, []time.Duration{30 * time.Second, 30 * time.Second}},
		{"daemon 30d", 30 * time.Second, daemonWindows,
			[]tierSpec{{30 * sec, 722}, {5 * min_, 866}, {hour, 722}},
			[]time.Duration{30 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second,
				30 * time.Second, 5 * time.Minute, 5 * time.Minute, time.Hour}},
		{"1d period", time.Minute, []time.Duration{5 * time.Minute, 24 * time.Hour},
			[]tierSpec{{min_, 362}, {5 * min_, 290}}, []time.Duration{time.Minute, 5 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := mustLayout(t, tc.interval, tc.windows...)
			if len(l.tiers) != len(tc.wantTiers) {
				t.Fatalf("tiers = %+v, want %+v", l.tiers, tc.wantTiers)
			}
			for i := range l.tiers {
				if l.tiers[i] != tc.wantTiers[i] {
					t.Errorf("tier %d = %+v, want %+v", i, l.tiers[i], tc.wantTiers[i])
				}
			}
			for i := range tc.wantRes {
				if got := l.Resolution(i); got != tc.wantRes[i] {
					t.Errorf("Resolution(%d) = %s, want %s", i, got, tc.wantRes[i])
				}
			}
		})
	}
}

func TestLayoutErrors(t *testing.T) {
	tests := []struct {
		interval time.Duration
		windows  []time.Duration
		want     string
	}{
		{7 * time.Second, []time.Duration{time.Hour}, "evaluation interval 7s: must divide 5m0s evenly"},
		{1500 * time.Millisecond, []time.Duration{time.Hour}, "evaluation interval 1.5s: must be a whole number of seconds, at least 1s"},
		{30 * time.Second, nil, "no windows given"},
		{30 * time.Second, []time.Duration{45 * time.Second}, "window 45s: must be a multiple of the evaluation interval 30s"},
		{30 * time.Second, []time.Duration{-time.Minute}, "window -1m0s: must be positive"},
		{30 * time.Second, []time.Duration{94 * 24 * time.Hour}, "window 2256h0m0s: longer than the supported maximum 2232h0m0s"},
	}
	for _, tc := range tests {
		_, err := NewLayout(tc.interval, tc.windows)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewLayout(%s, %v) error = %v, want %q", tc.interval, tc.windows, err, tc.want)
		}
	}
}

// TestMemoryPerGroup pins the bound: a 30d period at 30s fits in 32 KiB per
// group, measured on the heap, with whole-number counts up to a million
// events a second; a fractional counter widens the rings and is measured too.
func TestMemoryPerGroup(t *testing.T) {
	l := mustLayout(t, 30*time.Second, daemonWindows...)
	c := l.New()
	var measured int
	for _, r := range c.tiers {
		measured += r.b.bytes()
	}
	if measured > l.BytesPerGroup() {
		t.Errorf("measured %d bytes of buckets, BytesPerGroup says %d", measured, l.BytesPerGroup())
	}
	if l.BytesPerGroup() > 32<<10 {
		t.Errorf("BytesPerGroup = %d, want <= 32 KiB", l.BytesPerGroup())
	}
	for _, tc := range []struct {
		name  string
		valid float64 // per 30s record
	}{
		{"ordinary traffic", 1},
		{"30 million events in a 30s bucket", 30e6 + 1},
		{"fractional counter (every tier wide)", 0.5},
	} {
		// Measure the heap: 1000 groups, written for 31 days.
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		groups := make([]*Counts, 1000)
		for i := range groups {
			groups[i] = l.New()
			for tt := int64(30000); tt <= 31*day; tt += 10 * min_ {
				_ = groups[i].Record(tt-30000, tt, tc.valid, tc.valid)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perGroup := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(groups))
		limit := float64(32 << 10)
		if tc.valid != math.Trunc(tc.valid) {
			limit = float64(l.BytesPerGroup()+16*l.BucketCount()) * 1.15
		}
		if perGroup > limit {
			t.Errorf("%s: measured %.0f heap bytes per group, want <= %.0f", tc.name, perGroup, limit)
		}
		wide := []bool{}
		for _, r := range groups[0].tiers {
			wide = append(wide, r.b.wide)
		}
		runtime.KeepAlive(groups)
		t.Logf("30d at 30s, %s: %d buckets, %d bytes per group by layout, %.0f measured on the heap; tiers wide %v",
			tc.name, l.BucketCount(), l.BytesPerGroup(), perGroup, wide)
	}
}

// TestWideningKeepsCountsExact: values a uint32 cannot hold (fractions such
// as 0.1, more than 2^32-1 events in a bucket) move the ring to float64
// before they are stored, whole numbers below that stay uint32, and every
// window equals the brute-force sum either way.
func TestWideningKeepsCountsExact(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, time.Hour, 24*time.Hour)
	for _, inc := range []float64{1 << 24, 1<<24 + 1, 1e8, 0.1, 3.3e9 + 0.5, 5e9} {
		c := l.New()
		var evs []event
		base := int64(1_700_000_000_000) / hour * hour
		for i := int64(1); i <= 400; i++ {
			from, to := base+(i-1)*30*sec, base+i*30*sec
			good, valid := inc, inc+1
			if err := c.Record(from, to, good, valid); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, event{from, to, good, valid})
		}
		end := base + 400*30*sec
		for wi, w := range l.windows {
			if l.tierOf[wi] != 0 {
				continue
			}
			got, want := c.Sum(wi, end), bruteSum(evs, end, w)
			if math.Abs(got.Valid-want.Valid) > 1e-9*want.Valid || math.Abs(got.Good-want.Good) > 1e-9*want.Good {
				t.Errorf("increment %v, window %v: %+v, brute force %+v", inc, time.Duration(w)*time.Millisecond, got, want)
			}
		}
		if wantWide := inc != math.Trunc(inc) || inc+1 > math.MaxUint32; c.tiers[0].b.wide != wantWide {
			t.Errorf("increment %v: fine tier wide %v, want %v", inc, c.tiers[0].b.wide, wantWide)
		}
	}
}

// TestExactAtAlignedTicks checks the fine-tier windows are exact at every
// aligned tick, using a simple hand-checkable sequence.
func TestExactAtAlignedTicks(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, time.Hour)
	c := l.New()
	base := int64(1_700_000_000_000) / (30 * sec) * (30 * sec)
	// 1 valid event per tick for 2h, 1 bad event every 10th tick.
	for i := int64(1); i <= 240; i++ {
		good := 1.0
		if i%10 == 0 {
			good = 0
		}
		if err := c.Record(base+(i-1)*30*sec, base+i*30*sec, good, 1); err != nil {
			t.Fatal(err)
		}
	}
	now := base + 240*30*sec
	s5 := c.Sum(0, now)
	if s5.Valid != 10 || s5.Good != 9 || s5.Seen != float64(5*min_) {
		t.Errorf("5m sum = %+v, want good 9, valid 10, seen 300000", s5)
	}
	s1h := c.Sum(1, now)
	if s1h.Valid != 120 || s1h.Good != 108 {
		t.Errorf("1h sum = %+v, want good 108 valid 120", s1h)
	}
}

// TestPropertyWindowsMatchBruteForce feeds random sequences (gaps, bursts,
// clock jumps forward, uneven intervals) and checks every window at every
// evaluation against a brute-force recomputation: exact on the fine tier at
// aligned times, within the documented edge-bucket bound elsewhere.
func TestPropertyWindowsMatchBruteForce(t *testing.T) {
	ws := []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 6 * time.Hour,
		24 * time.Hour, 72 * time.Hour, 7 * 24 * time.Hour}
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		l := mustLayout(t, 30*time.Second, ws...)
		c := l.New()
		var evs []event
		tNow := int64(1_750_000_000_000) / (30 * sec) * (30 * sec)
		last := tNow
		steps := 12000 + rng.IntN(4000)
		for step := 0; step < steps; step++ {
			// Advance mostly by one interval, sometimes by a gap or a jump.
			adv := int64(30 * sec)
			switch r := rng.IntN(1000); {
			case r < 5:
				adv = int64(1+rng.IntN(240)) * 30 * sec // gap up to 2h
			case r < 6:
				adv = int64(1+rng.IntN(6)) * day // clock jump forward
			case r < 30:
				adv = int64(1+rng.IntN(29)) * sec // unaligned
			}
			tNow += adv
			valid := float64(rng.IntN(50))
			if rng.IntN(100) == 0 {
				valid += 5000 // burst
			}
			good := math.Floor(valid * rng.Float64())
			from := last
			if rng.IntN(50) == 0 { // a tick with no pull: coverage hole
				from = tNow - 10*sec
			}
			if err := c.Record(from, tNow, good, valid); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, event{max(from, last), tNow, good, valid})
			last = tNow
			if rng.IntN(4) != 0 {
				continue
			}
			for i, w := range l.windows {
				got := c.Sum(i, tNow)
				want := bruteSum(evs, tNow, w)
				res := l.tiers[l.tierOf[i]].res
				bound := edgeBound(evs, tNow, w, res)
				tol := 1e-9 * (1 + want.Valid)
				if math.Abs(got.Good-want.Good) > bound.Good+tol ||
					math.Abs(got.Valid-want.Valid) > bound.Valid+tol ||
					math.Abs(got.Seen-want.Seen) > bound.Seen+tol {
					t.Fatalf("seed %d step %d window %s: got %+v, want %+v within %+v",
						seed, step, time.Duration(w)*time.Millisecond, got, want, bound)
				}
				if tNow%res == 0 && (got.Good != want.Good || got.Valid != want.Valid) {
					t.Fatalf("seed %d step %d window %s at aligned time: got %+v, want exact %+v",
						seed, step, time.Duration(w)*time.Millisecond, got, want)
				}
			}
		}
	}
}

func TestRecordRejectsBadInput(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute)
	c := l.New()
	if err := c.Record(0, 30*sec, 1, 2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		from, to          int64
		good, valid       float64
		wantOutOfOrderErr bool
	}{
		{"duplicate timestamp", 0, 30 * sec, 1, 1, true},
		{"out of order", 0, 10 * sec, 1, 1, true},
		{"NaN", 30 * sec, 60 * sec, math.NaN(), 1, false},
		{"Inf", 30 * sec, 60 * sec, 1, math.Inf(1), false},
		{"negative", 30 * sec, 60 * sec, -1, 1, false},
		{"good over valid", 30 * sec, 60 * sec, 3, 1, false},
		{"empty interval", 60 * sec, 60 * sec, 0, 0, false},
	}
	for _, tc := range tests {
		err := c.Record(tc.from, tc.to, tc.good, tc.valid)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if (err == ErrOutOfOrder) != tc.wantOutOfOrderErr {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
	// Nothing of the rejected input reached the window.
	if s := c.Sum(0, 60*sec); s.Good != 1 || s.Valid != 2 {
		t.Errorf("after rejected input: %+v, want good 1 valid 2", s)
	}
}

// TestBackfillAfterEvaluation covers an outage: evaluations continue while no
// data is recorded, then the gap is recorded late; the sums must include it.
func TestBackfillAfterEvaluation(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, time.Hour, 24*time.Hour)
	c := l.New()
	var evs []event
	tt := int64(0)
	rec := func(n int) {
		for range n {
			tt += 30 * sec
			if err := c.Record(tt-30*sec, tt, 1, 2); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, event{tt - 30*sec, tt, 1, 2})
		}
	}
	rec(200)
	// Outage: ten evaluations with nothing recorded.
	for i := int64(1); i <= 10; i++ {
		for w := range l.windows {
			c.Sum(w, tt+i*30*sec)
		}
	}
	rec(10) // the backfill of those ten ticks
	for w, wl := range l.windows {
		got, want := c.Sum(w, tt), bruteSum(evs, tt, wl)
		if got != want {
			t.Errorf("window %d after backfill: %+v, want %+v", w, got, want)
		}
	}
}

func BenchmarkSumDaemonWindows(b *testing.B) {
	l, _ := NewLayout(30*time.Second, daemonWindows)
	c := l.New()
	tt := int64(0)
	for range 100000 {
		tt += 30 * sec
		_ = c.Record(tt-30*sec, tt, 9, 10)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		tt += 30 * sec
		_ = c.Record(tt-30*sec, tt, 9, 10)
		for i := range l.windows {
			c.Sum(i, tt)
		}
	}
}

// TestSumSinceMatchesBruteForce covers calendar windows: from fixed at a
// period start while t advances, then jumping to the next period start.
func TestSumSinceMatchesBruteForce(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, 31*24*time.Hour)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, startOffset := range []int64{0, 30 * min_} { // hour-aligned, and a :30 zone
		c := l.New()
		var evs []event
		tt := int64(0)
		periodStart := startOffset
		for step := 0; step < 40*2880; step++ {
			tt += 30 * sec
			v := float64(rng.IntN(20))
			g := math.Floor(v * rng.Float64())
			if err := c.Record(tt-30*sec, tt, g, v); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, event{tt - 30*sec, tt, g, v})
			if tt-periodStart >= 10*day { // a "calendar" period of 10 days
				periodStart += 10 * day
			}
			if rng.IntN(50) != 0 {
				continue
			}
			got := c.SumSince(periodStart, tt)
			want := bruteSum(evs, tt, tt-periodStart)
			var bound Sum
			if periodStart%hour != 0 {
				bound = edgeBound(evs, tt, tt-periodStart, hour)
				if tt-periodStart < hour { // newest bucket only
					bound = bruteSum(evs, tt, hour)
				}
			}
			if math.Abs(got.Good-want.Good) > bound.Good+1e-9 || math.Abs(got.Valid-want.Valid) > bound.Valid+1e-9 {
				t.Fatalf("offset %d t %d since %d: got %+v, want %+v within %+v", startOffset, tt, periodStart, got, want, bound)
			}
		}
	}
}

// TestSilenceAfterRecords evaluates a window every minute after records
// stop: the window empties to 0 and stays there. Buckets past the last
// record still hold a ring earlier's data and must not leave the running
// total, since they never entered it (the totals once went to -2, -4, ...).
func TestSilenceAfterRecords(t *testing.T) {
	l := mustLayout(t, 30*time.Second, 5*time.Minute, time.Hour)
	c := l.New()
	base := int64(1_700_000_000_000) / (30 * sec) * (30 * sec)
	for i := int64(1); i <= 240; i++ {
		if err := c.Record(base+(i-1)*30*sec, base+i*30*sec, 1, 1); err != nil {
			t.Fatal(err)
		}
	}
	end := base + 240*30*sec
	for m := int64(0); m <= 30; m++ {
		now := end + m*min_
		want := float64(max(0, 10-2*m))
		if s := c.Sum(0, now); s.Valid != want || s.Good != want {
			t.Fatalf("%d min after the last record: 5m sum %+v, want %v", m, s, want)
		}
		wantHour := float64(max(0, 120-2*m))
		if s := c.Sum(1, now); s.Valid != wantHour {
			t.Fatalf("%d min after the last record: 1h sum %+v, want %v", m, s, wantHour)
		}
	}
}

// TestSeenSeconds: buckets wider than 65,535 ms keep their seen time in
// whole seconds (2 bytes) while every recorded interval is whole seconds,
// and move to milliseconds, exactly, at the first that is not; the 1d and
// 30d windows' seen time equals the sum of the recorded intervals' lengths
// (brute force) before and after, and coverage follows.
func TestSeenSeconds(t *testing.T) {
	l := mustLayout(t, 30*time.Second, daemonWindows...)
	c := l.New()
	var seen int64 // ms recorded, all inside every long window
	rec := func(from, to int64) {
		t.Helper()
		if err := c.Record(from, to, 1, 1); err != nil {
			t.Fatal(err)
		}
		seen += to - from
	}
	start := int64(100 * day)
	tt := start
	for range 200 {
		rec(tt, tt+30*sec)
		tt += 45 * sec // 15s gaps: coverage below 1
	}
	for i, r := range c.tiers {
		if wantSec := r.res > maxSeen16; (r.b.seenSec != nil) != wantSec || r.b.seen32 != nil {
			t.Fatalf("tier %d (%d ms buckets) after whole seconds: seconds %v, ms32 %v", i, r.res, r.b.seenSec != nil, r.b.seen32 != nil)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, w := range []time.Duration{24 * time.Hour, 30 * 24 * time.Hour} {
			i := l.Index(w)
			s := c.Sum(i, c.last)
			if s.Seen != float64(seen) {
				t.Errorf("%s: %s window seen %v ms, recorded %d ms", when, w, s.Seen, seen)
			}
			if got, want := c.Coverage(i, s), float64(seen)/float64(w.Milliseconds()); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s: %s coverage %v, want %v", when, w, got, want)
			}
		}
	}
	check("whole seconds")
	rec(tt, tt+12345) // not whole seconds
	tt += 12345
	rec(tt+500, tt+30*sec+250)
	for i, r := range c.tiers {
		if r.res > maxSeen16 && (r.b.seenSec != nil || r.b.seen32 == nil) {
			t.Fatalf("tier %d (%d ms buckets) after a fraction of a second: still in seconds", i, r.res)
		}
	}
	check("after a fraction of a second")
	var bytes int
	for _, r := range c.tiers {
		bytes += r.b.bytes()
	}
	if bytes > l.BytesPerGroup()+4*l.BucketCount() {
		t.Errorf("%d bytes of buckets after widening the seen time, want <= %d", bytes, l.BytesPerGroup()+4*l.BucketCount())
	}
}
