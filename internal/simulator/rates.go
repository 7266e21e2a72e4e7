package simulator

import (
	"math/big"
	"sort"
	"strconv"
)

// seriesKind says how a series is exposed.
type seriesKind int

const (
	kindCounter seriesKind = iota
	kindBucket
	kindCount
	kindSum
)

// series is one exposed time series and its instantaneous rate.
type series struct {
	// family is the metric family (the histogram's base name for its
	// _bucket, _count and _sum series).
	family string
	kind   seriesKind
	// labels are the series' labels without le, as name/value pairs sorted
	// by name.
	labels [][2]string
	// le is the bucket bound (kindBucket only; +Inf allowed).
	le float64
	// key is the full series string, e.g. http_requests_total{code="200",model="bert-base"}.
	key string
	// service and model scope restarts.
	service Service
	model   string
	// rate is the series' rate per second in a state.
	rate func(st *state) *big.Rat
}

// state is every rate-determining quantity at one instant.
type state struct {
	api      map[string]*apiState
	batchOK  *big.Rat
	batchSlw *big.Rat
	fsOK     *big.Rat
	fsSlow   *big.Rat
	jrnOK    *big.Rat
}

// apiState is one model's state.
type apiState struct {
	// codes maps a status code to the share of requests answered with it.
	codes map[string]*big.Rat
	// slow is the share of requests slowed down by latency incidents.
	slow *big.Rat
	// accuracy is the share of correct predictions.
	accuracy *big.Rat
}

// applies reports whether a (non-restart) incident acts on svc (and, for
// model-api, on model m) at elapsed millisecond ms.
func applies(in Incident, svc Service, m string, ms int64) bool {
	if in.Service != svc || (in.Model != "" && in.Model != m) {
		return false
	}
	return in.Start.Milliseconds() <= ms && ms < in.End().Milliseconds()
}

// failAndSlow folds the active errors and latency incidents of a service
// into its success share ((1-base) x product of (1-error_ratio)) and its
// slow share (1 - product of (1-slow_ratio)).
func failAndSlow(incs []Incident, svc Service, base *big.Rat, ms int64) (ok, slow *big.Rat) {
	ok = new(big.Rat).Sub(ratOne, base)
	keep := new(big.Rat).Set(ratOne)
	for _, in := range incs {
		if in.Kind == KindRestart || !applies(in, svc, "", ms) {
			continue
		}
		f := new(big.Rat).Sub(ratOne, in.Magnitude)
		switch in.Kind {
		case KindErrors:
			ok.Mul(ok, f)
		case KindLatency:
			keep.Mul(keep, f)
		}
	}
	return ok, new(big.Rat).Sub(ratOne, keep)
}

// stateAt computes the state at elapsed millisecond ms. incs is the
// schedule in order; the order decides which code a model-api failure gets
// when error incidents overlap (see docs/simulator.md).
func stateAt(incs []Incident, ms int64) *state {
	st := &state{api: map[string]*apiState{}}
	apiErr := new(big.Rat) // rate-weighted model-api failure share, numerator
	apiRate := new(big.Rat)
	for _, m := range models {
		a := &apiState{codes: map[string]*big.Rat{}, accuracy: m.accuracy}
		surv := new(big.Rat).Sub(ratOne, m.errorRatio)
		a.codes[baseAPICode] = new(big.Rat).Set(m.errorRatio)
		keep := new(big.Rat).Set(ratOne)
		for _, in := range incs {
			if in.Kind == KindRestart || !applies(in, ModelAPI, m.name, ms) {
				continue
			}
			switch in.Kind {
			case KindErrors:
				c := a.codes[in.Code]
				if c == nil {
					c = new(big.Rat)
					a.codes[in.Code] = c
				}
				c.Add(c, new(big.Rat).Mul(surv, in.Magnitude))
				surv.Mul(surv, new(big.Rat).Sub(ratOne, in.Magnitude))
			case KindLatency:
				keep.Mul(keep, new(big.Rat).Sub(ratOne, in.Magnitude))
			case KindQuality:
				if in.Magnitude.Cmp(a.accuracy) < 0 {
					a.accuracy = in.Magnitude
				}
			}
		}
		a.codes["200"] = surv
		a.slow = new(big.Rat).Sub(ratOne, keep)
		st.api[m.name] = a
		fail := new(big.Rat).Sub(ratOne, surv)
		apiErr.Add(apiErr, fail.Mul(fail, m.rate))
		apiRate.Add(apiRate, m.rate)
	}
	st.batchOK, st.batchSlw = failAndSlow(incs, BatchInference, batchErrorRatio, ms)
	st.fsOK, st.fsSlow = failAndSlow(incs, FeatureStore, featureErrorRatio, ms)

	// A journey does one feature lookup and one call to a model picked in
	// proportion to the models' traffic; it succeeds when both do and no
	// journey incident fails it.
	jOK, _ := failAndSlow(incs, InferenceJourney, new(big.Rat), ms)
	apiOK := new(big.Rat).Sub(ratOne, apiErr.Quo(apiErr, apiRate))
	st.jrnOK = jOK.Mul(jOK, apiOK.Mul(apiOK, st.fsOK))
	return st
}

