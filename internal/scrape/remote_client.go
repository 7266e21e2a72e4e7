package scrape

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/remoteread"
)

// RemoteRead implements RemoteReader: it sends one remote read request
// (POST /api/v1/read, streamed chunks) for every selector of sels, through
// the same layer as queries (retries, timeout per attempt, the cap on
// requests in flight, counts), and returns one matrix per selector, with
// the samples in (start, end]. The series cap is that of a union read of
// as many selectors as ctx says (withSelectors). A server that answers 404, 405 or 501, or
// with a body that is not a remote read answer (VictoriaMetrics, Thanos'
// querier, a proxy's page), returns an error wrapping errNoRemoteRead, as
// does a selector that is not plain or a native histogram series.
func (c *Client) RemoteRead(ctx context.Context, sels []string, start, end time.Time, into ReadInto) ([][]ReadSeries, error) {
	alloc := into.Alloc
	if alloc == nil {
		alloc = func(n int) []model.SamplePair { return make([]model.SamplePair, n) }
	}
	qs := make([]remoteread.Query, len(sels))
	for i, sel := range sels {
		ms, ok := selectorMatchers(sel)
		if !ok {
			return nil, fmt.Errorf("remote read of %s: not a plain selector: %w", sel, errNoRemoteRead)
		}
		qs[i] = remoteread.Query{Start: start.UnixMilli() + 1, End: end.UnixMilli(), Matchers: rrMatchers(ms)}
	}
	expr := strings.Join(sels, " ")
	var out [][]ReadSeries
	unsupported := false
	limit, _ := c.seriesCap(ctx)
	err := c.run(ctx, "read", expr, wholeReadLimit{maxBodyBytes, ""}, func(ctx context.Context) error {
		out = make([][]ReadSeries, len(sels))
		err := c.remote.Read(ctx, qs, func(s remoteread.Series) error {
			if limit > 0 && len(out[s.Query]) >= limit {
				return refuse("more than %d series in the remote read of %s (max_series_per_selector for each of the selectors it reads): narrow the selector or raise the limit", limit, sels[s.Query])
			}
			if len(s.Samples) == 0 {
				return nil
			}
			rs := into.IDs.of(s.Labels)
			rs.Values = alloc(len(s.Samples))
			for i, sp := range s.Samples {
				rs.Values[i] = model.SamplePair{Timestamp: model.Time(sp.T), Value: model.SampleValue(sp.V)}
			}
			out[s.Query] = append(out[s.Query], rs)
			return nil
		})
		if remoteread.IsUnsupported(err) {
			unsupported = true
		}
		return err
	})
	if unsupported {
		return nil, fmt.Errorf("%w: %v", errNoRemoteRead, err)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// rrMatchers converts a selector's matchers to remote read's.
func rrMatchers(ms []metricsql.LabelFilter) []remoteread.Matcher {
	out := make([]remoteread.Matcher, len(ms))
	for i, m := range ms {
		t := remoteread.MatchEqual
		switch {
		case m.IsRegexp && m.IsNegative:
			t = remoteread.MatchNotRegexp
		case m.IsRegexp:
			t = remoteread.MatchRegexp
		case m.IsNegative:
			t = remoteread.MatchNotEqual
		}
		out[i] = remoteread.Matcher{Type: t, Name: m.Label, Value: m.Value}
	}
	return out
}

// SeriesIDs interns the identities (labels as a model.Metric, and their
// fingerprint) of the series that remote reads return: a backfill reads
// the same series segment after segment, and builds each one's once.
// The zero value is ready; a nil *SeriesIDs builds every identity anew.
// Not safe for concurrent use.
type SeriesIDs struct {
	m   map[string]ReadSeries // Metric and FP set, no Values
	key []byte                // scratch for the lookup key
}

// of returns the series with labels ls, its Metric and FP set.
func (ids *SeriesIDs) of(ls []remoteread.Label) ReadSeries {
	if ids == nil {
		return newSeriesID(ls)
	}
	// Each name and value with its length before it: no two label sets
	// share a key.
	k := ids.key[:0]
	for _, l := range ls {
		k = binary.AppendUvarint(k, uint64(len(l.Name)))
		k = append(k, l.Name...)
		k = binary.AppendUvarint(k, uint64(len(l.Value)))
		k = append(k, l.Value...)
	}
	ids.key = k
	if id, ok := ids.m[string(k)]; ok {
		return id
	}
	if ids.m == nil {
		ids.m = map[string]ReadSeries{}
	}
	id := newSeriesID(ls)
	ids.m[string(k)] = id
	return id
}

// newSeriesID returns the series with labels ls, its Metric and FP set.
func newSeriesID(ls []remoteread.Label) ReadSeries {
	m := make(model.Metric, len(ls))
	for _, l := range ls {
		m[model.LabelName(l.Name)] = model.LabelValue(l.Value)
	}
	return ReadSeries{Metric: m, FP: uint64(m.Fingerprint())}
}
