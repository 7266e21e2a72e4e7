// Package gate is the deploy gate behind "slo-exporter policy check": it
// reads the live state of the SLOs from a running exporter's JSON API or
// from the slo_* series in Prometheus, asks internal/policy for the
// decision and writes it as text or JSON. The decision itself is
// policy.Check, the same call the daemon's /api/v1/policy and
// slo_policy_* series make.
package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/slo-exporter/slo-exporter/internal/export"
	"github.com/slo-exporter/slo-exporter/internal/policy"
	"github.com/slo-exporter/slo-exporter/internal/scrape"
)

// Options is one gate question and where to read the state.
type Options struct {
	// Request is the question; Now is filled in when zero.
	Request policy.Request
	// ExporterURL is a running exporter's base URL (http://host:9099; a
	// trailing /metrics, as status --url takes it, is dropped). Exactly one
	// of ExporterURL and Prometheus is set.
	ExporterURL string
	// Prometheus queries the slo_* series of the exporter's scrapes.
	Prometheus scrape.Querier
	// Policy decides; nil means the exporter's own policy
	// (/api/v1/policy) with ExporterURL, and policy.Default() with
	// Prometheus.
	Policy *policy.Policy
	// HTTPClient reads the exporter; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// Output is "text" (default) or "json".
	Output string
}

// Run answers the question, writes the answer to stdout (warnings to
// stderr) and returns the exit code: 0 allow, 1 deny, 2 needs approval,
// 3 cannot decide (the source cannot be read, or the data is down, stale
// or missing). An invalid option is reported on stderr with exit 3 too,
// since a CI job must not read it as a decision.
func Run(ctx context.Context, opt Options, stdout, stderr io.Writer) int {
	res, err := Check(ctx, opt, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "slo-exporter policy check: %v\n", err)
		return policy.Unknown.ExitCode()
	}
	switch opt.Output {
	case "", "text":
		err = res.WriteText(stdout)
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	default:
		err = fmt.Errorf("--output %q: must be text or json", opt.Output)
	}
	if err != nil {
		fmt.Fprintf(stderr, "slo-exporter policy check: %v\n", err)
		return policy.Unknown.ExitCode()
	}
	return res.ExitCode
}

// Check reads the state and decides. Errors are mistakes in the options;
// an unreadable source is a Result with decision unknown.
func Check(ctx context.Context, opt Options, stderr io.Writer) (policy.Result, error) {
	req := opt.Request
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	switch {
	case (opt.ExporterURL == "") == (opt.Prometheus == nil):
		return policy.Result{}, errors.New("give exactly one source: --url (a running exporter) or --prometheus.url")
	case req.SLO != "" && req.Service != "":
		return policy.Result{}, errors.New("give --slo or --service, not both")
	case opt.Output != "" && opt.Output != "text" && opt.Output != "json":
		return policy.Result{}, fmt.Errorf("--output %q: must be text or json", opt.Output)
	}
	pol := policy.Default()
	if opt.Policy != nil {
		pol = *opt.Policy
	}
	if opt.Policy != nil || opt.ExporterURL == "" {
		if err := pol.ValidateChange(req.Change); err != nil {
			return policy.Result{}, err
		}
	}
	var states []policy.State
	var err error
	if opt.ExporterURL != "" {
		c := opt.HTTPClient
		if c == nil {
			c = &http.Client{Timeout: 10 * time.Second}
		}
		base := strings.TrimSuffix(strings.TrimSuffix(opt.ExporterURL, "/"), "/metrics")
		if opt.Policy == nil {
			var remote policy.Policy
			if err := getAPI(ctx, c, base+"/api/v1/policy", &remote); err != nil {
				return policy.Unreachable(req, err), nil
			}
			pol = remote
			if err := pol.ValidateChange(req.Change); err != nil {
				return policy.Result{}, fmt.Errorf("the exporter's policy: %w", err)
			}
		}
		var slos []export.SLO
		if err = getAPI(ctx, c, base+"/api/v1/slos", &slos); err == nil {
			states = export.PolicyStates(slos)
		}
	} else {
		states, err = PrometheusStates(ctx, opt.Prometheus, req.Now)
	}
	if err != nil {
		return policy.Unreachable(req, err), nil
	}
	return pol.Check(req, states), nil
}

