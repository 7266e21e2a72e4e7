package simulator

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

func mustSpecs(t *testing.T, specs ...string) []Incident {
	t.Helper()
	var out []Incident
	for _, s := range specs {
		in, err := ParseSpec(s)
		if err != nil {
			t.Fatalf("ParseSpec(%q): %v", s, err)
		}
		out = append(out, in)
	}
	return out
}

func newSim(t *testing.T, specs ...string) *Sim {
	t.Helper()
	s, err := New(Config{Start: t0, Now: func() time.Time { return t0 }, Incidents: mustSpecs(t, specs...)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCountersByHand checks values worked out by hand from the rates
// documented in docs/simulator.md.
func TestCountersByHand(t *testing.T) {
	s := newSim(t,
		"service=model-api,model=resnet50,start=10m,duration=5m,error_ratio=0.5,code=503",
		"service=model-api,model=resnet50,start=12m,duration=1m,error_ratio=0.5",
		"service=model-api,kind=latency,start=20m,duration=10m,slow_ratio=0.2",
		"service=model-api,model=bert-base,start=0s,duration=1h,accuracy=0.5",
		"service=feature-store,start=5m,duration=1m,error_ratio=0.1",
		"service=batch-inference,kind=latency,start=0s,duration=1h,slow_ratio=1",
		"service=model-api,model=llama-7b,kind=restart,start=30m",
		"service=feature-store,kind=restart,start=30m",
	)
	at := func(d time.Duration) map[string]float64 { return s.CountersAt(t0.Add(d)) }
	tests := []struct {
		at   time.Duration
		key  string
		want float64
	}{
		// resnet50: 25 req/s, baseline 0.0003 errors with code 500.
		{5 * time.Minute, `http_requests_total{code="500",model="resnet50"}`, math.Floor(25 * 0.0003 * 300)},
		{5 * time.Minute, `http_requests_total{code="200",model="resnet50"}`, math.Floor(25 * 0.9997 * 300)},
		{5 * time.Minute, `http_requests_total{code="503",model="resnet50"}`, 0},
		// At 20m: 503 for 5m at half of the survivors of the baseline, and
		// for 1m (12m-13m) the second incident takes half of what is left.
		{20 * time.Minute, `http_requests_total{code="503",model="resnet50"}`, math.Floor(25 * 0.9997 * 0.5 * 300)},
		{20 * time.Minute, `http_requests_total{code="500",model="resnet50"}`, math.Floor(25*0.0003*1200 + 25*0.9997*0.5*0.5*60)},
		{20 * time.Minute, `http_requests_total{code="200",model="resnet50"}`, math.Floor(25*0.9997*(1200-300) + 25*0.9997*0.5*240 + 25*0.9997*0.25*60)},
		// Latency: resnet50 has 98% within 200 ms; from 20m, 20% are slow
		// (none of them within 200 ms, 30% within 500 ms).
		{25 * time.Minute, `http_request_duration_seconds_bucket{le="0.2",model="resnet50"}`, math.Floor(25*0.98*1200 + 25*0.8*0.98*300)},
		{25 * time.Minute, `http_request_duration_seconds_bucket{le="0.5",model="resnet50"}`, math.Floor(25*0.995*1200 + 25*(0.8*0.995+0.2*0.3)*300)},
		{25 * time.Minute, `http_request_duration_seconds_count{model="resnet50"}`, 25 * 1500},
		// _sum: resnet50's mean latency is 0.55*0.03 + 0.3*0.075 + 0.13*0.15
		// + 0.015*0.35 + 0.004*0.75 + 0.001*1.75 = 0.0685 s.
		{10 * time.Minute, `http_request_duration_seconds_sum{model="resnet50"}`, 25 * 0.0685 * 600},
		// Quality: bert-base 15 req/s, 0.9995 succeed, 10% get ground truth,
		// accuracy 0.5 during the incident (below the 0.94 baseline).
		{10 * time.Minute, `model_predictions_with_ground_truth_total{model="bert-base"}`, math.Floor(15 * 0.9995 * 0.1 * 600)},
		{10 * time.Minute, `model_correct_predictions_total{model="bert-base"}`, math.Floor(15 * 0.9995 * 0.1 * 0.5 * 600)},
		// Restart of llama-7b at 30m: zero at the instant, then counts again.
		{30*time.Minute - time.Millisecond, `http_request_duration_seconds_count{model="llama-7b"}`, math.Floor(10 * 1799.999)},
		{30 * time.Minute, `http_request_duration_seconds_count{model="llama-7b"}`, 0},
		{30*time.Minute + 1500*time.Millisecond, `http_request_duration_seconds_count{model="llama-7b"}`, 15},
		{31 * time.Minute, `http_request_duration_seconds_count{model="resnet50"}`, 25 * 1860},
		// Feature store: 120/s, 0.00002 baseline errors, 10% more for 1m.
		{10 * time.Minute, `feature_lookups_total{code="error"}`, math.Floor(120*0.00002*600 + 120*0.99998*0.1*60)},
		{10 * time.Minute, `feature_lookups_total{code="ok"}`, math.Floor(120*0.99998*540 + 120*0.99998*0.9*60)},
		{31 * time.Minute, `feature_lookups_total{code="ok"}`, math.Floor(120 * 0.99998 * 60)},
		// Journey: 20/s; success = (1 - fs errors) x (1 - traffic-weighted
		// model errors) = 0.99998 x (1 - (25*0.0003+15*0.0005+10*0.0005)/50).
		{5 * time.Minute, `inference_journey_total{result="success"}`, math.Floor(20 * 0.99998 * (1 - 0.0004) * 300)},
		// Batch: 0.02 jobs/s, all slow: none within 4 h, 60% within 8 h.
		{time.Hour, `batch_job_duration_seconds_bucket{le="14400"}`, 0},
		{time.Hour, `batch_job_duration_seconds_bucket{le="28800"}`, math.Floor(0.02 * 0.6 * 3600)},
		{time.Hour, `batch_jobs_total{status="success"}`, math.Floor(0.02 * 0.99 * 3600)},
		{time.Hour, `batch_jobs_total{status="failure"}`, math.Floor(0.02 * 0.01 * 3600)},
		// Before the start everything is zero.
		{-time.Hour, `http_requests_total{code="200",model="resnet50"}`, 0},
	}
	for _, tc := range tests {
		got, ok := at(tc.at)[tc.key]
		if !ok {
			t.Errorf("at %v: no series %s", tc.at, tc.key)
			continue
		}
		// The float64 arithmetic of the expectations is within 1e-6 of
		// exact, and none of them is that close to an integer boundary.
		if math.Abs(got-tc.want) > 1e-6*math.Max(1, tc.want) {
			t.Errorf("at %v: %s = %v, want %v", tc.at, tc.key, got, tc.want)
		}
	}
}

// randomSchedule returns specs of n random incidents on a whole-second
// grid within [0, horizon).
func randomSchedule(r *rand.Rand, n, horizon int) []string {
	var out []string
	for range n {
		svc := Services()[r.IntN(4)]
		kinds := kindsFor[svc]
		kind := kinds[r.IntN(len(kinds))]
		f := []string{"service=" + string(svc), "kind=" + string(kind), fmt.Sprintf("start=%ds", r.IntN(horizon))}
		if svc == ModelAPI && r.IntN(2) == 0 {
			f = append(f, "model="+models[r.IntN(len(models))].name)
		}
		if kind != KindRestart {
			f = append(f, fmt.Sprintf("duration=%ds", 1+r.IntN(horizon/3)))
			f = append(f, fmt.Sprintf("%s=%d/1000", magnitudeField[kind], 1+r.IntN(1000)))
		}
		if svc == ModelAPI && kind == KindErrors {
			f = append(f, "code="+[]string{"500", "502", "503"}[r.IntN(3)])
		}
		out = append(out, strings.Join(f, ","))
	}
	return out
}

// bruteForce integrates every series step by step (1 s steps, shorter to
// reach a checkpoint), zeroing a series at each restart it is subject to,
// and returns the floored (or, for _sum, exact) values at each checkpoint
// (elapsed ms).
func bruteForce(incs []Incident, srs []series, checkpoints []int64) map[int64][]float64 {
	sort.Slice(checkpoints, func(i, j int) bool { return checkpoints[i] < checkpoints[j] })
	acc := make([]*big.Rat, len(srs))
	for i := range acc {
		acc[i] = new(big.Rat)
	}
	out := map[int64][]float64{}
	next := 0
	for t := int64(0); next < len(checkpoints); {
		for _, in := range incs {
			if in.Kind != KindRestart || in.Start.Milliseconds() != t {
				continue
			}
			for i, sr := range srs {
				if sr.service == in.Service && (in.Model == "" || in.Model == sr.model) {
					acc[i].SetInt64(0)
				}
			}
		}
		for next < len(checkpoints) && checkpoints[next] == t {
			vals := make([]float64, len(srs))
			for i, sr := range srs {
				vals[i] = value(sr, acc[i])
			}
			out[t] = vals
			next++
		}
		if next == len(checkpoints) {
			break
		}
		step := (t/1000+1)*1000 - t
		if c := checkpoints[next] - t; c < step {
			step = c
		}
		st := stateAt(incs, t)
		for i, sr := range srs {
			inc := new(big.Rat).Mul(sr.rate(st), big.NewRat(step, 1000))
			acc[i].Add(acc[i], inc)
		}
		t += step
	}
	return out
}

func TestClosedFormMatchesBruteForce(t *testing.T) {
	const horizon = 1800 // seconds
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 42))
			specs := randomSchedule(r, 4+r.IntN(6), horizon)
			s := newSim(t, specs...)
			checkpoints := []int64{0, 1, 999, 1000}
			for range 12 {
				checkpoints = append(checkpoints, r.Int64N(horizon*1000+300_000))
			}
			for _, in := range s.Schedule() { // boundaries themselves
				checkpoints = append(checkpoints, in.Start.Milliseconds(), in.End().Milliseconds())
			}
			checkpoints = dedupe(checkpoints)
			want := bruteForce(s.Schedule(), s.series, checkpoints)
			for _, cp := range checkpoints {
				got := s.CountersAt(t0.Add(time.Duration(cp) * time.Millisecond))
				for i, sr := range s.series {
					if got[sr.key] != want[cp][i] {
						t.Errorf("schedule %q at %dms: %s = %v, brute force %v", specs, cp, sr.key, got[sr.key], want[cp][i])
					}
				}
			}
		})
	}
}

