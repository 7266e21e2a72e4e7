package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

var inf = math.Inf(1)

// Config configures a simulation.
type Config struct {
	// Start is the simulation's start: elapsed time, incident offsets and
	// counters all count from it. A Start in the past gives the counters
	// history from the first scrape on. Zero means Now() at New.
	Start time.Time
	// Now is the clock; nil means time.Now. Tests pass a fixed or stepped
	// clock.
	Now func() time.Time
	// Incidents is the initial schedule, in any order.
	Incidents []Incident
}

// Sim is a running simulation. It is safe for concurrent use.
type Sim struct {
	start time.Time
	now   func() time.Time

	mu        sync.RWMutex
	incidents []Incident
	series    []series
	segments  []segment
	// restarts[i] lists the elapsed milliseconds at which series i restarts,
	// ascending.
	restarts [][]int64
}

// segment is a stretch of elapsed time [start, next segment's start) in
// which every series' rate is constant.
type segment struct {
	start int64 // elapsed milliseconds
	rates []*big.Rat
}

// New starts a simulation. Each incident is validated as ParseFields does.
func New(cfg Config) (*Sim, error) {
	s := &Sim{start: cfg.Start, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.start.IsZero() {
		s.start = s.now()
	}
	incs := make([]Incident, 0, len(cfg.Incidents))
	for i, in := range cfg.Incidents {
		n, err := normalize(in)
		if err != nil {
			return nil, fmt.Errorf("incident %d (%s): %w", i+1, withDefaults(in), err)
		}
		incs = append(incs, n)
	}
	s.setSchedule(incs)
	return s, nil
}

// normalize validates an incident built in Go by passing it through
// ParseFields, which also fills in defaults (the code of model-api errors).
func normalize(in Incident) (Incident, error) {
	return ParseFields(withDefaults(in).Fields())
}

// withDefaults fills in MagnitudeText from Magnitude and the default code
// of model-api errors.
func withDefaults(in Incident) Incident {
	if in.MagnitudeText == "" && in.Magnitude != nil {
		in.MagnitudeText = in.Magnitude.RatString()
	}
	if in.Kind == KindErrors && in.Service == ModelAPI && in.Code == "" {
		in.Code = baseAPICode
	}
	return in
}

// Start returns the simulation's start.
func (s *Sim) Start() time.Time { return s.start }

// Now returns the simulation clock's current time.
func (s *Sim) Now() time.Time { return s.now() }

// Schedule returns the incidents in the order they apply: by start, ties
// in the order they were added.
func (s *Sim) Schedule() []Incident {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]Incident(nil), s.incidents...)
}

// AddIncident adds an incident to the running schedule. It must not start
// before the clock's current elapsed time: the past is fixed, since
// rewriting it would make counters go backwards.
func (s *Sim) AddIncident(in Incident) error {
	n, err := normalize(in)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el := s.elapsedMillis(s.now()); n.Start.Milliseconds() < el {
		return fmt.Errorf("field start: %s is before the simulation's current time %s; only future incidents can be added",
			model.Duration(n.Start), model.Duration(time.Duration(el)*time.Millisecond))
	}
	s.setSchedule(append(append([]Incident(nil), s.incidents...), n))
	return nil
}

// setSchedule sorts the schedule and rebuilds series, segments and
// restarts. The caller holds mu for writing (or owns s).
func (s *Sim) setSchedule(incs []Incident) {
	sort.SliceStable(incs, func(i, j int) bool { return incs[i].Start < incs[j].Start })
	s.incidents = incs
	s.series = buildSeries(incs)

	cuts := map[int64]bool{0: true}
	for _, in := range incs {
		if in.Kind != KindRestart {
			cuts[in.Start.Milliseconds()] = true
			cuts[in.End().Milliseconds()] = true
		}
	}
	starts := make([]int64, 0, len(cuts))
	for c := range cuts {
		starts = append(starts, c)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	s.segments = make([]segment, len(starts))
	for i, st := range starts {
		state := stateAt(incs, st)
		rates := make([]*big.Rat, len(s.series))
		for j, sr := range s.series {
			rates[j] = sr.rate(state)
		}
		s.segments[i] = segment{start: st, rates: rates}
	}

	s.restarts = make([][]int64, len(s.series))
	for j, sr := range s.series {
		for _, in := range incs {
			if in.Kind == KindRestart && in.Service == sr.service && (in.Model == "" || in.Model == sr.model) {
				s.restarts[j] = append(s.restarts[j], in.Start.Milliseconds())
			}
		}
	}
}

// elapsedMillis is the elapsed time at t in whole milliseconds (rounded
// down), and 0 before the start.
func (s *Sim) elapsedMillis(t time.Time) int64 {
	d := t.Sub(s.start)
	if d <= 0 {
		return 0
	}
	return d.Milliseconds()
}

// integrals returns, for every series, the exact integral of its rate from
// its last restart at or before elapsed millisecond el up to el. The caller
// holds mu.
func (s *Sim) integrals(el int64) []*big.Rat {
	out := make([]*big.Rat, len(s.series))
	for j := range s.series {
		from := int64(0)
		for _, r := range s.restarts[j] {
			if r <= el && r > from {
				from = r
			}
		}
		sum := new(big.Rat)
		for k, seg := range s.segments {
			end := int64(math.MaxInt64)
			if k+1 < len(s.segments) {
				end = s.segments[k+1].start
			}
			a, b := max(seg.start, from), min(end, el)
			if b <= a {
				continue
			}
			sum.Add(sum, new(big.Rat).Mul(seg.rates[j], new(big.Rat).SetInt64(b-a)))
		}
		out[j] = sum.Quo(sum, big.NewRat(1000, 1))
	}
	return out
}

// value turns a series' integral into its exposed value: floored for
// counters and buckets, exact (to float64) for _sum.
func value(sr series, integral *big.Rat) float64 {
	if sr.kind == kindSum {
		f, _ := integral.Float64()
		return f
	}
	f, _ := new(big.Rat).SetInt(floorRat(integral)).Float64()
	return f
}

// floorRat is the floor of a non-negative rational.
func floorRat(r *big.Rat) *big.Int {
	return new(big.Int).Quo(r.Num(), r.Denom())
}

// CountersAt returns the value of every exposed series at time t, keyed by
// SeriesKey (e.g. http_request_duration_seconds_bucket{le="0.2",model="llama-7b"}).
// Elapsed time is counted in whole milliseconds; before Start everything
// is zero. It is what a scrape at t returns.
func (s *Sim) CountersAt(t time.Time) map[string]float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	vals := s.integrals(s.elapsedMillis(t))
	out := make(map[string]float64, len(vals))
	for j, sr := range s.series {
		out[sr.key] = value(sr, vals[j])
	}
	return out
}

// scheduleJSON is the body of GET /-/schedule.
type scheduleJSON struct {
	Start     time.Time  `json:"start"`
	Now       time.Time  `json:"now"`
	Elapsed   string     `json:"elapsed"`
	Incidents []Incident `json:"incidents"`
}

// ScheduleJSON returns the schedule as GET /-/schedule serves it: the
// start, the clock's now, the elapsed time and the incidents as fields.
func (s *Sim) ScheduleJSON() ([]byte, error) {
	now := s.now()
	incs := s.Schedule()
	if incs == nil {
		incs = []Incident{}
	}
	return json.MarshalIndent(scheduleJSON{
		Start:     s.start.UTC(),
		Now:       now.UTC(),
		Elapsed:   model.Duration(time.Duration(s.elapsedMillis(now)) * time.Millisecond).String(),
		Incidents: incs,
	}, "", "  ")
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
