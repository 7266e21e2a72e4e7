package synth

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// Sample is one counter sample.
type Sample struct {
	// T is the timestamp in Unix milliseconds.
	T int64
	// V is the counter value.
	V float64
}

// Series is one labelled time series with samples in increasing T order.
type Series struct {
	// Labels include the metric name as "__name__".
	Labels map[string]string
	// Samples are ordered by strictly increasing T.
	Samples []Sample
}

// Group is one value of Config.GroupLabel with an optional lifetime.
type Group struct {
	// Name is the label value, e.g. "a".
	Name string
	// From is when the group's series appear; zero means Config.Start.
	From time.Time
	// Until is when they vanish (no samples at or after it); zero means
	// after Config.End.
	Until time.Time
}

// Incident raises the error ratio of some groups for a while.
type Incident struct {
	// Start and Duration delimit the grid points affected:
	// Start <= t < Start+Duration.
	Start    time.Time
	Duration time.Duration
	// ErrorRatio replaces Config.ErrorRatio inside the incident.
	ErrorRatio float64
	// Groups names the affected groups; empty means all.
	Groups []string
}

// Burst multiplies the traffic of some groups for a while.
type Burst struct {
	// Start and Duration delimit the grid points affected.
	Start    time.Time
	Duration time.Duration
	// Factor multiplies Config.BaseRate inside the burst.
	Factor float64
	// Groups names the affected groups; empty means all.
	Groups []string
}

// Restart is a process restart: the counters of the groups reset.
type Restart struct {
	// At is the restart time; the reset shows at the first grid point at or
	// after At.
	At time.Time
	// Groups names the restarted groups; empty means all.
	Groups []string
}

// Gap is a scrape outage: no samples for any series.
type Gap struct {
	// Start and Duration delimit the grid points without samples.
	Start    time.Time
	Duration time.Duration
}

// Config describes a synthetic history. Zero fields take the defaults
// noted on each.
type Config struct {
	// Start and End bound the grid; End is included. Required, End after
	// Start.
	Start, End time.Time
	// Step is the scrape interval; default 30s.
	Step time.Duration
	// Jitter delays each scrape by a seeded amount in [0, Jitter), whole
	// milliseconds; it must be smaller than Step. Default 0.
	Jitter time.Duration
	// Seed makes the history reproducible.
	Seed uint64
	// Metric is the counter name; default "synth_requests_total".
	Metric string
	// GroupLabel is the label that tells groups apart; default "model".
	GroupLabel string
	// ExtraLabels are added to every series, e.g. {"job": "synth"}.
	ExtraLabels map[string]string
	// Groups default to "a" and "b" over the whole range.
	Groups []Group
	// BaseRate is the events per second per group; default 10.
	BaseRate float64
	// ErrorRatio is the share of events with code "500" outside incidents;
	// default 0.001.
	ErrorRatio float64
	// Incidents, Bursts, Restarts and Gaps are the features; see the
	// package documentation for their exact effect.
	Incidents []Incident
	Bursts    []Burst
	Restarts  []Restart
	Gaps      []Gap
}

// Codes are the values of the "code" label: good and bad events.
const (
	CodeGood = "200"
	CodeBad  = "500"
)

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Step == 0 {
		cfg.Step = 30 * time.Second
	}
	if cfg.Metric == "" {
		cfg.Metric = "synth_requests_total"
	}
	if cfg.GroupLabel == "" {
		cfg.GroupLabel = "model"
	}
	if len(cfg.Groups) == 0 {
		cfg.Groups = []Group{{Name: "a"}, {Name: "b"}}
	}
	if cfg.BaseRate == 0 {
		cfg.BaseRate = 10
	}
	if cfg.ErrorRatio == 0 {
		cfg.ErrorRatio = 0.001
	}
	return cfg
}

// Validate reports the first invalid field of cfg (after defaults).
func (cfg Config) Validate() error {
	cfg = cfg.withDefaults()
	switch {
	case cfg.Start.IsZero() || cfg.End.IsZero():
		return fmt.Errorf("synth: Config.Start and Config.End are required (got %v, %v)", cfg.Start, cfg.End)
	case !cfg.End.After(cfg.Start):
		return fmt.Errorf("synth: Config.End %v is not after Config.Start %v", cfg.End, cfg.Start)
	case cfg.Step < time.Millisecond:
		return fmt.Errorf("synth: Config.Step %v is below 1ms", cfg.Step)
	case cfg.Jitter < 0 || cfg.Jitter >= cfg.Step:
		return fmt.Errorf("synth: Config.Jitter %v must be in [0, Step=%v)", cfg.Jitter, cfg.Step)
	case cfg.BaseRate < 0 || math.IsNaN(cfg.BaseRate) || math.IsInf(cfg.BaseRate, 0):
		return fmt.Errorf("synth: Config.BaseRate %v must be finite and >= 0", cfg.BaseRate)
	case !isRatio(cfg.ErrorRatio):
		return fmt.Errorf("synth: Config.ErrorRatio %v must be in [0, 1]", cfg.ErrorRatio)
	}
	seen := map[string]bool{}
	for i, g := range cfg.Groups {
		if g.Name == "" || seen[g.Name] {
			return fmt.Errorf("synth: Config.Groups[%d].Name %q is empty or repeated", i, g.Name)
		}
		seen[g.Name] = true
		if !g.From.IsZero() && !g.Until.IsZero() && !g.Until.After(g.From) {
			return fmt.Errorf("synth: Config.Groups[%d] (%s): Until %v is not after From %v", i, g.Name, g.Until, g.From)
		}
	}
	known := func(field string, i int, groups []string) error {
		for _, n := range groups {
			if !seen[n] {
				return fmt.Errorf("synth: Config.%s[%d].Groups: unknown group %q", field, i, n)
			}
		}
		return nil
	}
	for i, in := range cfg.Incidents {
		if !isRatio(in.ErrorRatio) || in.Duration <= 0 {
			return fmt.Errorf("synth: Config.Incidents[%d]: ErrorRatio %v must be in [0, 1] and Duration %v > 0", i, in.ErrorRatio, in.Duration)
		}
		if err := known("Incidents", i, in.Groups); err != nil {
			return err
		}
	}
	for i, b := range cfg.Bursts {
		if !(b.Factor >= 0) || math.IsInf(b.Factor, 0) || b.Duration <= 0 {
			return fmt.Errorf("synth: Config.Bursts[%d]: Factor %v must be finite and >= 0 and Duration %v > 0", i, b.Factor, b.Duration)
		}
		if err := known("Bursts", i, b.Groups); err != nil {
			return err
		}
	}
	for i, r := range cfg.Restarts {
		if err := known("Restarts", i, r.Groups); err != nil {
			return err
		}
	}
	for i, g := range cfg.Gaps {
		if g.Duration <= 0 {
			return fmt.Errorf("synth: Config.Gaps[%d].Duration %v must be > 0", i, g.Duration)
		}
	}
	return nil
}

