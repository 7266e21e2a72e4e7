package fakeprom

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
)

// lookback is how far back an instant vector selector looks for a sample,
// Prometheus' default lookback delta.
const lookback = 5 * 60 * 1000 // ms

// badQuery is a query the fake rejects (HTTP 400, errorType bad_data).
type badQuery struct{ msg string }

func (e badQuery) Error() string { return e.msg }

// result is the answer to one query: a vector (one sample per series) or a
// matrix.
type result struct {
	matrix bool
	series []series
}

// evalInstant evaluates an instant query at t (unix ms).
func (s *Server) evalInstant(q string, t int64) (result, error) {
	expr, err := metricsql.Parse(q)
	if err != nil {
		return result{}, badQuery{fmt.Sprintf("parse error: %v", err)}
	}
	return s.eval(expr, t)
}

func (s *Server) eval(expr metricsql.Expr, t int64) (result, error) {
	switch e := expr.(type) {
	case *metricsql.MetricExpr:
		return result{series: s.vector(e, t)}, nil
	case *metricsql.RollupExpr:
		me, ok := e.Expr.(*metricsql.MetricExpr)
		if !ok || e.Window == nil || e.Offset != nil || e.Step != nil || e.At != nil {
			return result{}, badQuery{"fakeprom: only sel[d] range selectors are supported, not " + string(e.AppendString(nil))}
		}
		return result{matrix: true, series: s.selectRange(me, t-e.Window.Duration(0), t)}, nil
	case *metricsql.FuncExpr:
		switch strings.ToLower(e.Name) {
		case "count_over_time":
			if len(e.Args) != 1 {
				return result{}, badQuery{"count_over_time takes one argument"}
			}
			in, err := s.eval(e.Args[0], t)
			if err != nil {
				return result{}, err
			}
			if !in.matrix {
				return result{}, badQuery{"count_over_time needs a range vector"}
			}
			out := result{}
			for _, sr := range in.series {
				ls := sr.labels.Clone()
				delete(ls, model.MetricNameLabel)
				out.series = append(out.series, series{labels: ls, samples: []model.SamplePair{{Timestamp: model.Time(t), Value: model.SampleValue(len(sr.samples))}}})
			}
			return out, nil
		case "label_replace":
			return s.labelReplace(e, t)
		}
	case *metricsql.AggrFuncExpr:
		if strings.ToLower(e.Name) == "sum" && len(e.Args) == 1 && len(e.Modifier.Args) == 0 {
			in, err := s.eval(e.Args[0], t)
			if err != nil {
				return result{}, err
			}
			if in.matrix {
				return result{}, badQuery{"sum needs an instant vector"}
			}
			if len(in.series) == 0 {
				return result{}, nil
			}
			var sum float64
			for _, sr := range in.series {
				sum += float64(sr.samples[0].Value)
			}
			return result{series: []series{{labels: model.LabelSet{}, samples: []model.SamplePair{{Timestamp: model.Time(t), Value: model.SampleValue(sum)}}}}}, nil
		}
	case *metricsql.BinaryOpExpr:
		if strings.ToLower(e.Op) == "or" {
			l, err := s.eval(e.Left, t)
			if err != nil {
				return result{}, err
			}
			r, err := s.eval(e.Right, t)
			if err != nil {
				return result{}, err
			}
			if l.matrix || r.matrix {
				return result{}, badQuery{"or needs instant vectors"}
			}
			seen := map[model.Fingerprint]bool{}
			for _, sr := range l.series {
				seen[sr.labels.Fingerprint()] = true
			}
			for _, sr := range r.series {
				if !seen[sr.labels.Fingerprint()] {
					l.series = append(l.series, sr)
				}
			}
			return l, nil
		}
	}
	return result{}, badQuery{"fakeprom: unsupported expression " + string(expr.AppendString(nil))}
}

// labelReplace implements label_replace(v, dst, replacement, src, regex).
func (s *Server) labelReplace(e *metricsql.FuncExpr, t int64) (result, error) {
	if len(e.Args) != 5 {
		return result{}, badQuery{"label_replace takes 5 arguments"}
	}
	var str [4]string
	for i := range str {
		se, ok := e.Args[i+1].(*metricsql.StringExpr)
		if !ok {
			return result{}, badQuery{"label_replace: argument " + strconv.Itoa(i+2) + " must be a string"}
		}
		str[i] = se.S
	}
	re, err := regexp.Compile("^(?s:" + str[3] + ")$")
	if err != nil {
		return result{}, badQuery{"label_replace: " + err.Error()}
	}
	in, err := s.eval(e.Args[0], t)
	if err != nil {
		return result{}, err
	}
	if in.matrix {
		return result{}, badQuery{"label_replace needs an instant vector"}
	}
	for i, sr := range in.series {
		src := string(sr.labels[model.LabelName(str[2])])
		m := re.FindStringSubmatchIndex(src)
		if m == nil {
			continue
		}
		v := re.ExpandString(nil, str[1], src, m)
		ls := sr.labels.Clone()
		if len(v) == 0 {
			delete(ls, model.LabelName(str[0]))
		} else {
			ls[model.LabelName(str[0])] = model.LabelValue(v)
		}
		in.series[i].labels = ls
	}
	return in, nil
}

// matcher tests label sets against a selector's filters.
type matcher struct {
	groups [][]filter
}