// mix returns the cumulative share at or below bucket i of a distribution
// that is fast for a (1-slow) share and slow for the rest.
func mix(fast, slow dist, slowShare *big.Rat, i int) *big.Rat {
	f := new(big.Rat).Sub(ratOne, slowShare)
	f.Mul(f, fast.cum[i])
	return f.Add(f, new(big.Rat).Mul(slowShare, slow.cum[i]))
}

// mixMean is the mean of the same mixture.
func mixMean(fast, slow dist, slowShare *big.Rat) *big.Rat {
	f := new(big.Rat).Sub(ratOne, slowShare)
	f.Mul(f, fast.mean())
	return f.Add(f, new(big.Rat).Mul(slowShare, slow.mean()))
}

// mul multiplies rationals into a new one.
func mul(xs ...*big.Rat) *big.Rat {
	p := new(big.Rat).Set(ratOne)
	for _, x := range xs {
		p.Mul(p, x)
	}
	return p
}

// buildSeries lists every exposed series for a schedule: the set is fixed
// except that model-api gets a code series for each code an incident names.
func buildSeries(incs []Incident) []series {
	codeSet := map[string]bool{}
	for _, c := range standardAPICodes {
		codeSet[c] = true
	}
	for _, in := range incs {
		if in.Code != "" {
			codeSet[in.Code] = true
		}
	}
	codes := make([]string, 0, len(codeSet))
	for c := range codeSet {
		codes = append(codes, c)
	}
	sort.Strings(codes)

	var out []series
	add := func(s series) {
		s.key = seriesKeyOf(s)
		out = append(out, s)
	}
	histogram := func(svc Service, fam, mdl string, labels [][2]string, rate *big.Rat, fast, slow dist, slowOf func(*state) *big.Rat) {
		for i, le := range fast.le {
			i := i
			add(series{family: fam, kind: kindBucket, labels: labels, le: le, service: svc, model: mdl,
				rate: func(st *state) *big.Rat { return mul(rate, mix(fast, slow, slowOf(st), i)) }})
		}
		add(series{family: fam, kind: kindBucket, labels: labels, le: inf, service: svc, model: mdl,
			rate: func(*state) *big.Rat { return rate }})
		add(series{family: fam, kind: kindCount, labels: labels, service: svc, model: mdl,
			rate: func(*state) *big.Rat { return rate }})
		add(series{family: fam, kind: kindSum, labels: labels, service: svc, model: mdl,
			rate: func(st *state) *big.Rat { return mul(rate, mixMean(fast, slow, slowOf(st))) }})
	}
	zero := new(big.Rat)
	or0 := func(r *big.Rat) *big.Rat {
		if r == nil {
			return zero
		}
		return r
	}

	for _, m := range models {
		m := m
		ml := [2]string{"model", m.name}
		for _, c := range codes {
			c := c
			add(series{family: "http_requests_total", labels: [][2]string{{"code", c}, ml}, service: ModelAPI, model: m.name,
				rate: func(st *state) *big.Rat { return mul(m.rate, or0(st.api[m.name].codes[c])) }})
		}
		histogram(ModelAPI, "http_request_duration_seconds", m.name, [][2]string{ml}, m.rate, m.fast, apiSlow,
			func(st *state) *big.Rat { return st.api[m.name].slow })
		add(series{family: "model_predictions_with_ground_truth_total", labels: [][2]string{ml}, service: ModelAPI, model: m.name,
			rate: func(st *state) *big.Rat { return mul(m.rate, st.api[m.name].codes["200"], m.groundTruth) }})
		add(series{family: "model_correct_predictions_total", labels: [][2]string{ml}, service: ModelAPI, model: m.name,
			rate: func(st *state) *big.Rat {
				return mul(m.rate, st.api[m.name].codes["200"], m.groundTruth, st.api[m.name].accuracy)
			}})
	}

	add(series{family: "batch_jobs_total", labels: [][2]string{{"status", "failure"}}, service: BatchInference,
		rate: func(st *state) *big.Rat { return mul(batchRate, new(big.Rat).Sub(ratOne, st.batchOK)) }})
	add(series{family: "batch_jobs_total", labels: [][2]string{{"status", "success"}}, service: BatchInference,
		rate: func(st *state) *big.Rat { return mul(batchRate, st.batchOK) }})
	histogram(BatchInference, "batch_job_duration_seconds", "", nil, batchRate, batchFast, batchSlow,
		func(st *state) *big.Rat { return st.batchSlw })

	add(series{family: "feature_lookups_total", labels: [][2]string{{"code", "error"}}, service: FeatureStore,
		rate: func(st *state) *big.Rat { return mul(featureRate, new(big.Rat).Sub(ratOne, st.fsOK)) }})
	add(series{family: "feature_lookups_total", labels: [][2]string{{"code", "ok"}}, service: FeatureStore,
		rate: func(st *state) *big.Rat { return mul(featureRate, st.fsOK) }})
	histogram(FeatureStore, "feature_lookup_duration_seconds", "", nil, featureRate, featureFast, featureSlow,
		func(st *state) *big.Rat { return st.fsSlow })

	add(series{family: "inference_journey_total", labels: [][2]string{{"result", "failure"}}, service: InferenceJourney,
		rate: func(st *state) *big.Rat { return mul(journeyRate, new(big.Rat).Sub(ratOne, st.jrnOK)) }})
	add(series{family: "inference_journey_total", labels: [][2]string{{"result", "success"}}, service: InferenceJourney,
		rate: func(st *state) *big.Rat { return mul(journeyRate, st.jrnOK) }})
	return out
}

// seriesKeyOf builds a series' key.
func seriesKeyOf(s series) string {
	name := s.family
	labels := map[string]string{}
	for _, l := range s.labels {
		labels[l[0]] = l[1]
	}
	switch s.kind {
	case kindBucket:
		name += "_bucket"
		labels["le"] = FormatLe(s.le)
	case kindCount:
		name += "_count"
	case kindSum:
		name += "_sum"
	}
	return SeriesKey(name, labels)
}

// FormatLe formats a bucket bound the way the text exposition format
// writes it ("0.05", "3600", "+Inf").
func FormatLe(le float64) string {
	if le == inf {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'g', -1, 64)
}

// SeriesKey returns the key CountersAt uses for a series: the metric name
// followed by its labels sorted by name, e.g.
// http_requests_total{code="200",model="resnet50"}; just the name when there
// are no labels. Label values are quoted with strconv.Quote.
func SeriesKey(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	b := []byte(name)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, k...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, labels[k])
	}
	return string(append(b, '}'))
}