// getAPI reads one endpoint of the exporter's JSON API into out.
func getAPI(ctx context.Context, c *http.Client, url string, out any) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
		Error  string          `json:"error"`
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if err := json.Unmarshal(body, &env); err != nil || resp.StatusCode != http.StatusOK || env.Status != "success" {
		msg := env.Error
		if msg == "" {
			msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
		}
		return fmt.Errorf("%s: %s: %s", url, resp.Status, msg)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("%s: decoding the answer: %w", url, err)
	}
	return nil
}

// dropped are the labels that are no group label: the series' own, and
// the target labels Prometheus adds when it scrapes the exporter.
var dropped = []string{model.MetricNameLabel, "slo", "service", "zone", "job", "instance"}

// PrometheusStates reads the gate's states from the slo_* series in
// Prometheus at now: one state per group of slo_budget_zone and
// slo_error_budget_remaining_ratio, with each SLO's slo_data_up and
// slo_last_evaluation_timestamp_seconds. An SLO with data_up or an
// evaluation time but no zone is a state without a zone (no budget).
func PrometheusStates(ctx context.Context, q scrape.Querier, now time.Time) ([]policy.State, error) {
	get := func(expr string) (model.Vector, error) {
		v, err := q.Query(ctx, expr, now)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	zones, err := get(`slo_budget_zone == 1`)
	if err != nil {
		return nil, err
	}
	remaining, err := get(`slo_error_budget_remaining_ratio`)
	if err != nil {
		return nil, err
	}
	up, err := get(`slo_data_up`)
	if err != nil {
		return nil, err
	}
	evaluated, err := get(`slo_last_evaluation_timestamp_seconds`)
	if err != nil {
		return nil, err
	}
	type sloMeta struct {
		service     string
		up, seenUp  bool
		evaluatedAt time.Time
	}
	slos := map[string]*sloMeta{}
	meta := func(m model.Metric) *sloMeta {
		name := string(m["slo"])
		if slos[name] == nil {
			slos[name] = &sloMeta{service: string(m["service"])}
		}
		return slos[name]
	}
	for _, s := range up {
		m := meta(s.Metric)
		// With several exporters (an HA pair) one that is up is enough.
		m.up, m.seenUp = m.up || s.Value == 1, true
	}
	for _, s := range evaluated {
		m := meta(s.Metric)
		if t := time.UnixMilli(int64(float64(s.Value) * 1e3)); t.After(m.evaluatedAt) {
			m.evaluatedAt = t
		}
	}
	groups := map[string]*policy.State{}
	state := func(m model.Metric) *policy.State {
		g := map[string]string{}
		for k, v := range m {
			if !slices.Contains(dropped, string(k)) {
				g[string(k)] = string(v)
			}
		}
		key := policy.GroupName(string(m["slo"]), g)
		if groups[key] == nil {
			groups[key] = &policy.State{SLO: string(m["slo"]), Service: string(m["service"])}
			if len(g) > 0 {
				groups[key].Group = g
			}
		}
		meta(m)
		return groups[key]
	}
	for _, s := range zones {
		state(s.Metric).Zone = string(s.Metric["zone"])
	}
	for _, s := range remaining {
		v := float64(s.Value)
		state(s.Metric).Remaining = &v
	}
	var out []policy.State
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, *groups[key])
	}
	for _, name := range slices.Sorted(maps.Keys(slos)) {
		found := false
		for i := range out {
			if out[i].SLO == name {
				found = true
			}
		}
		if !found {
			out = append(out, policy.State{SLO: name, Service: slos[name].service})
		}
	}
	for i := range out {
		m := slos[out[i].SLO]
		// A group without slo_data_up is an SLO the exporter does not
		// report as up: never guess that it is.
		out[i].DataUp = m.seenUp && m.up
		out[i].EvaluatedAt = m.evaluatedAt
		if m.evaluatedAt.IsZero() {
			out[i].DataUp = false
		}
	}
	return out, nil
}