type filter struct {
	label string
	value string
	re    *regexp.Regexp
	neg   bool
}

func newMatcher(me *metricsql.MetricExpr) (*matcher, error) {
	m := &matcher{}
	for _, lfs := range me.LabelFilterss {
		var g []filter
		for _, lf := range lfs {
			f := filter{label: lf.Label, value: lf.Value, neg: lf.IsNegative}
			if lf.IsRegexp {
				re, err := regexp.Compile("^(?s:" + lf.Value + ")$")
				if err != nil {
					return nil, badQuery{"bad regexp " + strconv.Quote(lf.Value) + ": " + err.Error()}
				}
				f.re = re
			}
			g = append(g, f)
		}
		m.groups = append(m.groups, g)
	}
	return m, nil
}

func (m *matcher) matches(ls model.LabelSet) bool {
	for _, g := range m.groups {
		ok := true
		for _, f := range g {
			v := string(ls[model.LabelName(f.label)])
			var hit bool
			if f.re != nil {
				hit = f.re.MatchString(v)
			} else {
				hit = v == f.value
			}
			if hit == f.neg {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// selectRange returns the served samples in (after, upTo] of every series
// the selector matches, counters in their order.
func (s *Server) selectRange(me *metricsql.MetricExpr, after, upTo int64) []series {
	m, err := newMatcher(me)
	if err != nil {
		return nil
	}
	corr := s.corruptions()
	var out []series
	for i, c := range s.opt.Counters {
		if !m.matches(c.Labels) {
			continue
		}
		for _, sr := range s.served(i, after, upTo, corr) {
			if m.matches(sr.labels) {
				out = append(out, sr)
			}
		}
	}
	return out
}

// vector returns the last sample within the lookback of every series the
// selector matches, at t.
func (s *Server) vector(me *metricsql.MetricExpr, t int64) []series {
	in := s.selectRange(me, t-lookback, t)
	out := in[:0]
	for _, sr := range in {
		last := sr.samples[len(sr.samples)-1]
		last.Timestamp = model.Time(t)
		ls := sr.labels
		out = append(out, series{labels: ls, samples: []model.SamplePair{last}})
	}
	return out
}

// evalRange evaluates a range query of a plain selector: the last sample
// within the lookback at each step.
func (s *Server) evalRange(q string, start, end, step int64) (result, error) {
	expr, err := metricsql.Parse(q)
	if err != nil {
		return result{}, badQuery{fmt.Sprintf("parse error: %v", err)}
	}
	me, ok := expr.(*metricsql.MetricExpr)
	if !ok {
		return result{}, badQuery{"fakeprom: range queries of plain selectors only"}
	}
	if step <= 0 || end < start {
		return result{}, badQuery{"bad range"}
	}
	if (end-start)/step > 11000 {
		return result{}, badQuery{"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}
	}
	in := s.selectRange(me, start-lookback, end)
	out := result{matrix: true}
	for _, sr := range in {
		var pts []model.SamplePair
		j := 0
		for t := start; t <= end; t += step {
			for j+1 < len(sr.samples) && int64(sr.samples[j+1].Timestamp) <= t {
				j++
			}
			smp := sr.samples[j]
			if ts := int64(smp.Timestamp); ts <= t && ts > t-lookback {
				pts = append(pts, model.SamplePair{Timestamp: model.Time(t), Value: smp.Value})
			}
		}
		if len(pts) > 0 {
			ls := sr.labels.Clone()
			delete(ls, model.MetricNameLabel)
			out.series = append(out.series, series{labels: ls, samples: pts})
		}
	}
	return out, nil
}

// appendLabels appends the JSON object of a label set, keys sorted.
func appendLabels(b []byte, ls model.LabelSet) []byte {
	names := make([]string, 0, len(ls))
	for n := range ls {
		names = append(names, string(n))
	}
	sort.Strings(names)
	b = append(b, '{')
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, n)
		b = append(b, ':')
		b = appendJSONString(b, string(ls[model.LabelName(n)]))
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Label values of the fake are
// printable ASCII or valid UTF-8; control characters are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, r)...)
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}

// appendTime appends a unix ms time as Prometheus does: seconds with up
// to three decimals.
func appendTime(b []byte, ms int64) []byte {
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', -1, 64)
}

// appendValue appends a sample value as the API's string.
func appendValue(b []byte, v float64) []byte {
	b = append(b, '"')
	switch {
	case v != v:
		b = append(b, "NaN"...)
	case v > 1.7976931348623157e308:
		b = append(b, "+Inf"...)
	case v < -1.7976931348623157e308:
		b = append(b, "-Inf"...)
	default:
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return append(b, '"')
}

// appendSeries appends one series of a vector or matrix.
func appendSeries(b []byte, sr series, matrix bool) []byte {
	b = append(b, `{"metric":`...)
	b = appendLabels(b, sr.labels)
	if matrix {
		b = append(b, `,"values":[`...)
		for i, p := range sr.samples {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = appendTime(b, int64(p.Timestamp))
			b = append(b, ',')
			b = appendValue(b, float64(p.Value))
			b = append(b, ']')
		}
		b = append(b, ']')
	} else {
		p := sr.samples[0]
		b = append(b, `,"value":[`...)
		b = appendTime(b, int64(p.Timestamp))
		b = append(b, ',')
		b = appendValue(b, float64(p.Value))
		b = append(b, ']')
	}
	return append(b, '}')
}