func dedupe(xs []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// TestInvariants checks, on random schedules, what any consumer relies on:
// counters never decrease except at a restart of their service, histogram
// buckets are cumulative with +Inf equal to _count, and per-code request
// counters add up to within (codes-1) of _count.
func TestInvariants(t *testing.T) {
	const horizon = 3600
	for seed := uint64(10); seed < 13; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		specs := randomSchedule(r, 10, horizon)
		s := newSim(t, specs...)
		var prev map[string]float64
		var prevMs int64
		for ms := int64(0); ms <= horizon*1000+60_000; ms += 1000 + r.Int64N(60_000) {
			cur := s.CountersAt(t0.Add(time.Duration(ms) * time.Millisecond))
			for j, sr := range s.series {
				restarted := false
				for _, rs := range s.restarts[j] {
					if rs > prevMs && rs <= ms {
						restarted = true
					}
				}
				if prev != nil && !restarted && cur[sr.key] < prev[sr.key] {
					t.Errorf("seed %d: %s went down from %v to %v between %dms and %dms without a restart",
						seed, sr.key, prev[sr.key], cur[sr.key], prevMs, ms)
				}
				if sr.kind == kindBucket {
					if sr.le == inf {
						if c := cur[SeriesKey(sr.family+"_count", labelMap(sr.labels))]; c != cur[sr.key] {
							t.Errorf("seed %d at %dms: %s = %v, _count = %v", seed, ms, sr.key, cur[sr.key], c)
						}
					} else if cur[s.series[j+1].key] < cur[sr.key] {
						t.Errorf("seed %d at %dms: bucket %s = %v above next %s = %v", seed, ms, sr.key, cur[sr.key], s.series[j+1].key, cur[s.series[j+1].key])
					}
				}
			}
			codes := 0
			for _, sr := range s.series {
				if sr.family == "http_requests_total" && sr.model == "resnet50" {
					codes++
				}
			}
			for _, m := range Models() {
				var sum float64
				for _, sr := range s.series {
					if sr.family == "http_requests_total" && sr.model == m {
						sum += cur[sr.key]
					}
				}
				count := cur[`http_request_duration_seconds_count{model="`+m+`"}`]
				if d := count - sum; d < 0 || d > float64(codes-1) {
					t.Errorf("seed %d at %dms: %s: _count %v - sum over %d codes %v = %v, want in [0, %d]", seed, ms, m, count, codes, sum, d, codes-1)
				}
			}
			prev, prevMs = cur, ms
		}
	}
}

