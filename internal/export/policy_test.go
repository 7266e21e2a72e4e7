package export

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/slo-exporter/slo-exporter/internal/policy"
)

// TestPolicyAPI asks the daemon's gate about the fixture: model-api has a
// green and a yellow model, the feature store's data is down (and it has
// no budget), batch is orange.
func TestPolicyAPI(t *testing.T) {
	store := fixtureStore()
	h := newServer(t, store, Options{}).Handler()
	get := func(target string, wantCode int) policy.Result {
		t.Helper()
		res, body := do(t, h, "GET", target, nil)
		if res.StatusCode != wantCode {
			t.Fatalf("%s: %d, want %d: %s", target, res.StatusCode, wantCode, body)
		}
		var env struct {
			Status string
			Data   policy.Result
			Error  string
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("%s: %v: %s", target, err, body)
		}
		return env.Data
	}
	tests := []struct {
		query     string
		decision  policy.Outcome
		zone      string
		approvals []string
	}{
		{"change=feature&service=model-api&max_age=0", policy.NeedsApproval, "yellow", []string{"senior engineer"}},
		{"change=feature&slo=model-api-availability&max_age=0", policy.NeedsApproval, "yellow", []string{"senior engineer"}},
		{"change=feature&service=batch-inference&max_age=0", policy.Deny, "orange", nil},
		{"change=bugfix&service=batch-inference&max_age=0", policy.NeedsApproval, "orange", []string{"engineering manager"}},
		// The feature store is down: a known denial elsewhere still denies,
		// but alone it cannot be judged, except for always-allowed kinds.
		{"change=feature&max_age=0", policy.Deny, "orange", nil},
		{"change=refactor&service=feature-store&max_age=0", policy.Unknown, "", nil},
		{"change=security&service=feature-store", policy.Allow, "", nil},
		// The fixture was evaluated in 2025: stale by the default max age.
		{"change=feature&service=model-api", policy.Unknown, "", nil},
	}
	for _, tc := range tests {
		r := get("/api/v1/policy?"+tc.query, http.StatusOK)
		if r.Decision != tc.decision || r.Zone != tc.zone || !slices.Equal(r.Approvals, tc.approvals) || r.ExitCode != tc.decision.ExitCode() {
			t.Errorf("%s: %s zone %q approvals %q: %s", tc.query, r.Decision, r.Zone, r.Approvals, r.Summary)
		}
	}
	for _, q := range []string{"change=yolo", "change=feature&slo=a&service=b", "change=feature&max_age=soon"} {
		res, body := do(t, h, "GET", "/api/v1/policy?"+q, nil)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"status":"error"`) {
			t.Errorf("%s: %d %s", q, res.StatusCode, body)
		}
	}
	// Without change: the policy itself.
	_, body := do(t, h, "GET", "/api/v1/policy", nil)
	var env struct{ Data policy.Policy }
	if err := json.Unmarshal([]byte(body), &env); err != nil || len(env.Data.Zones) != 4 || env.Data.Zones[2].Approval != "engineering manager" ||
		!slices.Equal(env.Data.AlwaysAllow, []string{"security", "dataloss"}) {
		t.Errorf("policy: %v %s", err, body)
	}
	// Before the first evaluation nothing can be decided.
	empty := newServer(t, NewStore(), Options{}).Handler()
	_, body = do(t, empty, "GET", "/api/v1/policy?change=bugfix", nil)
	if !strings.Contains(body, `"decision":"unknown"`) || !strings.Contains(body, "has not evaluated yet") {
		t.Errorf("empty store: %s", body)
	}
}

// TestPolicySeries checks slo_policy_* against the API's answers, and that
// a configured policy's own change kinds are what is exported.
func TestPolicySeries(t *testing.T) {
	store := fixtureStore()
	out := parse(t, exposition(store))
	val := func(name, labels string) float64 {
		t.Helper()
		mf := out[name]
		if mf == nil {
			t.Fatalf("%s missing", name)
		}
		for _, m := range mf.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(ls, ",") == labels {
				return m.GetGauge().GetValue()
			}
		}
		t.Fatalf("%s{%s} missing", name, labels)
		return math.NaN()
	}
	for _, tc := range []struct {
		labels  string
		allowed float64
		state   string
	}{
		{"service=batch-inference,change=feature", 0, "deny"},
		{"service=batch-inference,change=bugfix", 0, "approval"},
		{"service=batch-inference,change=security", 1, "allow"},
		{"service=model-api,change=refactor", 0, "approval"},
		{"service=feature-store,change=bugfix", 0, "unknown"},
		{"service=feature-store,change=dataloss", 1, "allow"},
	} {
		if v := val("slo_policy_allowed", tc.labels); v != tc.allowed {
			t.Errorf("slo_policy_allowed{%s} = %v, want %v", tc.labels, v, tc.allowed)
		}
		for _, o := range policy.Outcomes {
			want := 0.0
			if o.String() == tc.state {
				want = 1
			}
			if v := val("slo_policy_decision", tc.labels+",decision="+o.String()); v != want {
				t.Errorf("slo_policy_decision{%s,decision=%s} = %v, want %v", tc.labels, o, v, want)
			}
		}
	}

	custom := NewStore()
	custom.SetPolicy(policy.Policy{Zones: []policy.Zone{{Name: "green", MinRemaining: 0, Allow: []string{"hotfix"}},
		{Name: "yellow", MinRemaining: math.Inf(-1)}, {Name: "orange"}}})
	custom.SetSnapshot(fixture())
	text := exposition(custom)
	if !strings.Contains(text, `slo_policy_allowed{service="model-api",change="hotfix"} 0`) || strings.Contains(text, `change="feature"`) {
		t.Errorf("a configured policy's kinds are not the exported ones:\n%s", text)
	}
}

func TestAPICost(t *testing.T) {
	snap, info := fixture()
	info["batch-success"] = SLOInfo{Kind: "ratio", Cost: &CostInfo{PerEvent: 2.5, Currency: "EUR"}}
	store := NewStore()
	store.SetSnapshot(snap, info)
	_, body := do(t, newServer(t, store, Options{}).Handler(), "GET", "/api/v1/slos/batch-success", nil)
	var env struct{ Data SLO }
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	b := env.Data.Groups[0].Budget
	// 20 bad events and 6 left at 2.5 EUR each.
	if b == nil || b.Cost == nil || b.Cost.Spent != 50 || b.Cost.Remaining != 15 || b.Cost.Currency != "EUR" {
		t.Errorf("cost: %s", body)
	}
	_, body = do(t, newServer(t, store, Options{}).Handler(), "GET", "/api/v1/slos/model-api-availability", nil)
	if strings.Contains(body, `"cost"`) {
		t.Errorf("cost without cost.per_event: %s", body)
	}
}

// TestSnapshotStatesAgree checks that the daemon's own states (used for
// slo_policy_* and /api/v1/policy) are those a remote gate reads from
// /api/v1/slos.
func TestSnapshotStatesAgree(t *testing.T) {
	snap, info := fixture()
	got, want := snapshotStates(snap, true), PolicyStates(SLOs(snap, info))
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("snapshot states\n%s\nJSON API states\n%s", a, b)
	}
}

// BenchmarkPolicySeries measures slo_policy_* for the exposition
// benchmark's 10,000 groups, to compare with BenchmarkExposition/text.
func BenchmarkPolicySeries(b *testing.B) {
	store := bigStore(benchSLOs, benchGroups, benchWindows, benchTiers)
	snap, info := store.Snapshot()
	var out bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		writePolicy(&textEmitter{b: &out}, snap, info, policy.Default())
	}
}
