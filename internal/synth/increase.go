package synth

// Increase returns the exact count of events a series shows in (from, to]
// (Unix ms): the sum of the increments between consecutive samples whose
// later sample has a timestamp in (from, to]. The earlier sample may lie
// before from. A drop in value is a counter reset and increments by the new
// value. The first sample is a baseline and counts nothing. There is no
// extrapolation, so Increase(s, a, b) + Increase(s, b, c) == Increase(s, a, c)
// for a <= b <= c.
func Increase(s Series, from, to int64) float64 {
	var sum float64
	for i := 1; i < len(s.Samples); i++ {
		cur := s.Samples[i]
		if cur.T <= from || cur.T > to {
			continue
		}
		sum += delta(s.Samples[i-1].V, cur.V)
	}
	return sum
}

// delta is the increment from prev to cur with reset handling.
func delta(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// ExtrapolationBounds bounds what PromQL increase(s[to-from]) evaluated at
// time to returns. leftClosed selects which samples the range selector
// holds: [from, to] in Prometheus 2.x (true), (from, to] in 3.x (false).
//
// With first and last the selected samples' times and raw the sum of the
// increments between selected samples (Increase from first to last),
// Prometheus scales raw by (last-first + extension)/(last-first), where the
// extension towards each edge never goes past the edge. So the result lies
// in [raw, raw*(to-from)/(last-first)]. ok is false when fewer than two
// samples are selected; then PromQL returns no value.
func ExtrapolationBounds(s Series, from, to int64, leftClosed bool) (lo, hi float64, ok bool) {
	first, last := -1, -1
	for i, p := range s.Samples {
		in := p.T <= to && (p.T > from || (leftClosed && p.T == from))
		if !in {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
	}
	if first < 0 || last == first {
		return 0, 0, false
	}
	var raw float64
	for i := first + 1; i <= last; i++ {
		raw += delta(s.Samples[i-1].V, s.Samples[i].V)
	}
	sampled := float64(s.Samples[last].T - s.Samples[first].T)
	return raw, raw * float64(to-from) / sampled, true
}
