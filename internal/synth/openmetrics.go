package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// WriteOpenMetrics writes series as OpenMetrics text for
// `promtool tsdb create-blocks-from openmetrics`:
//
//   - series are grouped by metric family, families sorted by name; a name
//     ending in "_total" is a counter family named without the suffix
//     ("# TYPE synth_requests counter"), any other name gets type unknown;
//   - inside a family, series are sorted by their labels and each series'
//     samples are written in time order;
//   - timestamps are Unix seconds with exactly three decimals (promtool
//     reads seconds; milliseconds are Prometheus' resolution);
//   - the text ends with "# EOF", which promtool requires.
//
// It returns an error naming the series when a name is missing or invalid,
// a label name is invalid, timestamps are not strictly increasing, or two
// series have the same labels.
func WriteOpenMetrics(w io.Writer, series []Series) error {
	type entry struct {
		key string // label set without the name, rendered
		s   Series
	}
	families := map[string][]entry{}
	for i, s := range series {
		name := s.Labels["__name__"]
		if !metricNameRE.MatchString(name) {
			return fmt.Errorf("synth: series %d: metric name %q is missing or invalid", i, name)
		}
		key, err := renderLabels(s.Labels)
		if err != nil {
			return fmt.Errorf("synth: series %d (%s): %w", i, name, err)
		}
		for j := 1; j < len(s.Samples); j++ {
			if s.Samples[j].T <= s.Samples[j-1].T {
				return fmt.Errorf("synth: series %s%s: sample %d at %d ms is not after sample %d at %d ms", name, key, j, s.Samples[j].T, j-1, s.Samples[j-1].T)
			}
		}
		families[name] = append(families[name], entry{key: key, s: s})
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)

	bw := bufio.NewWriter(w)
	for _, name := range names {
		es := families[name]
		sort.Slice(es, func(i, j int) bool { return es[i].key < es[j].key })
		for i := 1; i < len(es); i++ {
			if es[i].key == es[i-1].key {
				return fmt.Errorf("synth: series %s%s appears twice", name, es[i].key)
			}
		}
		family, typ := name, "unknown"
		if strings.HasSuffix(name, "_total") {
			family, typ = strings.TrimSuffix(name, "_total"), "counter"
		}
		fmt.Fprintf(bw, "# TYPE %s %s\n", family, typ)
		for _, e := range es {
			prefix := name + e.key + " "
			for _, p := range e.s.Samples {
				bw.WriteString(prefix)
				bw.WriteString(formatValue(p.V))
				bw.WriteByte(' ')
				bw.WriteString(formatMillis(p.T))
				bw.WriteByte('\n')
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

// renderLabels renders the labels other than __name__ as {a="x",b="y"},
// sorted by name, or "" when there are none.
func renderLabels(labels map[string]string) (string, error) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k == "__name__" {
			continue
		}
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") {
			return "", fmt.Errorf("label name %q is invalid", k)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return "", nil
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(escapeLabelValue(labels[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// escapeLabelValue escapes backslash, double quote and newline.
func escapeLabelValue(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// formatValue writes v exactly: shortest round-trip form, with OpenMetrics'
// spellings of the special values.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatMillis renders Unix milliseconds as seconds with three decimals.
func formatMillis(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}

// Days splits series into one slice per UTC day of samples, in time order.
// promtool 2.42 re-reads its whole input for every 2h block it cuts, so
// feeding it a file per day (12 passes over one day) instead of one file of
// a month (372 passes over the month) turns minutes into seconds.
func Days(series []Series) [][]Series {
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for _, s := range series {
		if n := len(s.Samples); n > 0 {
			lo, hi = min(lo, s.Samples[0].T), max(hi, s.Samples[n-1].T)
		}
	}
	const day = int64(24 * time.Hour / time.Millisecond)
	var out [][]Series
	for from := lo - ((lo%day)+day)%day; from <= hi; from += day {
		var slice []Series
		for _, s := range series {
			i := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T >= from })
			j := sort.Search(len(s.Samples), func(i int) bool { return s.Samples[i].T >= from+day })
			if j > i {
				slice = append(slice, Series{Labels: s.Labels, Samples: s.Samples[i:j]})
			}
		}
		if len(slice) > 0 {
			out = append(out, slice)
		}
	}
	return out
}