func isRatio(r float64) bool { return r >= 0 && r <= 1 }

// inWindow reports whether start <= t < start+d.
func inWindow(t, start time.Time, d time.Duration) bool {
	return !t.Before(start) && t.Before(start.Add(d))
}

// applies reports whether a feature naming groups affects group g.
func applies(groups []string, g string) bool {
	if len(groups) == 0 {
		return true
	}
	for _, n := range groups {
		if n == g {
			return true
		}
	}
	return false
}

// Generate produces the history cfg describes: for each group in order, the
// CodeGood series then the CodeBad series. A group with no grid point in its
// lifetime has no series. It panics when cfg is invalid (see Validate):
// configs are written by tests, and a wrong one is a bug in the test.
func Generate(cfg Config) []Series {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	var out []Series
	for _, g := range cfg.Groups {
		good, bad := generateGroup(cfg, g)
		if len(good.Samples) > 0 {
			out = append(out, good, bad)
		}
	}
	return out
}

// generateGroup produces the good and bad series of one group.
func generateGroup(cfg Config, g Group) (good, bad Series) {
	h := fnv.New64a()
	h.Write([]byte(g.Name))
	gh := h.Sum64()
	events := rand.New(rand.NewPCG(cfg.Seed, gh))
	jitter := rand.New(rand.NewPCG(cfg.Seed^0x9e3779b97f4a7c15, gh))

	labels := func(code string) map[string]string {
		l := make(map[string]string, len(cfg.ExtraLabels)+3)
		for k, v := range cfg.ExtraLabels {
			l[k] = v
		}
		l["__name__"] = cfg.Metric
		l[cfg.GroupLabel] = g.Name
		l["code"] = code
		return l
	}
	good.Labels, bad.Labels = labels(CodeGood), labels(CodeBad)

	from, until := g.From, g.Until
	if from.IsZero() {
		from = cfg.Start
	}
	restarted := make([]bool, len(cfg.Restarts))
	var vGood, vBad float64
	first := true
	for t := cfg.Start; !t.After(cfg.End); t = t.Add(cfg.Step) {
		var j int64
		if ms := cfg.Jitter.Milliseconds(); ms > 0 {
			j = jitter.Int64N(ms) // drawn at every grid point, so lifetimes do not shift it
		}
		if t.Before(from) || (!until.IsZero() && !t.Before(until)) {
			continue
		}
		rate, ratio := cfg.BaseRate, cfg.ErrorRatio
		for _, b := range cfg.Bursts {
			if applies(b.Groups, g.Name) && inWindow(t, b.Start, b.Duration) {
				rate *= b.Factor
			}
		}
		for _, in := range cfg.Incidents {
			if applies(in.Groups, g.Name) && inWindow(t, in.Start, in.Duration) {
				ratio = in.ErrorRatio
			}
		}
		n := poisson(events, rate*cfg.Step.Seconds())
		e := math.Min(n, poisson(events, n*ratio))
		reset := false
		for i, r := range cfg.Restarts {
			if !restarted[i] && applies(r.Groups, g.Name) && !t.Before(r.At) {
				restarted[i] = true
				reset = true
			}
		}
		if reset || first {
			vGood, vBad = 0, 0
		}
		first = false
		vGood += n - e
		vBad += e

		skip := false
		for _, gap := range cfg.Gaps {
			if inWindow(t, gap.Start, gap.Duration) {
				skip = true
			}
		}
		if skip {
			continue
		}
		ts := t.UnixMilli() + j
		good.Samples = append(good.Samples, Sample{T: ts, V: vGood})
		bad.Samples = append(bad.Samples, Sample{T: ts, V: vBad})
	}
	return good, bad
}

// poisson draws an integer with mean lambda: Knuth's method for small
// lambda, a rounded normal approximation above 30.
func poisson(r *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l := math.Exp(-lambda)
	k, p := 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
