// Package sloth converts Sloth prometheus/v1 SLO specs into slo-exporter's
// configuration. Each SLO's error_query and total_query must have the
// common shape sum(rate(SELECTOR[{{.window}}])) (optionally sum by (...),
// increase instead of rate, or no sum), which reduces to the counter
// selectors the daemon reads; error_query may also be total - good, the
// shape Sloth users write for latency SLOs from histogram buckets. Other
// shapes, raw ratio SLIs and plugins are rejected with the reason.
// docs/inputs.md lists the mapping and its limits.
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

	"github.com/VictoriaMetrics/metricsql"
	"go.yaml.in/yaml/v3"

	"github.com/slo-exporter/slo-exporter/config/openslo"
)

// Version is the Sloth spec version converted.
const Version = "prometheus/v1"

// DefaultPeriod is Sloth's SLO period, which its spec cannot change.
const DefaultPeriod = "30d"

// Error is one problem of a Sloth file, located like the configuration's
// own problems: file, SLO (index in slos and name), field and value.
type Error struct {
	// File is the file name.
	File string
	// Index is the SLO's index in slos, or -1 outside slos.
	Index int
	// SLO is the SLO's name in the Sloth spec, when it has one.
	SLO string
	// Field is the dotted path, relative to the SLO inside slos.
	Field string
	// Value is the offending value, or "".
	Value string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as
//
//	file: slos[1] "name": field "value": message
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File + ": ")
	if e.Index >= 0 {
		fmt.Fprintf(&b, "slos[%d]", e.Index)
		if e.SLO != "" {
			fmt.Fprintf(&b, " %q", e.SLO)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			fmt.Fprintf(&b, " %q", e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// spec is the root of a Sloth prometheus/v1 file.
type spec struct {
	Version string            `yaml:"version"`
	Service string            `yaml:"service"`
	Labels  map[string]string `yaml:"labels"`
	SLOs    []slo             `yaml:"slos"`
}

type slo struct {
	Name        string            `yaml:"name"`
	Objective   *float64          `yaml:"objective"`
	Description string            `yaml:"description"`
	Labels      map[string]string `yaml:"labels"`
	SLI         struct {
		Raw    *struct{} `yaml:"raw"`
		Plugin *struct{} `yaml:"plugin"`
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
	"name": nil, "objective": nil, "description": nil, "labels": nil,
	"sli": keys{"raw": nil, "plugin": nil, "events": keys{"error_query": nil, "total_query": nil}},
	"alerting": keys{"name": nil, "labels": nil, "annotations": nil,
		"page_alert": alertKeys, "ticket_alert": alertKeys},
}

var rootKeys = keys{"version": nil, "service": nil, "labels": nil, "slos": nil}

// converter holds the state of one Convert.
type converter struct {
	file string
	errs openslo.Errors
}

func (c *converter) add(i int, name, field, value, msg string) {
	c.errs = append(c.errs, &Error{File: c.file, Index: i, SLO: name, Field: field, Value: value, Msg: msg})
}

// unknown reports the keys of n that ks does not list.
func (c *converter) unknown(n *yaml.Node, ks keys, i int, name, path string) {
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
			c.add(i, name, p, "", "unknown field of a Sloth "+Version+" spec")
			continue
		}
		if sub != nil {
			c.unknown(n.Content[j+1], sub, i, name, p)
		}
	}
}

// IsSpec reports whether a YAML document is a Sloth prometheus/v1 spec:
// a mapping whose version is prometheus/v1.
func IsSpec(data []byte) bool {
	var probe struct {
		Version any `yaml:"version"`
	}
	return yaml.Unmarshal(data, &probe) == nil && probe.Version == Version
}

// Convert converts one Sloth file (one or more YAML documents, each a
// prometheus/v1 spec) into a configuration Document. The document holds
// every SLO that converted; the error, when not nil, is an openslo.Errors
// value listing every problem (each an *Error naming the file).
func Convert(file string, data []byte) (*openslo.Document, error) {
	c := &converter{file: file}
	doc := &openslo.Document{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(-1, "", "", "", "not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
			break
		}
		if len(root.Content) == 0 || root.Content[0].Tag == "!!null" {
			continue // empty, or comments only
		}
		c.spec(root.Content[0], doc)
	}
	if len(c.errs) > 0 {
		return doc, c.errs
	}
	return doc, nil
}

// spec converts one prometheus/v1 spec.
func (c *converter) spec(n *yaml.Node, doc *openslo.Document) {
	before := len(c.errs)
	c.unknown(n, rootKeys, -1, "", "")
	var s spec
	if err := n.Decode(&s); err != nil {
		c.add(-1, "", "", "", "not a Sloth "+Version+" spec: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return
	}
	if s.Version != Version {
		c.add(-1, "", "version", s.Version, "only Sloth "+Version+" specs are supported")
		return
	}
	if s.Service == "" {
		c.add(-1, "", "service", "", "missing")
	}
	var sloNodes []*yaml.Node
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "slos" && n.Content[j+1].Kind == yaml.SequenceNode {
			sloNodes = n.Content[j+1].Content
		}
	}
	if len(s.SLOs) == 0 {
		c.add(-1, "", "slos", "", "no SLOs defined")
	}
	if len(c.errs) > before {
		return
	}
	for i, sl := range s.SLOs {
		if i < len(sloNodes) {
			c.unknown(sloNodes[i], sloKeys, i, sl.Name, "")
		}
		if out, ok := c.slo(i, s, sl); ok {
			doc.SLOs = append(doc.SLOs, out)
		}
	}
}

// window is what {{.window}} is replaced with before parsing: any valid
// duration does, since the range is dropped with the rate around it.
var window = regexp.MustCompile(`\{\{\s*\.window\s*\}\}`)

// tiers are Sloth's page and ticket alerts: the SRE Workbook's
// multi-window multi-burn-rate alerts, which are slo-exporter's default
// tiers of the same names.
var tiers = map[string][]openslo.Tier{
	"page": {
		{Name: "fast", BudgetFraction: 0.02, LongWindow: "1h", ShortWindow: "5m"},
		{Name: "medium", BudgetFraction: 0.05, LongWindow: "6h", ShortWindow: "30m"},
	},
	"ticket": {
		{Name: "slow", BudgetFraction: 0.1, LongWindow: "1d", ShortWindow: "2h"},
		{Name: "long", BudgetFraction: 0.1, LongWindow: "3d", ShortWindow: "6h"},
	},
}

// slo converts one SLO.
func (c *converter) slo(i int, s spec, sl slo) (openslo.SLO, bool) {
	before := len(c.errs)
	bad := func(field, value, msg string) { c.add(i, sl.Name, field, value, msg) }
	if sl.Name == "" {
		bad("name", "", "missing")
	}
	out := openslo.SLO{
		Origin:      fmt.Sprintf("Sloth %s SLO %q (slos[%d])", s.Service, sl.Name, i),
		Name:        s.Service + "-" + sl.Name,
		Service:     s.Service,
		Description: sl.Description,
		Period:      DefaultPeriod,
	}
	labels := map[string]string{}
	maps.Copy(labels, s.Labels)
	maps.Copy(labels, sl.Labels)
	if len(labels) > 0 {
		out.Labels = labels
	}
	if sl.Objective != nil {
		out.Objective = strconv.FormatFloat(*sl.Objective, 'g', -1, 64) + "%"
	}
	switch {
	case sl.SLI.Raw != nil:
		bad("sli.raw", "", "a raw error ratio cannot be converted: slo-exporter counts good and valid events from counters; write sli.events with error_query and total_query")
	case sl.SLI.Plugin != nil:
		bad("sli.plugin", "", "SLI plugins generate queries slo-exporter cannot see; write sli.events with error_query and total_query")
	case sl.SLI.Events == nil:
		bad("sli.events", "", "missing; give error_query and total_query")
	default:
		c.events(sl.SLI.Events.ErrorQuery, sl.SLI.Events.TotalQuery, &out, bad)
	}
	out.Alerting = alerting(sl)
	return out, len(c.errs) == before
}

// events reduces error_query and total_query to sli.ratio.
func (c *converter) events(errQ, totalQ string, out *openslo.SLO, bad func(field, value, msg string)) {
	const ef, tf = "sli.events.error_query", "sli.events.total_query"
	total, ok := reduce(totalQ, tf, bad)
	if !ok {
		return
	}
	if strings.TrimSpace(errQ) == "" {
		bad(ef, "", "missing")
		return
	}
	e, err := metricsql.Parse(window.ReplaceAllString(errQ, "5m"))
	if err != nil {
		bad(ef, errQ, fmt.Sprintf("not valid PromQL: %v", err))
		return
	}
	if be, isDiff := e.(*metricsql.BinaryOpExpr); isDiff && be.Op == "-" {
		// total - good, as written for latency SLOs.
		left, err1 := openslo.ReduceExpr(be.Left)
		right, err2 := openslo.ReduceExpr(be.Right)
		switch {
		case err1 != nil || err2 != nil || !left.Rate || !right.Rate:
			bad(ef, errQ, "a difference is only understood as total - good, each side a rate() or increase() of a counter selector")
		case left.Selector != total.Selector || !slices.Equal(left.GroupBy, total.GroupBy):
			bad(ef, errQ, fmt.Sprintf("a difference is only understood as total - good, and its left side %s is not total_query's %s", left.Selector, total.Selector))
		case !slices.Equal(right.GroupBy, total.GroupBy):
			bad(ef, errQ, "both sides must sum by the same labels as total_query")
		default:
			out.SLI.Ratio = openslo.Ratio{Good: right.Selector, Valid: total.Selector}
			out.GroupBy = total.GroupBy
		}
		return
	}
	r, ok := reduce(errQ, ef, bad)
	if !ok {
		return
	}
	if !slices.Equal(r.GroupBy, total.GroupBy) {
		bad(ef, errQ, fmt.Sprintf("sums by %v but total_query by %v; they must group alike to map onto group_by", r.GroupBy, total.GroupBy))
		return
	}
	out.SLI.Ratio = openslo.Ratio{Bad: r.Selector, Valid: total.Selector}
	out.GroupBy = total.GroupBy
}

// reduce reduces one Sloth query, which must count events over the
// window.
func reduce(q, field string, bad func(field, value, msg string)) (openslo.Reduced, bool) {
	if strings.TrimSpace(q) == "" {
		bad(field, "", "missing")
		return openslo.Reduced{}, false
	}
	r, err := openslo.Reduce(window.ReplaceAllString(q, "5m"))
	if err != nil {
		bad(field, q, err.Error())
		return r, false
	}
	if !r.Rate {
		bad(field, q, "must count events over the window with rate() or increase() of a counter, e.g. sum(rate(http_requests_total[{{.window}}]))")
		return r, false
	}
	return r, true
}

// alerting maps the page and ticket alerts onto the four tiers and a
// runbook annotation onto runbook_url.
func alerting(sl slo) *openslo.Alerting {
	a := &openslo.Alerting{}
	for _, k := range []string{"runbook_url", "runbook"} {
		if v := sl.Alerting.Annotations[k]; v != "" && a.RunbookURL == "" {
			a.RunbookURL = v
		}
	}
	for _, kind := range []string{"page", "ticket"} {
		al := sl.Alerting.PageAlert
		if kind == "ticket" {
			al = sl.Alerting.TicketAlert
		}
		for _, t := range tiers[kind] {
			if al.Disable {
				off := false
				a.Tiers = append(a.Tiers, openslo.Tier{Name: t.Name, Enabled: &off})
				continue
			}
			on := true
			t.Severity, t.Enabled = kind, &on
			if sev := al.Labels["severity"]; sev != "" {
				t.Severity = sev
			}
			a.Tiers = append(a.Tiers, t)
		}
	}
	return a
}
