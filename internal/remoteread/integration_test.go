package remoteread

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
	"github.com/slo-exporter/slo-exporter/internal/synth"
)

var update = flag.Bool("update", false, "rewrite testdata/ golden files from a real Prometheus")

// historyStart is the first timestamp of the backfilled history, unaligned.
const historyStart = int64(1_750_000_000_123)

// history builds the test's raw samples: counters with resets, scrape
// jitter, gaps, a NaN, over four days, in three series of two names.
func history() []synth.Series {
	rng := rand.New(rand.NewSource(7))
	const day = 24 * 3600 * 1000
	gen := func(labels map[string]string, step int64, gapFrom, gapTo int64, nanAt int64) synth.Series {
		s := synth.Series{Labels: labels}
		v := 0.0
		for t := historyStart + rng.Int63n(step); t < historyStart+4*day; t += step + rng.Int63n(3000) - 1000 {
			if t >= gapFrom && t < gapTo {
				continue
			}
			v += float64(rng.Intn(50))
			if rng.Intn(900) == 0 {
				v = float64(rng.Intn(5)) // counter reset
			}
			val := v
			if nanAt != 0 && t >= nanAt && (len(s.Samples) == 0 || s.Samples[len(s.Samples)-1].T < nanAt) {
				val = math.NaN()
			}
			s.Samples = append(s.Samples, synth.Sample{T: t, V: val})
		}
		return s
	}
	return []synth.Series{
		gen(map[string]string{"__name__": "rr_requests_total", "code": "200", "job": "api"}, 15000, historyStart+day+3_600_000, historyStart+day+4*3_600_000, historyStart+2*day+1_234_567),
		gen(map[string]string{"__name__": "rr_requests_total", "code": "500", "job": "api"}, 60000, historyStart+2*day, historyStart+3*day, 0),
		gen(map[string]string{"__name__": "rr_errors_total", "code": "503", "job": "web"}, 30000, 0, 0, 0),
	}
}

// startHistory starts Prometheus on the backfilled history, with small
// frames so that series are spread over several frames.
func startHistory(t *testing.T) (*promtest.Server, []synth.Series) {
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	hist := history()
	var om bytes.Buffer
	if err := synth.WriteOpenMetrics(&om, hist); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	promtest.CreateBlocks(t, promtool, om.Bytes(), dir)
	srv := promtest.Start(t, promtest.Options{DataDir: dir, ExtraArgs: []string{"--storage.remote.read-max-bytes-in-frame=2048"}})
	return srv, hist
}