func TestAddIncident(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	s, err := New(Config{Start: t0, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	before := s.CountersAt(now)
	past := mustSpecs(t, "service=model-api,start=9m,duration=5m,error_ratio=0.5")[0]
	if err := s.AddIncident(past); err == nil || err.Error() != "field start: 9m is before the simulation's current time 10m; only future incidents can be added" {
		t.Errorf("AddIncident(past) error = %v", err)
	}
	in := mustSpecs(t, "service=model-api,model=resnet50,start=10m,duration=5m,error_ratio=1,code=504")[0]
	if err := s.AddIncident(in); err != nil {
		t.Fatal(err)
	}
	// Adding an incident that starts now changes nothing up to now...
	after := s.CountersAt(now)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed from %v to %v", k, v, after[k])
		}
	}
	// ...except that the new code's series appears, at zero.
	if v, ok := after[`http_requests_total{code="504",model="resnet50"}`]; !ok || v != 0 {
		t.Errorf("504 series = %v, %v; want 0, true", v, ok)
	}
	later := s.CountersAt(now.Add(time.Minute))
	if got, want := later[`http_requests_total{code="504",model="resnet50"}`], math.Floor(25*0.9997*60); got != want {
		t.Errorf("504 after a minute = %v, want %v", got, want)
	}
	if got := len(s.Schedule()); got != 1 {
		t.Errorf("schedule has %d incidents, want 1", got)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{Incidents: []Incident{{Service: ModelAPI, Kind: KindErrors, Duration: time.Minute, Magnitude: big.NewRat(3, 2)}}})
	want := `incident 1 (service=model-api,kind=errors,start=0s,duration=1m,error_ratio=3/2,code=500): field error_ratio: "3/2" is out of range (0, 1]`
	if err == nil || err.Error() != want {
		t.Errorf("New error = %v, want %q", err, want)
	}
	// A Go-built incident gets the same defaults as a parsed one.
	s, err := New(Config{Incidents: []Incident{{Service: ModelAPI, Kind: KindErrors, Duration: time.Minute, Magnitude: big.NewRat(1, 4)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Schedule()[0].String(); got != "service=model-api,kind=errors,start=0s,duration=1m,error_ratio=1/4,code=500" {
		t.Errorf("normalized incident = %s", got)
	}
}

func TestDistributionsAreValid(t *testing.T) {
	ds := map[string]dist{"apiSlow": apiSlow, "batchFast": batchFast, "batchSlow": batchSlow, "featureFast": featureFast, "featureSlow": featureSlow}
	for _, m := range models {
		ds[m.name] = m.fast
	}
	for name, d := range ds {
		if len(d.cum) != len(d.le) || len(d.rep) != len(d.le)+1 {
			t.Errorf("%s: %d bounds, %d shares, %d representatives", name, len(d.le), len(d.cum), len(d.rep))
			continue
		}
		prev := new(big.Rat)
		for i, c := range d.cum {
			if c.Cmp(prev) < 0 || c.Cmp(ratOne) > 0 {
				t.Errorf("%s: share %v at le=%v is not in [%v, 1]", name, c, d.le[i], prev)
			}
			prev = c
			lo := 0.0
			if i > 0 {
				lo = d.le[i-1]
			}
			if f, _ := d.rep[i].Float64(); f <= lo || f > d.le[i] {
				t.Errorf("%s: representative %v of bucket (%v, %v] is outside it", name, f, lo, d.le[i])
			}
		}
		if f, _ := d.rep[len(d.le)].Float64(); f <= d.le[len(d.le)-1] {
			t.Errorf("%s: +Inf representative %v is not above the last bound", name, f)
		}
	}
}

func BenchmarkCountersAt(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var incs []Incident
	for _, spec := range randomSchedule(r, 20, 86400) {
		in, err := ParseSpec(spec)
		if err != nil {
			b.Fatal(err)
		}
		incs = append(incs, in)
	}
	s, err := New(Config{Start: t0, Incidents: incs})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.CountersAt(t0.Add(time.Duration(i%86400) * time.Second))
	}
}
