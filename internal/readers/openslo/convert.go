// Package openslo reads OpenSLO v1 documents into slo-exporter's
// configuration model (config.SLO values, no YAML in between): SLO objects with their SLI (inline or by indicatorRef),
// Prometheus DataSources, and burn-rate AlertPolicies and AlertConditions.
// A composite SLO (an indicator per objective) becomes one component SLO
// per objective and a composite SLO over them.
//
// Documents are decoded and validated by the OpenSLO Go SDK, so anything
// the specification rejects is reported with the SDK's message. On top of
// that the converter rejects what slo-exporter cannot evaluate
// (RatioTimeslices budgeting, threshold metrics, queries that are not
// counters, ...) with a message that says why. docs/inputs.md lists the
// mapping and its limits.
package openslo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slo-exporter/slo-exporter/internal/slo"

	"github.com/OpenSLO/go-sdk/pkg/openslo"
	v1 "github.com/OpenSLO/go-sdk/pkg/openslo/v1"
	"github.com/OpenSLO/go-sdk/pkg/openslosdk"
	"github.com/nobl9/govy/pkg/govy"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/calendar"
	"github.com/slo-exporter/slo-exporter/internal/readers/promql"
	"github.com/slo-exporter/slo-exporter/internal/readers/yamlnode"
)

// APIVersion is the only OpenSLO version read.
const APIVersion = "openslo/v1"

// Format names the format in problems and origins.
const Format = "OpenSLO v1"

// object is one decoded OpenSLO object and where it was.
type object struct {
	doc  int
	kind string
	name string
	obj  openslo.Object
}

// converter holds the state of one Convert.
type converter struct {
	file     string
	errs     []error
	warnings []error
	byKind   map[string]map[string]*object
	urls     map[string]string // Prometheus URL -> DataSource that gave it first
	broken   map[string]bool   // kind/name of objects that failed to decode or validate
	// components are the names given to composites' component SLOs so
	// far, each with where it came from.
	components map[string]string
}

// ref finds the object a reference names, or reports why there is none.
func (c *converter) ref(o *object, field, kind, name string) *object {
	if r := c.byKind[kind][name]; r != nil {
		return r
	}
	if c.broken[kind+"/"+name] {
		c.add(o, field, name, fmt.Sprintf("the %s of this name is invalid (see its problems)", kind))
	} else {
		c.add(o, field, name, fmt.Sprintf("no %s of this name in the file", kind))
	}
	return nil
}

// Read reads the OpenSLO v1 objects of one file (several YAML documents,
// or lists of objects) into SLOs of the configuration model. The source
// holds every SLO that converted; the error, when not nil, joins every
// problem (each a *config.FieldError naming the file, document and
// object); warnings say what was read but has no effect. References
// (indicatorRef, metricSourceRef, alertPolicyRef, conditionRef) resolve
// within the file. An SLO without alert policies keeps the default tiers,
// except those whose long window exceeds its period; one with policies
// gets one tier per burn-rate condition and no default tier.
func Read(file string, data []byte) (src config.Source, warnings []error, err error) {
	c := &converter{file: file, byKind: map[string]map[string]*object{}, urls: map[string]string{},
		broken: map[string]bool{}, components: map[string]string{}}
	objs := c.decode(data)
	for _, o := range objs {
		if m := c.byKind[o.kind]; m[o.name] != nil {
			c.add(o, "metadata.name", o.name, fmt.Sprintf("another %s of this name is document %d; names must be unique per kind", o.kind, m[o.name].doc))
			continue
		}
		if c.byKind[o.kind] == nil {
			c.byKind[o.kind] = map[string]*object{}
		}
		c.byKind[o.kind][o.name] = o
	}
	src = config.Source{Name: file, Format: Format}
	for _, o := range objs {
		s, ok := o.obj.(v1.SLO)
		if !ok || c.byKind[o.kind][o.name] != o {
			continue
		}
		if out, ok := c.slo(o, s); ok {
			for i := range out {
				src.SLOs = append(src.SLOs, &out[i])
			}
		}
	}
	switch len(c.urls) {
	case 0:
	case 1:
		for u := range c.urls {
			src.PrometheusURL = u
		}
	default:
		var list []string
		for _, u := range slices.Sorted(maps.Keys(c.urls)) {
			list = append(list, fmt.Sprintf("%s (DataSource %q)", config.RedactURL(u), c.urls[u]))
		}
		c.errs = append(c.errs, &config.FieldError{Source: file, Format: Format, Index: -1, Msg: "the SLOs' DataSources name different Prometheus URLs: " +
			strings.Join(list, ", ") + "; slo-exporter queries one server (prometheus.url), so convert them in separate configurations"})
	}
	return src, c.warnings, errors.Join(c.errs...)
}

