// Package sloth reads Sloth SLO specs into slo-exporter's configuration
// model: the prometheus/v1 spec files of Sloth's CLI and the Kubernetes
// form (apiVersion sloth.slok.dev/v1, kind PrometheusServiceLevel), one or
// more YAML documents per file.
//
// SLIs reduce to counter selectors, since the daemon reads raw counter
// samples: error_query and total_query of the shape
// sum(rate(SELECTOR[{{.window}}])) (optionally sum by (...), increase
// instead of rate, or no sum), error_query also as total - good (latency
// from histogram buckets), and a raw error_ratio_query written as a ratio
// of such counters (A / B, or 1 - good / total). Sloth's page and ticket
// alerts become the four default tiers (page: fast and medium, ticket:
// slow and long, the SRE Workbook windows Sloth generates for 30d), each
// keeping the alert's name, labels and annotations, so Alertmanager routes
// keep matching. What has no equivalent (SLI plugins, SLO plugins) is an
// error or a warning that says why and what to write instead.
// docs/inputs.md lists the mapping.
package sloth

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

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config"
	"github.com/slo-exporter/slo-exporter/internal/readers/promql"
	"github.com/slo-exporter/slo-exporter/internal/readers/yamlnode"
)

// Version is the version of Sloth's spec files; APIVersion and Kind name
// its Kubernetes object.
const (
	Version    = "prometheus/v1"
	APIVersion = "sloth.slok.dev/v1"
	Kind       = "PrometheusServiceLevel"
)

// Format names the format in problems and origins.
const Format = "Sloth"

// Period is Sloth's default SLO period (its --default-slo-period), which
// a spec cannot change.
const Period = 30 * 24 * time.Hour

// spec is a prometheus/v1 spec, or a PrometheusServiceLevel's spec with
// its keys renamed to the spec file's (see crdKeys).
type spec struct {
	Version    string            `yaml:"version"`
	Service    string            `yaml:"service"`
	Labels     map[string]string `yaml:"labels"`
	SLOPlugins *plugins          `yaml:"slo_plugins"`
	SLOs       []slo             `yaml:"slos"`
}

type plugins struct {
	OverridePrevious bool `yaml:"overridePrevious"`
	Chain            []struct {
		ID string `yaml:"id"`
	} `yaml:"chain"`
}

type slo struct {
	Name        string            `yaml:"name"`
	Objective   *float64          `yaml:"objective"`
	Description string            `yaml:"description"`
	Labels      map[string]string `yaml:"labels"`
	Plugins     *plugins          `yaml:"plugins"`
	SLI         struct {
		Raw *struct {
			ErrorRatioQuery string `yaml:"error_ratio_query"`
		} `yaml:"raw"`
		Plugin *struct {
			ID string `yaml:"id"`
		} `yaml:"plugin"`
		Events *struct {
			ErrorQuery string `yaml:"error_query"`
			TotalQuery string `yaml:"total_query"`
		} `yaml:"events"`
	} `yaml:"sli"`
	Alerting struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
		PageAlert   alert             `yaml:"page_alert"`
		TicketAlert alert             `yaml:"ticket_alert"`
	} `yaml:"alerting"`
}

