package simulator

import (
	"fmt"
	"math/big"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// Kind is what an incident does to its service.
type Kind string

// The incident kinds.
const (
	// KindErrors makes a share of requests (lookups, jobs, journeys) fail.
	KindErrors Kind = "errors"
	// KindLatency makes a share of requests slow (outside the SLO's bound).
	KindLatency Kind = "latency"
	// KindQuality lowers model-api's prediction accuracy.
	KindQuality Kind = "quality"
	// KindRestart restarts the service: its counters drop to zero at Start.
	KindRestart Kind = "restart"
)

// Incident is one entry of the schedule.
type Incident struct {
	// Service is the target service.
	Service Service
	// Model restricts a model-api incident to one model; empty means all.
	Model string
	// Kind is what happens.
	Kind Kind
	// Start is the offset from the simulation's start.
	Start time.Duration
	// Duration is how long it lasts; zero for restarts, which are instants.
	Duration time.Duration
	// Magnitude is error_ratio (errors), slow_ratio (latency) or accuracy
	// (quality); nil for restarts.
	Magnitude *big.Rat
	// MagnitudeText is Magnitude as it was written.
	MagnitudeText string
	// Code is the status code of a model-api error incident ("500" unless
	// given); empty otherwise.
	Code string
}

// End is the offset at which the incident stops (Start for restarts).
func (in Incident) End() time.Duration { return in.Start + in.Duration }

// magnitudeField is the field that holds each kind's magnitude.
var magnitudeField = map[Kind]string{
	KindErrors:  "error_ratio",
	KindLatency: "slow_ratio",
	KindQuality: "accuracy",
}

// kindsFor lists the kinds each service supports.
var kindsFor = map[Service][]Kind{
	ModelAPI:         {KindErrors, KindLatency, KindQuality, KindRestart},
	BatchInference:   {KindErrors, KindLatency, KindRestart},
	FeatureStore:     {KindErrors, KindLatency, KindRestart},
	InferenceJourney: {KindErrors, KindRestart},
}

// fieldNames are the fields an incident may have, in canonical order.
var fieldNames = []string{"service", "model", "kind", "start", "duration", "error_ratio", "slow_ratio", "accuracy", "code"}

// Fields returns the incident in the field form ParseFields reads; it is
// also the incident's JSON form.
func (in Incident) Fields() map[string]string {
	f := map[string]string{
		"service": string(in.Service),
		"kind":    string(in.Kind),
		"start":   model.Duration(in.Start).String(),
	}
	if in.Model != "" {
		f["model"] = in.Model
	}
	if in.Kind != KindRestart {
		f["duration"] = model.Duration(in.Duration).String()
		f[magnitudeField[in.Kind]] = in.MagnitudeText
	}
	if in.Code != "" {
		f["code"] = in.Code
	}
	return f
}

// String returns the incident in the --incident flag syntax.
func (in Incident) String() string {
	f := in.Fields()
	var parts []string
	for _, k := range fieldNames {
		if v, ok := f[k]; ok {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, ",")
}

// MarshalJSON writes the incident as its Fields.
func (in Incident) MarshalJSON() ([]byte, error) {
	return jsonMarshal(in.Fields())
}

// ParseSpec parses the --incident flag syntax: comma-separated key=value
// pairs with the same fields as ParseFields, e.g.
// "service=model-api,model=resnet50,start=10m,duration=5m,error_ratio=0.5".
func ParseSpec(spec string) (Incident, error) {
	fields := map[string]string{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Incident{}, fmt.Errorf("empty field in %q (fields are key=value separated by commas)", spec)
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return Incident{}, fmt.Errorf("field %q is not key=value", part)
		}
		if _, dup := fields[k]; dup {
			return Incident{}, fmt.Errorf("field %s given twice", k)
		}
		fields[k] = v
	}
	return ParseFields(fields)
}

var statusCode = regexp.MustCompile(`^[45][0-9][0-9]$`)

// ParseFields builds an incident from its fields:
//
//	service      model-api | batch-inference | feature-store | inference-journey (required)
//	model        model-api only: one of Models(); empty means every model
//	kind         errors | latency | quality | restart; inferred from the magnitude field when absent
//	start        offset from the simulation's start, e.g. 10m, 1h30m, 2d (required)
//	duration     how long, e.g. 5m (required, > 0; not allowed for restart)
//	error_ratio  errors: share of requests that fail, in (0, 1]
//	slow_ratio   latency: share of requests that become slow, in (0, 1]
//	accuracy     quality: prediction accuracy while it lasts, in [0, 1]
//	code         model-api errors only: the status code of the failures (default 500)
//
// Ratios are exact decimals (0.05, 1e-3) or fractions (1/3). Errors name
// the field and the value.
func ParseFields(fields map[string]string) (Incident, error) {
	var unknown []string
	for k := range fields {
		if !containsString(fieldNames, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Incident{}, fmt.Errorf("unknown field %q (known: %s)", unknown[0], strings.Join(fieldNames, ", "))
	}
	var in Incident

	svc, ok := fields["service"]
	if !ok || svc == "" {
		return Incident{}, fmt.Errorf("field service: missing (one of %s)", serviceList())
	}
	in.Service = Service(svc)
	if !in.Service.valid() {
		return Incident{}, fmt.Errorf("field service: unknown service %q (one of %s)", svc, serviceList())
	}

	if m, ok := fields["model"]; ok {
		if in.Service != ModelAPI {
			return Incident{}, fmt.Errorf("field model: %q given, but only model-api has models", m)
		}
		if _, known := findModel(m); !known {
			return Incident{}, fmt.Errorf("field model: unknown model %q (one of %s)", m, strings.Join(Models(), ", "))
		}
		in.Model = m
	}

	var given []string
	for _, k := range []string{"error_ratio", "slow_ratio", "accuracy"} {
		if _, ok := fields[k]; ok {
			given = append(given, k)
		}
	}
	if len(given) > 1 {
		return Incident{}, fmt.Errorf("fields %s: an incident has one magnitude", strings.Join(given, " and "))
	}
	if k, ok := fields["kind"]; ok {
		in.Kind = Kind(k)
		if !containsKind(kindsFor[ModelAPI], in.Kind) { // model-api supports every kind
			return Incident{}, fmt.Errorf("field kind: unknown kind %q (one of errors, latency, quality, restart)", k)
		}
	} else {
		for kind, f := range magnitudeField {
			if len(given) == 1 && given[0] == f {
				in.Kind = kind
			}
		}
		if in.Kind == "" {
			return Incident{}, fmt.Errorf("field kind: missing (one of errors, latency, quality, restart), and no error_ratio, slow_ratio or accuracy to infer it from")
		}
	}
	if !containsKind(kindsFor[in.Service], in.Kind) {
		return Incident{}, fmt.Errorf("field kind: %s does not support %q (supported: %s)", in.Service, in.Kind, kindList(kindsFor[in.Service]))
	}

	st, ok := fields["start"]
	if !ok {
		return Incident{}, fmt.Errorf("field start: missing (offset from the simulation's start, e.g. 10m)")
	}
	d, err := model.ParseDuration(st)
	if err != nil {
		return Incident{}, fmt.Errorf("field start: invalid duration %q: %v", st, err)
	}
	in.Start = time.Duration(d)

	dur, hasDur := fields["duration"]
	if in.Kind == KindRestart {
		if hasDur {
			return Incident{}, fmt.Errorf("field duration: %q given, but a restart is an instant", dur)
		}
		if len(given) > 0 {
			return Incident{}, fmt.Errorf("field %s: not valid for kind restart", given[0])
		}
		if c, ok := fields["code"]; ok {
			return Incident{}, fmt.Errorf("field code: %q given, but only model-api errors have a code", c)
		}
		return in, nil
	}
	if !hasDur {
		return Incident{}, fmt.Errorf("field duration: missing (how long the %s incident lasts, e.g. 5m)", in.Kind)
	}
	d, err = model.ParseDuration(dur)
	if err != nil {
		return Incident{}, fmt.Errorf("field duration: invalid duration %q: %v", dur, err)
	}
	if d == 0 {
		return Incident{}, fmt.Errorf("field duration: %q must be greater than zero", dur)
	}
	in.Duration = time.Duration(d)

	want := magnitudeField[in.Kind]
	if len(given) == 1 && given[0] != want {
		return Incident{}, fmt.Errorf("field %s: not valid for kind %s (use %s)", given[0], in.Kind, want)
	}
	text, ok := fields[want]
	if !ok {
		return Incident{}, fmt.Errorf("field %s: missing (the %s incident's magnitude)", want, in.Kind)
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return Incident{}, fmt.Errorf("field %s: %q is not a number", want, text)
	}
	if r.Sign() < 0 || r.Cmp(ratOne) > 0 || (r.Sign() == 0 && in.Kind != KindQuality) {
		rng := "(0, 1]"
		if in.Kind == KindQuality {
			rng = "[0, 1]"
		}
		return Incident{}, fmt.Errorf("field %s: %q is out of range %s", want, text, rng)
	}
	in.Magnitude, in.MagnitudeText = r, text

	if c, ok := fields["code"]; ok {
		if in.Service != ModelAPI || in.Kind != KindErrors {
			return Incident{}, fmt.Errorf("field code: %q given, but only model-api errors have a code", c)
		}
		if !statusCode.MatchString(c) {
			return Incident{}, fmt.Errorf("field code: %q is not a 4xx or 5xx status code", c)
		}
		in.Code = c
	} else if in.Service == ModelAPI && in.Kind == KindErrors {
		in.Code = baseAPICode
	}
	return in, nil
}

// ParseFile reads a schedule in YAML:
//
//	incidents:
//	  - service: model-api
//	    model: resnet50
//	    start: 10m
//	    duration: 5m
//	    error_ratio: 0.5
//
// name is used in errors, which give the line of the offending incident.
func ParseFile(name string, data []byte) ([]Incident, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a mapping with key incidents", name, root.Line)
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if k.Value != "incidents" {
			return nil, fmt.Errorf("%s:%d: unknown key %q (only incidents)", name, k.Line, k.Value)
		}
		list = root.Content[i+1]
	}
	if list == nil || (list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s:%d: incidents must be a list", name, list.Line)
	}
	var out []Incident
	for n, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%s:%d: incident %d: must be a mapping of fields", name, item.Line, n+1)
		}
		fields := map[string]string{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%s:%d: incident %d: field %s must be a scalar", name, v.Line, n+1, k.Value)
			}
			if _, dup := fields[k.Value]; dup {
				return nil, fmt.Errorf("%s:%d: incident %d: field %s given twice", name, k.Line, n+1, k.Value)
			}
			fields[k.Value] = v.Value
		}
		in, err := ParseFields(fields)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: incident %d: %w", name, item.Line, n+1, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// LoadFile reads and parses a schedule file (see ParseFile).
func LoadFile(path string) ([]Incident, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseFile(path, data)
}

func serviceList() string {
	var s []string
	for _, k := range Services() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func kindList(ks []Kind) string {
	var s []string
	for _, k := range ks {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