// problem builds a problem of an object.
func (c *converter) problem(o *object, field, value, msg string) *config.FieldError {
	e := &config.FieldError{Source: c.file, Format: Format, Index: -1, Field: field, Value: value, Msg: msg}
	if o != nil {
		e.Doc, e.Kind, e.Object = o.doc, o.kind, o.name
	}
	return e
}

// add records a problem of an object.
func (c *converter) add(o *object, field, value, msg string) {
	c.errs = append(c.errs, c.problem(o, field, value, msg))
}

// warn records something of an object that is read but has no effect.
func (c *converter) warn(o *object, field, value, msg string) {
	c.warnings = append(c.warnings, c.problem(o, field, value, msg))
}

// timeslicesMsg says why time-slice budgeting is rejected.
const timeslicesMsg = "not supported yet: slo-exporter budgets by Occurrences or Timeslices; RatioTimeslices (the ratio of good time over all slices' events) has no equivalent"

// kinds are the OpenSLO v1 kinds; Service and AlertNotificationTarget are
// accepted and ignored (slo-exporter has nothing to map them onto).
var kinds = []string{"SLO", "SLI", "DataSource", "Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget"}

// decode splits the file into objects and decodes and validates each with
// the OpenSLO SDK.
func (c *converter) decode(data []byte) []*object {
	var out []*object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.errs = append(c.errs, &config.FieldError{Source: c.file, Format: Format, Index: -1, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			break
		}
		if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		items := []*yaml.Node{root.Content[0]}
		if root.Content[0].Kind == yaml.SequenceNode {
			items = root.Content[0].Content
		}
		for _, item := range items {
			n++
			if o := c.object(n, item); o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// object decodes and validates one object.
func (c *converter) object(n int, item *yaml.Node) *object {
	o := &object{doc: n}
	if item.Kind != yaml.MappingNode {
		c.add(o, "", "", "an OpenSLO object must be a mapping with apiVersion, kind, metadata and spec")
		return nil
	}
	version := yamlnode.Scalar(item, "apiVersion")
	o.kind = yamlnode.Scalar(item, "kind")
	if md := yamlnode.Child(item, "metadata"); md != nil {
		o.name = yamlnode.Scalar(md, "name")
	}
	switch {
	case version != APIVersion:
		c.add(o, "apiVersion", version, "only "+APIVersion+" is supported")
		return nil
	case !slices.Contains(kinds, o.kind):
		c.add(o, "kind", o.kind, "not an OpenSLO v1 kind; the kinds are "+strings.Join(kinds, ", "))
		return nil
	}
	if o.kind == "SLO" {
		c.ratioOps(o, yamlnode.Child(item, "spec"))
		if c.thresholdOpsMissing(o, yamlnode.Child(item, "spec")) {
			c.broken[o.kind+"/"+o.name] = true
			return nil
		}
		// Reported before the SDK's checks, which would first ask for the
		// time-slice fields of a method that cannot be converted anyway.
		if m := yamlnode.Scalar(yamlnode.Child(item, "spec"), "budgetingMethod"); m == string(v1.SLOBudgetingMethodRatioTimeslices) {
			c.add(o, "spec.budgetingMethod", m, timeslicesMsg)
			c.broken[o.kind+"/"+o.name] = true
			return nil
		}
	}
	b, err := yaml.Marshal(item)
	if err != nil {
		c.add(o, "", "", err.Error())
		return nil
	}
	objs, err := openslosdk.Decode(bytes.NewReader(b), openslosdk.FormatYAML)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": json: "); i >= 0 {
			msg = msg[i+len(": json: "):]
		}
		c.add(o, "", "", "cannot decode: "+msg)
		return nil
	}
	if len(objs) != 1 {
		c.add(o, "", "", "cannot decode the object")
		return nil
	}
	o.obj = objs[0]
	if err := o.obj.Validate(); err != nil {
		c.broken[o.kind+"/"+o.name] = true
		var ve *govy.ValidatorError
		if !errors.As(err, &ve) {
			c.add(o, "", "", err.Error())
			return nil
		}
		for _, pe := range ve.Errors {
			v := pe.PropertyValue
			if strings.HasPrefix(v, "{") {
				// A whole object, JSON-encoded and cut at 100 characters:
				// the field names it better.
				v = ""
			}
			for _, re := range pe.Errors {
				c.add(o, pe.PropertyName, v, re.Message)
			}
		}
		return nil
	}
	return o
}

// slo converts one SLO: into one slo-exporter SLO, or, for a composite
// (objectives with their own indicators), into a component SLO per
// objective followed by the composite.
func (c *converter) slo(o *object, s v1.SLO) ([]config.SLO, bool) {
	before := len(c.errs)
	spec := s.Spec
	out := config.SLO{
		Origin:      fmt.Sprintf("%s: OpenSLO SLO %q (document %d)", c.file, o.name, o.doc),
		Name:        s.Metadata.Name,
		Service:     spec.Service,
		Description: spec.Description,
		Labels:      labels(s.Metadata),
	}
	if out.Description == "" {
		out.Description = s.Metadata.DisplayName
	}
	switch spec.BudgetingMethod {
	case v1.SLOBudgetingMethodOccurrences, v1.SLOBudgetingMethodTimeslices:
	default:
		c.add(o, "spec.budgetingMethod", string(spec.BudgetingMethod), timeslicesMsg)
	}
	if spec.HasCompositeObjectives() {
		slos := c.composite(o, spec, out)
		return slos, len(c.errs) == before
	}
	if spec.BudgetingMethod == v1.SLOBudgetingMethodTimeslices && len(spec.Objectives) == 1 {
		out.BudgetingMethod, out.TimeSlice = timeSlice(spec.Objectives[0])
	}
	c.objective(o, spec, &out)
	c.timeWindow(o, spec, &out)
	if spec.Indicator != nil {
		c.indicator(o, "spec.indicator.spec", spec.Indicator.Spec, objective0(spec), &out)
	} else if spec.IndicatorRef != nil {
		if ref := c.ref(o, "spec.indicatorRef", "SLI", *spec.IndicatorRef); ref != nil {
			c.indicator(o, "spec.indicatorRef", ref.obj.(v1.SLI).Spec, objective0(spec), &out)
		}
	} else {
		c.add(o, "spec.indicator", "", "missing; give an inline indicator or an indicatorRef to an SLI")
	}
	c.alerting(o, spec, &out)
	return []config.SLO{out}, len(c.errs) == before
}

// timeSlice maps an objective of the Timeslices method onto
// budgeting_method and time_slice. The SDK has checked that
// timeSliceTarget and timeSliceWindow are set; without them it returns
// nothing.
func timeSlice(obj v1.SLOObjective) (string, *config.TimeSlice) {
	if obj.TimeSliceTarget == nil || obj.TimeSliceWindow == nil {
		return "", nil
	}
	return slo.Timeslices, &config.TimeSlice{Length: model.Duration(obj.TimeSliceWindow.Duration()), Target: *obj.TimeSliceTarget}
}

// objective maps the single objective's target or targetPercent.
func (c *converter) objective(o *object, spec v1.SLOSpec, out *config.SLO) {
	if len(spec.Objectives) != 1 {
		c.add(o, "spec.objectives", "", fmt.Sprintf("has %d objectives; an slo-exporter SLO has exactly one: write one SLO per objective", len(spec.Objectives)))
		return
	}
	out.RawObjective, _, _ = c.target(o, "spec.objectives[0]", spec.Objectives[0])
}

// target maps an objective's target (a ratio, written as is) or
// targetPercent (written as "99.9%"); it also returns the target as the
// ratio the configuration reads (rounded to 12 significant digits, as the
// loader rounds objectives). field is the objective's path.
func (c *converter) target(o *object, field string, obj v1.SLOObjective) (config.Objective, float64, bool) {
	switch {
	case obj.Target != nil:
		return config.ParseObjective(fmtFloat(*obj.Target)), *obj.Target, true
	case obj.TargetPercent != nil:
		return config.ParseObjective(fmtFloat(*obj.TargetPercent) + "%"), slo.RoundNoise(*obj.TargetPercent / 100), true
	default:
		c.add(o, field+".target", "", "missing; give target (a ratio such as 0.999) or targetPercent (99.9)")
		return config.Objective{}, 0, false
	}
}

// compositeMsg is the rule of a composite's objective, written in the
// composite's Origin comment.
const compositeMsg = "objective = sum(weight x target) / sum(weight)"

// composite converts an SLO whose objectives carry their own indicators.
// Objective i becomes the component SLO <name>-<displayName slug> (or
// <name>-objective-<i>) with the objective's target and indicator and the
// SLO's service, time window and labels. Under Timeslices each component
// budgets time slices (its objective's timeSliceWindow and
// timeSliceTarget); the composite itself budgets occurrences, as the
// configuration requires. The SLO itself becomes a weighted composite of
// the components, weighted by compositeWeight (default 1), whose objective
// is the weighted mean of the component targets,
//
//	objective = sum_i w_i t_i / sum_i w_i
//
// (rounded to 12 significant digits, as the loader rounds objectives), so
// that the composite is on target when every component is exactly on
// target. The SLO's alert policies apply to the composite; the components
// get the default tiers of an SLO without policies. base carries the
// SLO's name, service, description and labels.
func (c *converter) composite(o *object, spec v1.SLOSpec, base config.SLO) []config.SLO {
	c.timeWindow(o, spec, &base)
	if n := len(spec.Objectives); n < 2 {
		c.add(o, "spec.objectives", "", fmt.Sprintf("a composite SLO (objectives with their own indicators) needs at least two objectives, got %d; "+
			"for one, give the indicator at spec level", n))
	}
	var out []config.SLO
	comp := &config.CompositeSLI{Combine: config.CombineWeighted}
	var sumW, sumWT float64
	var terms []string
	complete := true
	local := map[string]int{} // component name -> objective index
	for i, obj := range spec.Objectives {
		f := fmt.Sprintf("spec.objectives[%d]", i)
		s := base
		s.Name = componentName(base.Name, i, obj.DisplayName)
		s.Description = obj.DisplayName // the SLO's would describe the composite
		where := f
		if obj.DisplayName != "" {
			where += fmt.Sprintf(" %q", obj.DisplayName)
		}
		s.Origin = fmt.Sprintf("%s, %s: a component of the composite %q", base.Origin, where, base.Name)
		c.checkName(o, f, obj.DisplayName, s.Name, i, local)
		var t float64
		var ok bool
		s.RawObjective, t, ok = c.target(o, f, obj)
		complete = complete && ok
		if spec.BudgetingMethod == v1.SLOBudgetingMethodTimeslices {
			s.BudgetingMethod, s.TimeSlice = timeSlice(obj)
		}
		ifield := f + ".indicator.spec"
		switch {
		case obj.Indicator != nil:
			c.indicator(o, ifield, obj.Indicator.Spec, obj, &s)
		case obj.IndicatorRef != nil:
			ifield = f + ".indicatorRef"
			if ref := c.ref(o, ifield, "SLI", *obj.IndicatorRef); ref != nil {
				c.indicator(o, ifield, ref.obj.(v1.SLI).Spec, obj, &s)
			}
		default:
			c.add(o, f+".indicator", "", "missing; in a composite SLO every objective needs its own indicator or indicatorRef")
		}
		if len(s.GroupBy) > 0 {
			c.add(o, ifield+".ratioMetric", strings.Join(s.GroupBy, ","),
				"the queries sum by these labels, but a composite's component is ungrouped (the composite combines one SLI per component): "+
					"drop the by clause, or write a standard SLO for a grouped indicator")
		}
		c.alerting(o, v1.SLOSpec{}, &s)
		out = append(out, s)

		w := 1.0
		if obj.CompositeWeight != nil {
			w = *obj.CompositeWeight
		}
		comp.Components = append(comp.Components, config.CompositeComponent{SLO: s.Name, Weight: obj.CompositeWeight})
		sumW += w
		sumWT += w * t
		terms = append(terms, fmtFloat(w)+" x "+fmtFloat(t))
	}
	base.SLI.Composite = comp
	if complete && sumW > 0 {
		mean := slo.RoundNoise(sumWT / sumW)
		base.RawObjective = config.ParseObjective(fmtFloat(mean))
		base.Origin += fmt.Sprintf(": the composite of its objectives, weighted by compositeWeight (default 1);\n%s = (%s) / %s = %s",
			compositeMsg, strings.Join(terms, " + "), fmtFloat(sumW), fmtFloat(mean))
	}
	c.alerting(o, spec, &base)
	return append(out, base)
}

// componentName names objective i's component SLO: the SLO's name and the
// objective's displayName in lower case with every run of characters
// outside [a-z0-9] made one "-", or objective-<i> without a displayName
// (or with one that has no letter or digit).
func componentName(slo string, i int, displayName string) string {
	slug := strings.Trim(notSlugChars.ReplaceAllString(strings.ToLower(displayName), "-"), "-")
	if slug == "" {
		slug = "objective-" + strconv.Itoa(i)
	}
	return slo + "-" + slug
}

var notSlugChars = regexp.MustCompile(`[^a-z0-9]+`)

// checkName reports a component name already taken: by another objective
// of the same SLO (local maps names to objective indices), by an SLO of
// the file, or by a component of an earlier composite.
func (c *converter) checkName(o *object, field, displayName, name string, i int, local map[string]int) {
	if displayName != "" {
		field += ".displayName"
	}
	var by string
	if j, dup := local[name]; dup {
		by = fmt.Sprintf("is also that of spec.objectives[%d]; give the objectives distinct displayNames", j)
	} else if other := c.byKind["SLO"][name]; other != nil {
		by = fmt.Sprintf("is that of the SLO of document %d; rename one of them", other.doc)
	} else if origin, dup := c.components[name]; dup {
		by = fmt.Sprintf("is also that of %s; rename one of them", origin)
	}
	if by != "" {
		c.add(o, field, displayName, fmt.Sprintf("the component SLO name %q %s (SLO names must be unique)", name, by))
		return
	}
	local[name] = i
	c.components[name] = fmt.Sprintf("the component of spec.objectives[%d] of SLO %q (document %d)", i, o.name, o.doc)
}

// calendarUnits maps calendar-aligned durations onto calendar units.
var calendarUnits = map[string]string{"1M": "month", "1w": "week", "1Q": "quarter"}

// timeWindow maps the time window onto period or calendar.
func (c *converter) timeWindow(o *object, spec v1.SLOSpec, out *config.SLO) {
	if len(spec.TimeWindow) == 0 {
		c.add(o, "spec.timeWindow", "", "missing; give one rolling duration (30d) or a calendar duration (1M, 1w, 1Q)")
		return
	}
	tw := spec.TimeWindow[0]
	d := tw.Duration.String()
	if tw.IsRolling {
		switch tw.Duration.GetUnit() {
		case v1.DurationShorthandUnitMonth, v1.DurationShorthandUnitQuarter, v1.DurationShorthandUnitYear:
			c.add(o, "spec.timeWindow[0].duration", d, "a rolling window in months, quarters or years has no fixed length; write days, e.g. 30d")
			return
		}
		out.Period = model.Duration(tw.Duration.Duration())
		return
	}
	unit, ok := calendarUnits[d]
	if !ok {
		c.add(o, "spec.timeWindow[0].duration", d, "a calendar window must be 1M (month), 1w (week) or 1Q (quarter)")
		return
	}
	out.Calendar = unit
	if tw.Calendar != nil && tw.Calendar.TimeZone != "" && tw.Calendar.TimeZone != "UTC" {
		out.TimeZone = tw.Calendar.TimeZone
	}
}

// objective0 returns the first objective (the only one of a standard
// SLO), or the zero objective.
func objective0(spec v1.SLOSpec) v1.SLOObjective {
	if len(spec.Objectives) == 0 {
		return v1.SLOObjective{}
	}
	return spec.Objectives[0]
}

// ratioOps takes op and value off the objectives of an SLO whose inline
// indicator is a ratioMetric, with a warning. The specification says they
// are only needed for a thresholdMetric; the SDK forbids them with a
// ratio, but they do no harm: good/total is compared with target.
func (c *converter) ratioOps(o *object, spec *yaml.Node) {
	isRatio := func(n *yaml.Node) bool {
		return yamlnode.Child(yamlnode.Child(yamlnode.Child(n, "indicator"), "spec"), "ratioMetric") != nil
	}
	objs := yamlnode.Child(spec, "objectives")
	if objs == nil || objs.Kind != yaml.SequenceNode {
		return
	}
	for i, obj := range objs.Content {
		if !isRatio(spec) && !isRatio(obj) {
			continue
		}
		for _, key := range []string{"op", "value"} {
			for j := 0; j+1 < len(obj.Content); j += 2 {
				if obj.Content[j].Value != key {
					continue
				}
				c.warn(o, fmt.Sprintf("spec.objectives[%d].%s", i, key), obj.Content[j+1].Value,
					"ignored: op and value compare the values of a thresholdMetric; with a ratioMetric the SLI is good/total and target is its objective")
				obj.Content = append(obj.Content[:j], obj.Content[j+2:]...)
				break
			}
		}
	}
}

// thresholdOpsMissing reports, in slo-exporter's words rather than the
// SDK's, an objective of an inline thresholdMetric SLI without op or
// value, and returns whether it did.
func (c *converter) thresholdOpsMissing(o *object, spec *yaml.Node) bool {
	isThreshold := func(n *yaml.Node) bool {
		return yamlnode.Child(yamlnode.Child(yamlnode.Child(n, "indicator"), "spec"), "thresholdMetric") != nil
	}
	objs := yamlnode.Child(spec, "objectives")
	if objs == nil || objs.Kind != yaml.SequenceNode {
		return false
	}
	found := false
	for i, obj := range objs.Content {
		if !isThreshold(spec) && !isThreshold(obj) {
			continue
		}
		var missing []string
		for _, key := range []string{"op", "value"} {
			if yamlnode.Child(obj, key) == nil {
				missing = append(missing, key)
			}
		}
		if len(missing) > 0 {
			c.add(o, fmt.Sprintf("spec.objectives[%d]", i), "", fmt.Sprintf("%s missing: a thresholdMetric SLI compares each sample with the objective's value, "+
				"good when `sample op value` holds; write e.g. op: lte and value: 300 (op one of lt, lte, gt, gte)", strings.Join(missing, " and ")))
			found = true
		}
	}
	return found
}

// thresholdOps maps OpenSLO's operators onto the threshold kind's.
var thresholdOps = map[v1.Operator]string{v1.OperatorLT: "<", v1.OperatorLTE: "<=", v1.OperatorGT: ">", v1.OperatorGTE: ">="}

// threshold maps a thresholdMetric onto the threshold kind: every raw
// sample of a gauge is one event, good when `sample op value` holds (the
// objective's op and value). Only a plain gauge selector maps: a query
// that computes its values (a rate, a quantile, an aggregation) has no raw
// samples for slo-exporter to count.
func (c *converter) threshold(o *object, field string, tm *v1.SLIMetricSpec, obj v1.SLOObjective, out *config.SLO) {
	f := field + ".thresholdMetric.metricSource"
	q, _ := tm.MetricSource.Spec["query"].(string)
	if tm.MetricSource.MetricSourceRef == "" && !strings.EqualFold(tm.MetricSource.Type, "Prometheus") {
		c.add(o, f+".type", tm.MetricSource.Type, "slo-exporter reads Prometheus (or a compatible API) only")
		return
	}
	op, ok := thresholdOps[obj.Operator]
	if !ok || obj.Value == nil {
		c.add(o, field+".thresholdMetric", "", "a thresholdMetric needs the objective's op (lt, lte, gt, gte) and value: a sample is good when `sample op value` holds")
		return
	}
	r, err := promql.Reduce(q)
	switch {
	case strings.TrimSpace(q) == "":
		c.add(o, f+".spec.query", "", "missing; give the selector of a gauge")
	case err != nil || r.Rate || r.GroupBy != nil || strings.HasPrefix(strings.TrimSpace(q), "sum"):
		c.add(o, f+".spec.query", q, "cannot be reduced to counters or to a gauge's raw samples: slo-exporter counts events itself, "+
			"so a threshold SLI needs the plain selector of a gauge (e.g. feature_freshness_seconds{job=\"x\"}); "+
			"for a latency threshold on a histogram, write a ratioMetric instead: good = the bucket counter with le=\"<threshold>\", total = its _count")
	default:
		v := *obj.Value
		out.SLI.Threshold = &config.ThresholdSLI{Gauge: r.Selector, Op: op, Value: &v}
	}
}

// indicator maps an SLI's ratio metric onto sli.ratio, and a threshold
// metric onto sli.threshold (see threshold).
func (c *converter) indicator(o *object, field string, sli v1.SLISpec, obj v1.SLOObjective, out *config.SLO) {
	if sli.ThresholdMetric != nil {
		c.threshold(o, field, sli.ThresholdMetric, obj, out)
		return
	}
	if obj.Operator != "" || obj.Value != nil {
		c.warn(o, field, "", "the objective's op and value are ignored: they compare the values of a thresholdMetric; with a ratioMetric the SLI is good/total and target is its objective")
	}
	rm := sli.RatioMetric
	if rm == nil {
		c.add(o, field+".ratioMetric", "", "missing; slo-exporter needs a ratioMetric with good or bad, and total")
		return
	}
	if rm.Raw != nil {
		c.add(o, field+".ratioMetric.raw", "", "a raw (precomputed) ratio cannot be converted: slo-exporter counts good and valid events from counters; give good or bad, and total")
		return
	}
	var groups [][]string
	sel := func(name string, m *v1.SLIMetricSpec) string {
		if m == nil {
			return ""
		}
		f := field + ".ratioMetric." + name + ".metricSource"
		r, ok := c.metricSource(o, f, m.MetricSource, rm.Counter)
		if !ok {
			return ""
		}
		groups = append(groups, r.GroupBy)
		return r.Selector
	}
	out.SLI.Ratio = &config.RatioSLI{Good: sel("good", rm.Good), Bad: sel("bad", rm.Bad), Valid: sel("total", rm.Total)}
	if rm.Total == nil {
		c.add(o, field+".ratioMetric.total", "", "missing; slo-exporter needs total (valid events) and good or bad")
	}
	for _, g := range groups[min(1, len(groups)):] {
		if !slices.Equal(g, groups[0]) {
			c.add(o, field+".ratioMetric", "", fmt.Sprintf("the queries sum by different labels (%v and %v); they must group alike to map onto group_by", groups[0], g))
			return
		}
	}
	if len(groups) > 0 {
		out.GroupBy = groups[0]
	}
}

// metricSource resolves a metric source and reduces its query.
func (c *converter) metricSource(o *object, field string, ms v1.SLIMetricSource, counter bool) (promql.Reduced, bool) {
	typ := ms.Type
	if ms.MetricSourceRef != "" {
		ds := c.ref(o, field+".metricSourceRef", "DataSource", ms.MetricSourceRef)
		if ds == nil {
			return promql.Reduced{}, false
		}
		spec := ds.obj.(v1.DataSource).Spec
		if typ == "" {
			typ = spec.Type
		}
		if !strings.EqualFold(spec.Type, "Prometheus") {
			c.add(o, field+".metricSourceRef", ms.MetricSourceRef, fmt.Sprintf("DataSource type %q: slo-exporter reads Prometheus (or a compatible API) only", spec.Type))
			return promql.Reduced{}, false
		}
		if u := connectionURL(spec.ConnectionDetails); u != "" {
			if _, seen := c.urls[u]; !seen {
				c.urls[u] = ds.name
			}
		}
	}
	if !strings.EqualFold(typ, "Prometheus") {
		c.add(o, field+".type", typ, "slo-exporter reads Prometheus (or a compatible API) only")
		return promql.Reduced{}, false
	}
	q, ok := ms.Spec["query"].(string)
	if !ok || strings.TrimSpace(q) == "" {
		c.add(o, field+".spec.query", "", "missing; give a PromQL query of a counter")
		return promql.Reduced{}, false
	}
	r, err := promql.Reduce(q)
	if err != nil {
		c.add(o, field+".spec.query", q, err.Error())
		return promql.Reduced{}, false
	}
	if !r.Rate && !counter {
		c.add(o, field+".spec.query", q, "a selector without rate() or increase() is read as a counter, but ratioMetric.counter is false; slo-exporter counts events from counters only (set counter: true if it is one)")
		return promql.Reduced{}, false
	}
	return r, true
}

// connectionURL finds the url key of a DataSource's connectionDetails,
// written as a mapping or as a list of one-key mappings.
func connectionURL(raw []byte) string {
	var n yaml.Node
	if len(raw) == 0 || yaml.Unmarshal(raw, &n) != nil || len(n.Content) == 0 {
		return ""
	}
	root := n.Content[0]
	items := []*yaml.Node{root}
	if root.Kind == yaml.SequenceNode {
		items = root.Content
	}
	for _, it := range items {
		if u := yamlnode.Scalar(it, "url"); u != "" {
			return u
		}
	}
	return ""
}

// alerting maps the SLO's alert policies onto alert tiers.
func (c *converter) alerting(o *object, spec v1.SLOSpec, out *config.SLO) {
	period := time.Duration(out.Period)
	if out.Calendar != "" {
		period = calendar.Unit(out.Calendar).MaxLength()
	}
	if len(spec.AlertPolicies) == 0 {
		for _, d := range config.DefaultTiers() {
			if period > 0 && time.Duration(d.LongWindow) > period {
				out.Alerting.Tiers = append(out.Alerting.Tiers, config.AlertTier{Name: d.Name})
			}
		}
		return
	}
	var tiers []config.AlertTier
	named := map[string]bool{}
	for i, ap := range spec.AlertPolicies {
		f := fmt.Sprintf("spec.alertPolicies[%d]", i)
		var ps v1.AlertPolicySpec
		switch {
		case ap.SLOAlertPolicyInline != nil:
			ps = ap.SLOAlertPolicyInline.Spec
		case ap.SLOAlertPolicyRef != nil:
			ref := c.ref(o, f+".alertPolicyRef", "AlertPolicy", ap.AlertPolicyRef)
			if ref == nil {
				continue
			}
			ps = ref.obj.(v1.AlertPolicy).Spec
		default:
			continue
		}
		for j, cond := range ps.Conditions {
			cf := fmt.Sprintf("%s.conditions[%d]", f, j)
			var name string
			var cs v1.AlertConditionSpec
			switch {
			case cond.AlertPolicyConditionInline != nil:
				name, cs = cond.AlertPolicyConditionInline.Metadata.Name, cond.AlertPolicyConditionInline.Spec
			case cond.AlertPolicyConditionRef != nil:
				ref := c.ref(o, cf+".conditionRef", "AlertCondition", cond.ConditionRef)
				if ref == nil {
					continue
				}
				name, cs = ref.name, ref.obj.(v1.AlertCondition).Spec
			default:
				continue
			}
			if t, ok := c.tier(o, cf, name, cs, period); ok {
				tiers = append(tiers, t)
				named[name] = true
			}
		}
	}
	for _, d := range config.DefaultTiers() {
		if !named[d.Name] {
			tiers = append(tiers, config.AlertTier{Name: d.Name})
		}
	}
	out.Alerting.Tiers = tiers
}

// tier maps one burn-rate condition onto an alert tier:
// long_window = lookbackWindow, short_window = long_window / 12,
// budget_fraction = threshold x long_window / period, for = alertAfter.
func (c *converter) tier(o *object, field, name string, cs v1.AlertConditionSpec, period time.Duration) (config.AlertTier, bool) {
	cond := cs.Condition
	if cond.Kind != v1.AlertConditionKindBurnRate {
		c.add(o, field+".condition.kind", string(cond.Kind), "only burnrate conditions map onto alert tiers")
		return config.AlertTier{}, false
	}
	if cond.Operator != v1.OperatorGT && cond.Operator != v1.OperatorGTE {
		c.add(o, field+".condition.op", string(cond.Operator), "a burn-rate tier fires when the burn rate is above its threshold; only gt and gte map onto it")
		return config.AlertTier{}, false
	}
	if cond.Threshold == nil || !(*cond.Threshold > 0) {
		c.add(o, field+".condition.threshold", "", "must be a positive burn rate")
		return config.AlertTier{}, false
	}
	lw := cond.LookbackWindow
	switch lw.GetUnit() {
	case v1.DurationShorthandUnitMonth, v1.DurationShorthandUnitQuarter, v1.DurationShorthandUnitYear:
		c.add(o, field+".condition.lookbackWindow", lw.String(), "must be in minutes, hours, days or weeks")
		return config.AlertTier{}, false
	}
	long := lw.Duration()
	if period <= 0 || long <= 0 {
		return config.AlertTier{}, false // the time window or lookback was reported already
	}
	short := max(long/12/time.Minute*time.Minute, time.Minute)
	frac := slo.RoundNoise(*cond.Threshold * float64(long) / float64(period))
	if frac > 1 {
		c.add(o, field+".condition.threshold", strconv.FormatFloat(*cond.Threshold, 'g', -1, 64), fmt.Sprintf(
			"burning at this rate for %s spends %s times the whole budget of the %s period (budget_fraction = threshold x lookbackWindow / period must be at most 1)",
			lw.String(), strconv.FormatFloat(frac, 'g', -1, 64), fmtDuration(period)))
		return config.AlertTier{}, false
	}
	t := config.AlertTier{Name: name, BudgetFraction: frac, LongWindow: model.Duration(long), ShortWindow: model.Duration(short),
		Severity: cs.Severity, Enabled: true}
	if cond.AlertAfter != nil {
		t.For = model.Duration(cond.AlertAfter.Duration())
	}
	return t, true
}

// fmtDuration prints a duration as the configuration documentation
// writes it: 28d, 1h, 2m30s.
func fmtDuration(d time.Duration) string { return slo.FormatWindow(max(d, 0)) }

// fmtFloat prints a number in the shortest form that reads back the same.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

var notLabelChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// labelName turns an OpenSLO label or annotation key into a Prometheus
// label name: characters outside [a-zA-Z0-9_] become _ and a leading digit
// gets a _ prefix (openslo.com/team -> openslo_com_team).
func labelName(k string) string {
	k = notLabelChar.ReplaceAllString(k, "_")
	if k != "" && k[0] >= '0' && k[0] <= '9' {
		k = "_" + k
	}
	return k
}

// labels maps metadata labels (values joined with ",") and annotations
// onto SLO labels; a label wins over an annotation of the same name.
func labels(md v1.Metadata) map[string]string {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(md.Annotations)) {
		out[labelName(k)] = md.Annotations[k]
	}
	for _, k := range slices.Sorted(maps.Keys(md.Labels)) {
		out[labelName(k)] = strings.Join(md.Labels[k], ",")
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
