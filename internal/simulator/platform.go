package simulator

import (
	"fmt"
	"math/big"
)

// Service names one simulated service. Its name is also its scrape path
// (/metrics/<name>), so each gets its own Prometheus job.
type Service string

// The simulated services.
const (
	ModelAPI         Service = "model-api"
	BatchInference   Service = "batch-inference"
	FeatureStore     Service = "feature-store"
	InferenceJourney Service = "inference-journey"
)

// Services lists every simulated service in exposition order.
func Services() []Service {
	return []Service{ModelAPI, BatchInference, FeatureStore, InferenceJourney}
}

// valid reports whether s is a known service.
func (s Service) valid() bool {
	for _, k := range Services() {
		if s == k {
			return true
		}
	}
	return false
}

// dist is a latency (or duration) distribution over classic histogram
// buckets: cum[i] is the share of observations at or below le[i]; the
// +Inf bucket holds the rest. rep[i] is the value every observation in
// bucket i (the one ending at le[i], or +Inf for the last) is taken to
// have, so the _sum rate is exact.
type dist struct {
	le  []float64
	cum []*big.Rat
	rep []*big.Rat
}

// mean is the mean observed value: sum over buckets of share x rep.
func (d dist) mean() *big.Rat {
	m := new(big.Rat)
	prev := new(big.Rat)
	for i, r := range d.rep {
		c := ratOne
		if i < len(d.cum) {
			c = d.cum[i]
		}
		share := new(big.Rat).Sub(c, prev)
		m.Add(m, share.Mul(share, r))
		prev = c
	}
	return m
}

// modelProfile holds the fixed traffic profile of one model behind model-api.
type modelProfile struct {
	name string
	// rate is requests per second.
	rate *big.Rat
	// errorRatio is the baseline share of requests answered with code 500.
	errorRatio *big.Rat
	// fast is the latency distribution outside latency incidents.
	fast dist
	// groundTruth is the share of successful predictions whose ground truth
	// arrives (and is counted in model_predictions_with_ground_truth_total).
	groundTruth *big.Rat
	// accuracy is the baseline share of those predictions that are correct.
	accuracy *big.Rat
}

// apiBuckets are the model-api latency bucket bounds in seconds.
var apiBuckets = []float64{0.05, 0.1, 0.2, 0.5, 1, 2.5}

// apiReps are the representative latencies of the model-api buckets,
// the last one for +Inf.
var apiReps = rats("0.03", "0.075", "0.15", "0.35", "0.75", "1.75", "4")

// apiSlow is where requests slowed down by a latency incident land: all
// above 200 ms.
var apiSlow = dist{le: apiBuckets, cum: rats("0", "0", "0", "0.3", "0.7", "0.95"), rep: apiReps}

// models is the model-api fleet: 50 requests per second in all.
var models = []modelProfile{
	{
		name: "resnet50", rate: rat("25"), errorRatio: rat("0.0003"),
		fast:        dist{le: apiBuckets, cum: rats("0.55", "0.85", "0.98", "0.995", "0.999", "1"), rep: apiReps},
		groundTruth: rat("0.1"), accuracy: rat("0.96"),
	},
	{
		name: "bert-base", rate: rat("15"), errorRatio: rat("0.0005"),
		fast:        dist{le: apiBuckets, cum: rats("0.3", "0.7", "0.97", "0.995", "0.999", "1"), rep: apiReps},
		groundTruth: rat("0.1"), accuracy: rat("0.94"),
	},
	{
		name: "llama-7b", rate: rat("10"), errorRatio: rat("0.0005"),
		fast:        dist{le: apiBuckets, cum: rats("0", "0.05", "0.96", "0.99", "0.998", "0.9995"), rep: apiReps},
		groundTruth: rat("0.05"), accuracy: rat("0.93"),
	},
}

// Models lists the model label values of model-api.
func Models() []string {
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = m.name
	}
	return out
}

// findModel returns the model named name, or false.
func findModel(name string) (modelProfile, bool) {
	for _, m := range models {
		if m.name == name {
			return m, true
		}
	}
	return modelProfile{}, false
}

// Batch inference: one job finishes every 50 s on average, 1% fail, 99%
// finish within 4 h.
var (
	batchRate       = rat("0.02")
	batchErrorRatio = rat("0.01")
	batchBuckets    = []float64{300, 600, 1800, 3600, 7200, 14400, 28800}
	batchReps       = rats("200", "450", "1200", "2700", "5400", "10800", "21600", "36000")
	batchFast       = dist{le: batchBuckets, cum: rats("0.05", "0.15", "0.4", "0.7", "0.9", "0.99", "0.999"), rep: batchReps}
	batchSlow       = dist{le: batchBuckets, cum: rats("0", "0", "0", "0", "0", "0", "0.6"), rep: batchReps}
)

// Feature store: 120 lookups per second, 0.002% errors, 99.5% under 10 ms.
var (
	featureRate       = rat("120")
	featureErrorRatio = rat("0.00002")
	featureBuckets    = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}
	featureReps       = rats("0.0007", "0.0018", "0.0038", "0.0075", "0.017", "0.035", "0.07", "0.2")
	featureFast       = dist{le: featureBuckets, cum: rats("0.2", "0.6", "0.9", "0.995", "0.999", "0.9998", "0.99995"), rep: featureReps}
	featureSlow       = dist{le: featureBuckets, cum: rats("0", "0", "0", "0", "0.5", "0.8", "0.95"), rep: featureReps}
)

// journeyRate is inference journeys (one feature lookup and one model call
// each) per second.
var journeyRate = rat("20")

// baseAPICode is the code of model-api's baseline errors and the default
// code of its error incidents.
const baseAPICode = "500"

// standardAPICodes are the code label values model-api always exposes.
var standardAPICodes = []string{"200", "500", "503"}

var ratOne = big.NewRat(1, 1)

// rat parses an exact decimal constant; it panics on a typo, which the
// package's tests would catch at once.
func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(fmt.Sprintf("simulator: bad constant %q", s))
	}
	return r
}

// rats parses several constants.
func rats(ss ...string) []*big.Rat {
	out := make([]*big.Rat, len(ss))
	for i, s := range ss {
		out[i] = rat(s)
	}
	return out
}