type alert struct {
	Disable     bool              `yaml:"disable"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// keys lists the fields of the spec, for reporting unknown ones. A nil
// value takes any content (labels, annotations, plugin options).
type keys map[string]keys

var alertKeys = keys{"disable": nil, "labels": nil, "annotations": nil}

var sloKeys = keys{
	"name": nil, "objective": nil, "description": nil, "labels": nil, "plugins": nil,
	"sli": keys{"raw": keys{"error_ratio_query": nil}, "plugin": nil, "events": keys{"error_query": nil, "total_query": nil}},
	"alerting": keys{"name": nil, "labels": nil, "annotations": nil,
		"page_alert": alertKeys, "ticket_alert": alertKeys},
}

var rootKeys = keys{"version": nil, "service": nil, "labels": nil, "slo_plugins": nil, "slos": nil}

// crdKeys are the keys the Kubernetes form spells in camelCase.
var crdKeys = map[string]string{
	"error_ratio_query": "errorRatioQuery", "error_query": "errorQuery", "total_query": "totalQuery",
	"page_alert": "pageAlert", "ticket_alert": "ticketAlert", "slo_plugins": "sloPlugins",
}

// reader holds the state of one Read.
type reader struct {
	file     string
	doc      int  // 1-based document of a multi-document file, 0 for one
	crd      bool // the document is a PrometheusServiceLevel
	object   string
	errs     []error
	warnings []error
}

// field spells a spec path as the document does: camelCase under spec.
// for the Kubernetes form.
func (r *reader) field(path string) string {
	if !r.crd {
		return path
	}
	parts := strings.Split(path, ".")
	for i, p := range parts {
		if c, ok := crdKeys[p]; ok {
			parts[i] = c
		}
	}
	return "spec." + strings.Join(parts, ".")
}

func (r *reader) problem(i int, name, field, value, msg string) *config.FieldError {
	e := &config.FieldError{Source: r.file, Format: Format, Doc: r.doc, Index: i, SLO: name, Field: r.field(field), Value: value, Msg: msg}
	if r.crd {
		e.Format, e.Kind, e.Object = Format+" "+APIVersion, Kind, r.object
		if i >= 0 {
			// The Kubernetes form's SLOs sit under spec.slos.
			e.Index = -1
			e.Field = strings.TrimSuffix(fmt.Sprintf("spec.slos[%d].%s", i, strings.TrimPrefix(e.Field, "spec.")), ".")
		}
	} else {
		e.Format = Format + " " + Version
	}
	return e
}

func (r *reader) add(i int, name, field, value, msg string) {
	r.errs = append(r.errs, r.problem(i, name, field, value, msg))
}

func (r *reader) warn(i int, name, field, value, msg string) {
	r.warnings = append(r.warnings, r.problem(i, name, field, value, msg))
}

// unknown reports the keys of n that ks does not list.
func (r *reader) unknown(n *yaml.Node, ks keys, i int, name, path string) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k := n.Content[j].Value
		sub, ok := ks[k]
		p := k
		if path != "" {
			p = path + "." + k
		}
		if !ok {
			msg := "unknown field of a Sloth spec"
			for snake, camel := range crdKeys {
				if k == camel && !r.crd {
					msg += fmt.Sprintf("; version %s spells it %s (%s is the Kubernetes form's spelling)", Version, snake, camel)
				}
			}
			r.add(i, name, p, "", msg)
			continue
		}
		if sub != nil {
			r.unknown(n.Content[j+1], sub, i, name, p)
		}
	}
}

// snake renames the Kubernetes form's camelCase keys in place.
func snake(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for j := 0; j+1 < len(n.Content); j += 2 {
			for s, c := range crdKeys {
				if n.Content[j].Value == c {
					n.Content[j].Value = s
				}
			}
			snake(n.Content[j+1])
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			snake(c)
		}
	}
}

// Read reads one Sloth file (one or more YAML documents, each a
// prometheus/v1 spec or a PrometheusServiceLevel) into SLOs of the
// configuration model. The source holds every SLO that read; the error,
// when not nil, joins every problem (each a *config.FieldError); warnings
// say what was read but has no effect in slo-exporter.
func Read(file string, data []byte) (src config.Source, warnings []error, err error) {
	r := &reader{file: file}
	src = config.Source{Name: file, Format: Format}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			r.add(-1, "", "", "", "not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
			break
		}
		if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		docs = append(docs, root.Content[0])
	}
	for i, n := range docs {
		if len(docs) > 1 {
			r.doc = i + 1
		}
		src.SLOs = append(src.SLOs, r.document(n)...)
	}
	return src, r.warnings, errors.Join(r.errs...)
}

// document reads one document.
func (r *reader) document(n *yaml.Node) []*config.SLO {
	r.crd, r.object = false, ""
	if yamlnode.Scalar(n, "apiVersion") != "" || yamlnode.Scalar(n, "kind") != "" {
		if v, k := yamlnode.Scalar(n, "apiVersion"), yamlnode.Scalar(n, "kind"); v != APIVersion || k != Kind {
			r.add(-1, "", "", "", fmt.Sprintf("apiVersion %q kind %q is not a Sloth SLO spec: Sloth's SLOs are version %s files or apiVersion %s kind %s objects",
				v, k, Version, APIVersion, Kind))
			return nil
		}
		r.crd = true
		r.object = yamlnode.Scalar(yamlnode.Child(n, "metadata"), "name")
		n = yamlnode.Child(n, "spec")
		if n == nil {
			r.add(-1, "", "", "", "missing spec")
			return nil
		}
		snake(n)
	}
	before := len(r.errs)
	keys := rootKeys
	if r.crd {
		keys = maps.Clone(rootKeys)
		delete(keys, "version")
	}
	r.unknown(n, keys, -1, "", "")
	var s spec
	if err := n.Decode(&s); err != nil {
		r.add(-1, "", "", "", "not a Sloth spec: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if !r.crd && s.Version != Version {
		r.add(-1, "", "version", s.Version, "only Sloth "+Version+" specs are read")
		return nil
	}
	if s.Service == "" {
		r.add(-1, "", "service", "", "missing")
	}
	if s.SLOPlugins != nil {
		r.warn(-1, "", "slo_plugins", pluginIDs(s.SLOPlugins), pluginMsg)
	}
	var sloNodes []*yaml.Node
	if l := yamlnode.Child(n, "slos"); l != nil && l.Kind == yaml.SequenceNode {
		sloNodes = l.Content
	}
	if len(s.SLOs) == 0 {
		r.add(-1, "", "slos", "", "no SLOs defined")
	}
	if len(r.errs) > before {
		return nil
	}
	var out []*config.SLO
	for i, sl := range s.SLOs {
		if i < len(sloNodes) {
			r.unknown(sloNodes[i], sloKeys, i, sl.Name, "")
		}
		if o, ok := r.slo(i, s, sl); ok {
			out = append(out, o)
		}
	}
	return out
}

// pluginMsg says why Sloth's SLO plugins are left out.
const pluginMsg = "ignored: Sloth's SLO plugins rewrite the rules Sloth generates, and slo-exporter generates none of those rules; " +
	"it evaluates the SLI itself and its alerts come from `slo-exporter rules`. Remove the plugins, or do what they did in the configuration (labels, alerting.tiers)"

// pluginIDs lists a plugin chain's ids for messages.
func pluginIDs(p *plugins) string {
	var ids []string
	for _, c := range p.Chain {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ", ")
}

// window is what {{.window}} is replaced with before parsing: any valid
// duration does, since the range is dropped with the rate around it.
var window = regexp.MustCompile(`\{\{\s*\.window\s*\}\}`)

// slo reads one SLO.
func (r *reader) slo(i int, s spec, sl slo) (*config.SLO, bool) {
	before := len(r.errs)
	bad := func(field, value, msg string) { r.add(i, sl.Name, field, value, msg) }
	if sl.Name == "" {
		bad("name", "", "missing")
	}
	where := fmt.Sprintf("slos[%d]", i)
	if r.crd {
		where = fmt.Sprintf("%s %q spec.slos[%d]", Kind, r.object, i)
	}
	if r.doc > 0 {
		where = fmt.Sprintf("document %d, %s", r.doc, where)
	}
	out := &config.SLO{
		Origin:      fmt.Sprintf("%s: Sloth SLO %q of service %q (%s)", r.file, sl.Name, s.Service, where),
		Name:        s.Service + "-" + sl.Name,
		Service:     s.Service,
		Description: sl.Description,
		Period:      model.Duration(Period),
	}
	labels := map[string]string{}
	maps.Copy(labels, s.Labels)
	maps.Copy(labels, sl.Labels)
	if len(labels) > 0 {
		out.Labels = labels
	}
	for _, k := range []string{"runbook_url", "runbook"} {
		if v := sl.Alerting.Annotations[k]; v != "" && out.Alerting.RunbookURL == "" {
			out.Alerting.RunbookURL = v
		}
	}
	if sl.Objective != nil {
		out.RawObjective = config.ParseObjective(strconv.FormatFloat(*sl.Objective, 'g', -1, 64) + "%")
	}
	if sl.Plugins != nil {
		r.warn(i, sl.Name, "plugins", pluginIDs(sl.Plugins), pluginMsg)
	}
	switch {
	case sl.SLI.Raw != nil:
		r.raw(sl.SLI.Raw.ErrorRatioQuery, out, bad)
	case sl.SLI.Plugin != nil:
		bad("sli.plugin", sl.SLI.Plugin.ID, "an SLI plugin builds its queries inside Sloth, where slo-exporter cannot see them; "+
			"write sli.events with the error_query and total_query the plugin generates (sloth generate prints them in its recording rules)")
	case sl.SLI.Events == nil:
		bad("sli.events", "", "missing; give error_query and total_query")
	default:
		events(sl.SLI.Events.ErrorQuery, sl.SLI.Events.TotalQuery, out, bad)
	}
	out.Alerting.Tiers = tiers(s.Service, sl)
	return out, len(r.errs) == before
}

// raw reduces error_ratio_query, which must be a ratio of counters.
func (r *reader) raw(q string, out *config.SLO, bad func(field, value, msg string)) {
	const f = "sli.raw.error_ratio_query"
	if strings.TrimSpace(q) == "" {
		bad(f, "", "missing")
		return
	}
	ratio, err := promql.ReduceRatio(window.ReplaceAllString(q, "5m"))
	if err != nil {
		bad(f, oneLine(q), err.Error()+": slo-exporter counts good and valid events from counters, and a precomputed ratio has no events to count; "+
			"write sli.events with error_query and total_query, each sum(rate(counter[{{.window}}]))")
		return
	}
	out.GroupBy = ratio.Den.GroupBy
	if ratio.Complement {
		// 1 - good/total is the error ratio.
		out.SLI.Ratio = &config.RatioSLI{Good: ratio.Num.Selector, Valid: ratio.Den.Selector}
		return
	}
	out.SLI.Ratio = &config.RatioSLI{Bad: ratio.Num.Selector, Valid: ratio.Den.Selector}
}

// oneLine folds a multi-line query for messages.
func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

// events reduces error_query and total_query to sli.ratio.
func events(errQ, totalQ string, out *config.SLO, bad func(field, value, msg string)) {
	const ef, tf = "sli.events.error_query", "sli.events.total_query"
	total, ok := reduce(totalQ, tf, bad)
	if !ok {
		return
	}
	if strings.TrimSpace(errQ) == "" {
		bad(ef, "", "missing")
		return
	}
	q := window.ReplaceAllString(errQ, "5m")
	if diff, ok := promql.Difference(q); ok {
		// total - good, as written for latency SLOs.
		left, err1 := promql.ReduceExpr(diff.Left)
		right, err2 := promql.ReduceExpr(diff.Right)
		switch {
		case err1 != nil || err2 != nil || !left.Rate || !right.Rate:
			bad(ef, oneLine(errQ), "a difference is only understood as total - good, each side a rate() or increase() of a counter selector")
		case left.Selector != total.Selector || !slices.Equal(left.GroupBy, total.GroupBy):
			bad(ef, oneLine(errQ), fmt.Sprintf("a difference is only understood as total - good, and its left side %s is not total_query's %s", left.Selector, total.Selector))
		case !slices.Equal(right.GroupBy, total.GroupBy):
			bad(ef, oneLine(errQ), "both sides must sum by the same labels as total_query")
		default:
			// A histogram's bucket and _count: the latency kind, which
			// also checks the bucket boundary against the server.
			if sel, le, ok := promql.Histogram(right.Selector, total.Selector); ok {
				out.SLI.Latency = &config.LatencySLI{Histogram: sel, Threshold: le}
			} else {
				out.SLI.Ratio = &config.RatioSLI{Good: right.Selector, Valid: total.Selector}
			}
			out.GroupBy = total.GroupBy
		}
		return
	}
	e, ok := reduce(errQ, ef, bad)
	if !ok {
		return
	}
	if !slices.Equal(e.GroupBy, total.GroupBy) {
		bad(ef, oneLine(errQ), fmt.Sprintf("sums by %v but total_query by %v; they must group alike to map onto group_by", e.GroupBy, total.GroupBy))
		return
	}
	out.SLI.Ratio = &config.RatioSLI{Bad: e.Selector, Valid: total.Selector}
	out.GroupBy = total.GroupBy
}

// reduce reduces one Sloth query, which must count events over the
// window.
func reduce(q, field string, bad func(field, value, msg string)) (promql.Reduced, bool) {
	if strings.TrimSpace(q) == "" {
		bad(field, "", "missing")
		return promql.Reduced{}, false
	}
	r, err := promql.Reduce(window.ReplaceAllString(q, "5m"))
	if err != nil {
		bad(field, oneLine(q), err.Error())
		return r, false
	}
	if !r.Rate {
		bad(field, oneLine(q), "must count events over the window with rate() or increase() of a counter, e.g. sum(rate(http_requests_total[{{.window}}]))")
		return r, false
	}
	return r, true
}

// Tiers are the tiers Sloth's page and ticket alerts become: the SRE
// Workbook windows Sloth generates for its 30d period, which are
// slo-exporter's default tiers of the same windows (page: fast 14.4 over
// 1h/5m and medium 6 over 6h/30m; ticket: slow 3 over 1d/2h and long 1
// over 3d/6h).
var Tiers = map[string][]string{"page": {"fast", "medium"}, "ticket": {"slow", "long"}}

// tiers maps the page and ticket alerts onto the default tiers, with
// their windows and budget fractions left to the defaults. Each tier keeps
// the Sloth alert's name (alerting.name), its labels (alerting.labels and
// the alert's own, plus sloth_severity page or ticket, as Sloth sets it;
// a severity label becomes the tier's severity) and its annotations
// (alerting.annotations and the alert's own). Sloth's alerts also carry
// the sloth_id, sloth_service and sloth_slo labels of the series they
// fire on; the tiers set them too, so routes that match on them keep
// matching.
func tiers(service string, sl slo) []config.AlertTier {
	var out []config.AlertTier
	for _, kind := range []string{"page", "ticket"} {
		al := sl.Alerting.PageAlert
		if kind == "ticket" {
			al = sl.Alerting.TicketAlert
		}
		labels := map[string]string{}
		maps.Copy(labels, sl.Alerting.Labels)
		maps.Copy(labels, al.Labels)
		labels["sloth_severity"] = kind
		labels["sloth_id"], labels["sloth_service"], labels["sloth_slo"] = service+"-"+sl.Name, service, sl.Name
		severity := kind
		if s := labels["severity"]; s != "" {
			severity = s
		}
		delete(labels, "severity")
		annotations := map[string]string{}
		maps.Copy(annotations, sl.Alerting.Annotations)
		maps.Copy(annotations, al.Annotations)
		if len(annotations) == 0 {
			annotations = nil
		}
		for _, name := range Tiers[kind] {
			if al.Disable {
				out = append(out, config.AlertTier{Name: name})
				continue
			}
			out = append(out, config.AlertTier{Name: name, Enabled: true, Severity: severity, AlertName: sl.Alerting.Name,
				Labels: maps.Clone(labels), Annotations: maps.Clone(annotations)})
		}
	}
	return out
}
