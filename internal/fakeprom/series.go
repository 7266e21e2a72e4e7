package fakeprom

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
)

// Counter is one counter series of the fake's store.
type Counter struct {
	// Labels identify the series, __name__ included.
	Labels model.LabelSet
	// Value is the counter's value at its sample k (k >= 0), whose
	// timestamp is Options.Origin + k x Options.Step. It must be a pure
	// function: the fake calls it for every answer, and a test calls it
	// again to compute the truth.
	Value func(k int64) float64
}

// Corruption changes what the fake serves for some stored samples, as if
// they had been ingested so: a corruption stays in the store (answers of
// any later query that covers those timestamps show it), unless it is
// removed with Server.Clear. CleanSamples ignores corruptions.
type Corruption struct {
	Kind CorruptionKind
	// From and To bound the timestamps of the samples affected (both
	// included).
	From, To time.Time
	// Counters are the indexes in Options.Counters affected; nil means all.
	Counters []int
	// Value is the sample value of Spike.
	Value float64
	// Series is the number of new series of Churn per sample step.
	Series int
}

// CorruptionKind says what a Corruption does.
type CorruptionKind int

// The corruption kinds.
const (
	// NaN replaces the samples' values by NaN.
	NaN CorruptionKind = iota + 1
	// PosInf replaces them by +Inf.
	PosInf
	// Negative replaces them by minus their value (and -1 for 0).
	Negative
	// Spike replaces them by Corruption.Value (e.g. 1e300).
	Spike
	// Replica adds, half a step after each sample, the sample of a second
	// copy of the counter with the same labels (another replica of an HA
	// pair, not deduplicated): 3 x value + 1000, so the two interleave and
	// the series drops at every other sample.
	Replica
	// Churn adds Series new series per sample step, each with one sample
	// (value 1) and an extra label pod="churn-<step>-<i>", copying the
	// labels of each affected counter: a selector's answers then bring new
	// series at every pull.
	Churn
)

func (k CorruptionKind) String() string {
	switch k {
	case NaN:
		return "NaN"
	case PosInf:
		return "+Inf"
	case Negative:
		return "negative"
	case Spike:
		return "spike"
	case Replica:
		return "replica"
	case Churn:
		return "churn"
	}
	return "corruption(" + strconv.Itoa(int(k)) + ")"
}

// applies reports whether c affects counter i.
func (c *Corruption) applies(i int) bool {
	if c.Counters == nil {
		return true
	}
	for _, j := range c.Counters {
		if j == i {
			return true
		}
	}
	return false
}

// covers reports whether c affects a sample at ts (unix ms).
func (c *Corruption) covers(ts int64) bool {
	return ts >= c.From.UnixMilli() && ts <= c.To.UnixMilli()
}

// series is one series of an answer: a counter, or a series that a
// corruption adds.
type series struct {
	labels  model.LabelSet
	samples []model.SamplePair
}

// sampleRange returns the indexes of the samples of a counter with
// timestamps in (after, upTo], the store holding samples up to now (all
// unix ms). It returns lo > hi when there is none.
func (s *Server) sampleRange(after, upTo int64) (lo, hi int64) {
	upTo = min(upTo, s.now().UnixMilli())
	origin, step := s.opt.Origin.UnixMilli(), s.opt.Step.Milliseconds()
	// Smallest k with origin + k*step > after.
	lo = max(0, floorDiv(after-origin, step)+1)
	hi = floorDiv(upTo-origin, step)
	return lo, hi
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// CleanSamples returns the samples of counter i with timestamps in
// (after, upTo], as stored before any corruption: the truth a test
// computes its expectations from. Samples after the current time do not
// exist yet.
func (s *Server) CleanSamples(i int, after, upTo time.Time) []model.SamplePair {
	c := s.opt.Counters[i]
	lo, hi := s.sampleRange(after.UnixMilli(), upTo.UnixMilli())
	out := make([]model.SamplePair, 0, max(0, hi-lo+1))
	for k := lo; k <= hi; k++ {
		out = append(out, model.SamplePair{Timestamp: model.Time(s.ts(k)), Value: model.SampleValue(c.Value(k))})
	}
	return out
}

// ts is the timestamp of sample k, unix ms.
func (s *Server) ts(k int64) int64 {
	return s.opt.Origin.UnixMilli() + k*s.opt.Step.Milliseconds()
}

// served returns what the store answers for counter i over (after, upTo]:
// the counter with its corrupted samples, then the series corruptions
// add.
func (s *Server) served(i int, after, upTo int64, corr []Corruption) []series {
	c := s.opt.Counters[i]
	lo, hi := s.sampleRange(after, upTo)
	main := series{labels: c.Labels}
	var extra []series
	now := s.now().UnixMilli()
	half := s.opt.Step.Milliseconds() / 2
	for k := lo; k <= hi; k++ {
		ts := s.ts(k)
		v := c.Value(k)
		replica := math.NaN()
		for j := range corr {
			cr := &corr[j]
			if !cr.applies(i) || !cr.covers(ts) {
				continue
			}
			switch cr.Kind {
			case NaN:
				v = math.NaN()
			case PosInf:
				v = math.Inf(1)
			case Negative:
				v = -v
				if v == 0 {
					v = -1
				}
			case Spike:
				v = cr.Value
			case Replica:
				replica = 3*c.Value(k) + 1000
			case Churn:
				for n := 0; n < cr.Series; n++ {
					ls := c.Labels.Clone()
					ls["pod"] = model.LabelValue("churn-" + strconv.FormatInt(k, 10) + "-" + strconv.Itoa(n))
					extra = append(extra, series{labels: ls, samples: []model.SamplePair{{Timestamp: model.Time(ts), Value: 1}}})
				}
			}
		}
		main.samples = append(main.samples, model.SamplePair{Timestamp: model.Time(ts), Value: model.SampleValue(v)})
		if rts := ts + half; !math.IsNaN(replica) && rts <= upTo && rts <= now {
			main.samples = append(main.samples, model.SamplePair{Timestamp: model.Time(rts), Value: model.SampleValue(replica)})
		}
	}
	// The replica sample of the step before lo may fall in the range.
	if lo > 0 {
		k := lo - 1
		ts, rts := s.ts(k), s.ts(k)+half
		if rts > after && rts <= upTo && rts <= now {
			for j := range corr {
				if cr := &corr[j]; cr.Kind == Replica && cr.applies(i) && cr.covers(ts) {
					rs := model.SamplePair{Timestamp: model.Time(rts), Value: model.SampleValue(3*c.Value(k) + 1000)}
					main.samples = append([]model.SamplePair{rs}, main.samples...)
					break
				}
			}
		}
	}
	out := make([]series, 0, 1+len(extra))
	if len(main.samples) > 0 {
		out = append(out, main)
	}
	return append(out, extra...)
}