// selector renders a query's matchers as a PromQL selector.
func selector(q Query) string {
	ops := map[MatchType]string{MatchEqual: "=", MatchNotEqual: "!=", MatchRegexp: "=~", MatchNotRegexp: "!~"}
	parts := make([]string, len(q.Matchers))
	for i, m := range q.Matchers {
		parts[i] = m.Name + ops[m.Type] + strconv.Quote(m.Value)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// labelKey renders labels sorted, to match series across sources.
func labelKey(ls []Label) string {
	parts := make([]string, 0, len(ls))
	for _, l := range ls {
		parts = append(parts, l.Name+"="+strconv.Quote(l.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func metricKey(m model.Metric) string {
	ls := make([]Label, 0, len(m))
	for k, v := range m {
		ls = append(ls, Label{string(k), string(v)})
	}
	return labelKey(ls)
}

// promqlSamples runs sel[window] at q.End through the JSON API and
// returns, per series, its samples. Prometheus 2.x's range selector is
// closed, [End-window, End]; 3.x's is left-open, so the caller chooses
// q.Start to match (see rangeStart).
func promqlSamples(t *testing.T, srv *promtest.Server, q Query, window int64) map[string][]Sample {
	t.Helper()
	m, err := srv.QueryMatrix(context.Background(), fmt.Sprintf("%s[%dms]", selector(q), window), time.UnixMilli(q.End))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]Sample{}
	for _, ss := range m {
		var s []Sample
		for _, p := range ss.Values {
			s = append(s, Sample{int64(p.Timestamp), float64(p.Value)})
		}
		out[metricKey(ss.Metric)] = s
	}
	return out
}

// rangeStart is the first timestamp a range selector of window ms at end
// returns on this server.
func rangeStart(srv *promtest.Server, end, window int64) int64 {
	if srv.Major() >= 3 {
		return end - window + 1
	}
	return end - window
}

// readAll reads qs and returns, per query, per series, copied samples.
func readAll(t *testing.T, c *Client, qs []Query) []map[string][]Sample {
	t.Helper()
	out := make([]map[string][]Sample, len(qs))
	for i := range out {
		out[i] = map[string][]Sample{}
	}
	err := c.Read(context.Background(), qs, func(s Series) error {
		k := labelKey(s.Labels)
		if _, dup := out[s.Query][k]; dup {
			t.Errorf("query %d: series %s handed over twice", s.Query, k)
		}
		if len(s.Samples) == 0 {
			t.Errorf("query %d: series %s handed over without samples", s.Query, k)
		}
		out[s.Query][k] = append([]Sample(nil), s.Samples...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAsPromQL compares every sample, timestamps exactly and values by
// bits, except that the JSON API renders every NaN as "NaN": those compare
// by being NaN.
func sameAsPromQL(t *testing.T, what string, got, want map[string][]Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d series, PromQL has %d", what, len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			t.Errorf("%s: series %s: %d samples, PromQL has %d", what, k, len(g), len(w))
			continue
		}
		for i := range w {
			bothNaN := math.IsNaN(g[i].V) && math.IsNaN(w[i].V)
			if g[i].T != w[i].T || (!bothNaN && math.Float64bits(g[i].V) != math.Float64bits(w[i].V)) {
				t.Errorf("%s: series %s: sample %d = %v, PromQL has %v", what, k, i, g[i], w[i])
				break
			}
		}
	}
}

// fromHistory returns the generated samples of the series the query
// selects (only = and != on plain names are needed) within [Start, End].
func fromHistory(hist []synth.Series, sel func(map[string]string) bool, start, end int64) map[string][]Sample {
	out := map[string][]Sample{}
	for _, s := range hist {
		if !sel(s.Labels) {
			continue
		}
		var ls []Label
		for k, v := range s.Labels {
			ls = append(ls, Label{k, v})
		}
		var in []Sample
		for _, x := range s.Samples {
			if x.T >= start && x.T <= end {
				in = append(in, Sample{x.T, x.V})
			}
		}
		if len(in) > 0 {
			out[labelKey(ls)] = in
		}
	}
	return out
}

// TestReadMatchesPromQL reads four queries in one request from a real
// Prometheus serving four days of backfilled blocks and compares every
// sample with the JSON API's range selector and with the generated
// history.
func TestReadMatchesPromQL(t *testing.T) {
	srv, hist := startHistory(t)
	const day = 24 * 3600 * 1000
	type tc struct {
		q      Query
		window int64
		sel    func(map[string]string) bool
	}
	end1 := historyStart + 3*day + day/2 + 777
	end2 := historyStart + 4*day - 12_345
	cases := []tc{
		{Query{End: end1, Matchers: []Matcher{{MatchEqual, "__name__", "rr_requests_total"}, {MatchEqual, "code", "200"}}}, 3 * day,
			func(l map[string]string) bool { return l["__name__"] == "rr_requests_total" && l["code"] == "200" }},
		{Query{End: end2, Matchers: []Matcher{{MatchEqual, "__name__", "rr_requests_total"}, {MatchNotEqual, "code", "200"}}}, 2*day + 3_333,
			func(l map[string]string) bool { return l["__name__"] == "rr_requests_total" && l["code"] != "200" }},
		{Query{End: end1, Matchers: []Matcher{{MatchRegexp, "__name__", "rr_.*"}, {MatchRegexp, "code", "5.."}}}, 4 * day,
			func(l map[string]string) bool { return l["code"][0] == '5' }},
		{Query{End: historyStart + 2*day + 2_000_000, Matchers: []Matcher{{MatchEqual, "job", "api"}, {MatchNotRegexp, "code", "5.*"}}}, 37*60_000 + 13_001,
			func(l map[string]string) bool { return l["job"] == "api" && l["code"][0] != '5' }},
	}
	// Both ends exactly on samples: the interval is closed.
	a := hist[0].Samples
	exact := Query{Start: a[1000].T, End: a[2345].T, Matchers: []Matcher{{MatchEqual, "__name__", "rr_requests_total"}, {MatchEqual, "code", "200"}}}
	cases = append(cases, tc{exact, exact.End - exact.Start, func(l map[string]string) bool { return l["__name__"] == "rr_requests_total" && l["code"] == "200" }})
	qs := make([]Query, len(cases))
	for i := range cases {
		cases[i].q.Start = rangeStart(srv, cases[i].q.End, cases[i].window)
		qs[i] = cases[i].q
	}
	// Prometheus answers with the streamed chunks, not the sampled fallback.
	if _, ct := rawRead(t, srv.URL+"/api/v1/read", qs, nil); ct != streamedType+"; proto="+streamedMsg {
		t.Fatalf("content type %q, want the streamed answer", ct)
	}
	got := readAll(t, NewClient(&http.Client{Timeout: time.Minute}, srv.URL+"/api/v1/read"), qs)
	// A real sampled answer (asked for alone) decodes to the same samples.
	sampledClient := NewClient(&http.Client{Timeout: time.Minute}, srv.URL+"/api/v1/read")
	sampledClient.accept = []byte{responseSamples}
	if _, ct := rawRead(t, srv.URL+"/api/v1/read", qs, sampledClient.accept); ct != sampledType {
		t.Fatalf("content type %q when asking for samples, want %s", ct, sampledType)
	}
	sampled := readAll(t, sampledClient, qs)
	for i := range qs {
		if len(sampled[i]) != len(got[i]) {
			t.Errorf("query %d: sampled answer has %d series, streamed %d", i, len(sampled[i]), len(got[i]))
		}
		for k, w := range got[i] {
			sameSamples(t, fmt.Sprintf("query %d, sampled answer, %s", i, k), sampled[i][k], w)
		}
	}
	total, nans := 0, 0
	for i, c := range cases {
		what := fmt.Sprintf("query %d %s [%d, %d]", i, selector(c.q), c.q.Start, c.q.End)
		sameAsPromQL(t, what+" vs PromQL", got[i], promqlSamples(t, srv, c.q, c.window))
		// The history is the independent truth, NaN bits included.
		want := fromHistory(hist, c.sel, c.q.Start, c.q.End)
		if len(want) == 0 {
			t.Fatalf("%s: the test selects no history", what)
		}
		for k, w := range want {
			sameSamples(t, what+" vs history "+k, got[i][k], w)
			total += len(w)
			for _, s := range w {
				if math.IsNaN(s.V) {
					nans++
				}
			}
		}
		if len(got[i]) != len(want) {
			t.Errorf("%s: %d series, history has %d", what, len(got[i]), len(want))
		}
	}
	if nans == 0 {
		t.Error("no NaN sample read: the test misses its case")
	}
	t.Logf("%d samples compared (%d NaN)", total, nans)
}

// rawRead posts qs and returns the raw answer body and its content type.
func rawRead(t *testing.T, url string, qs []Query, accept []byte) ([]byte, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(snappy.Encode(nil, encodeReadRequest(nil, qs, accept))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v: %s", resp.StatusCode, err, body)
	}
	return body, resp.Header.Get("Content-Type")
}

// golden is testdata/streamed.json: the queries of testdata/streamed.bin
// and, per query, the JSON API's samples for the same range selector.
type golden struct {
	Queries []Query
	// Want[query][labelKey] = [[t, "value"], ...] as the JSON API gave them.
	Want []map[string][][2]string
}

var goldenQueries = []Query{
	{Start: historyStart + 24*3600*1000 - 20_000_001, End: historyStart + 24*3600*1000 + 3*3600*1000 + 1_111, Matchers: []Matcher{{MatchEqual, "job", "api"}}},
	{Start: historyStart + 2*24*3600*1000 - 600_007, End: historyStart + 2*24*3600*1000 + 1_300_007, Matchers: []Matcher{{MatchEqual, "code", "200"}}},
}

// TestUpdateGolden captures a real streamed answer into testdata/ when run
// with -update:
//
//	go test ./internal/remoteread -run TestUpdateGolden -args -update
func TestUpdateGolden(t *testing.T) {
	if !*update {
		t.Skip("run with -update to capture testdata/streamed.bin from a real Prometheus")
	}
	srv, _ := startHistory(t)
	body, ct := rawRead(t, srv.URL+"/api/v1/read", goldenQueries, nil)
	if !strings.HasPrefix(ct, streamedType) {
		t.Fatalf("content type %q, want a streamed answer", ct)
	}
	g := golden{Queries: goldenQueries}
	for _, q := range goldenQueries {
		if srv.Major() >= 3 {
			t.Fatal("capture the golden files with Prometheus 2.x (closed range selectors)")
		}
		want := map[string][][2]string{}
		for k, ss := range promqlSamples(t, srv, q, q.End-q.Start) {
			for _, s := range ss {
				want[k] = append(want[k], [2]string{strconv.FormatInt(s.T, 10), strconv.FormatFloat(s.V, 'g', -1, 64)})
			}
		}
		g.Want = append(g.Want, want)
	}
	js, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/streamed.bin", body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/streamed.json", append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStalenessMarkers lets a real Prometheus scrape a target every second
// that then stops exposing one series, so Prometheus writes a staleness
// marker; Read must drop it and agree with the JSON API.
func TestStalenessMarkers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs prometheus")
	}
	var scrapes atomic.Int64
	var dropped atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE rr_live_total counter\nrr_live_total{code=\"200\"} %d\n", 3*n)
		if !dropped.Load() {
			fmt.Fprintf(w, "rr_live_total{code=\"500\"} %d\n", n)
		}
	}))
	defer target.Close()
	cfg := promtest.DefaultConfigYAML + "scrape_configs:\n- job_name: live\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  static_configs:\n  - targets: ['" + strings.TrimPrefix(target.URL, "http://") + "']\n"
	start := time.Now().UnixMilli()
	srv := promtest.Start(t, promtest.Options{ConfigYAML: cfg})

	waitScrapes := func(n int64) {
		deadline := time.Now().Add(60 * time.Second)
		for scrapes.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d scrapes after 60s", scrapes.Load())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitScrapes(5)
	dropped.Store(true)
	waitScrapes(scrapes.Load() + 3)
	time.Sleep(1500 * time.Millisecond) // let the last scrape's append commit
	end := time.Now().UnixMilli() - 1000
	window := end - start + 5000

	q := Query{Start: rangeStart(srv, end, window), End: end, Matchers: []Matcher{{MatchEqual, "__name__", "rr_live_total"}}}
	url := srv.URL + "/api/v1/read"

	// The marker is there: a client keeping markers sees it last in code="500".
	raw := NewClient(nil, url)
	raw.keepStale = true
	withMarkers := readAll(t, raw, []Query{q})[0]
	k500 := labelKey([]Label{{"__name__", "rr_live_total"}, {"code", "500"}, {"instance", strings.TrimPrefix(target.URL, "http://")}, {"job", "live"}})
	s500 := withMarkers[k500]
	if len(s500) < 2 || !IsStaleNaN(s500[len(s500)-1].V) {
		t.Fatalf("series %s read with markers = %v, want a staleness marker last (series: %v)", k500, s500, keys(withMarkers))
	}

	got := readAll(t, NewClient(nil, url), []Query{q})[0]
	for k, ss := range got {
		for _, s := range ss {
			if IsStaleNaN(s.V) {
				t.Errorf("series %s: staleness marker at %d handed out", k, s.T)
			}
		}
	}
	if len(got[k500]) != len(s500)-1 {
		t.Errorf("series %s: %d samples, want the %d before the marker", k500, len(got[k500]), len(s500)-1)
	}
	sameAsPromQL(t, "live counter", got, promqlSamples(t, srv, q, window))
}

// TestVictoriaMetricsUnsupported: a real VictoriaMetrics, which serves no
// remote read, is reported as unsupported.
func TestVictoriaMetricsUnsupported(t *testing.T) {
	bin := promtest.Binary(t, "victoria-metrics", "VICTORIA_METRICS")
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-storageDataPath="+filepath.Join(dir, "data"), "-httpListenAddr="+addr, "-loggerLevel=WARN")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("victoria-metrics not healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/api/v1/read", "/prometheus/api/v1/read"} {
		err := NewClient(nil, "http://"+addr+path).Read(context.Background(), []Query{{Start: 0, End: 1}}, func(Series) error { return nil })
		if err == nil || !IsUnsupported(err) {
			t.Errorf("%s: IsUnsupported(%v) = false, want true", path, err)
		}
	}
}

func keys(m map[string][]Sample) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestUnsupportedEndpoint: an endpoint without remote read (404) is
// reported as unsupported, so the caller falls back to PromQL.
func TestUnsupportedEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	err := NewClient(srv.Client(), srv.URL+"/api/v1/read").Read(context.Background(), []Query{{Start: 0, End: 1}}, func(Series) error { return nil })
	if !IsUnsupported(err) {
		t.Errorf("IsUnsupported(%v) = false, want true", err)
	}
}
