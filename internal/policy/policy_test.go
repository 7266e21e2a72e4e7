package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecideReferencePolicy(t *testing.T) {
	p := Default()
	tests := []struct {
		remaining float64
		kind      string
		zone      string
		allowed   bool
		approval  string
	}{
		{1, Feature, "green", true, "standard"},
		{0.75, Feature, "green", true, "standard"}, // boundary belongs to the higher zone
		{0.7499, Feature, "yellow", true, "senior engineer"},
		{0.25, Feature, "yellow", true, "senior engineer"},
		{0.2499, Feature, "orange", false, "engineering manager"},
		{0.2499, BugFix, "orange", true, "engineering manager"},
		{0, BugFix, "orange", true, "engineering manager"},
		{-0.0001, BugFix, "red", false, "VP engineering"},
		{-3, Feature, "red", false, "VP engineering"},
		{-3, Security, "red", true, "VP engineering"},
		{-3, DataLoss, "red", true, "VP engineering"},
	}
	for _, tc := range tests {
		d := p.Decide("api", tc.remaining, tc.kind)
		if d.Zone != tc.zone || d.Allowed != tc.allowed || d.Approval != tc.approval {
			t.Errorf("remaining %v %s: %+v, want zone %s allowed %v approval %s", tc.remaining, tc.kind, d, tc.zone, tc.allowed, tc.approval)
		}
	}
	d := p.Decide("api", 0.1, Feature)
	if want := "zone orange (10.0% of budget left): feature changes are frozen (the zone allows only bugfix, security, dataloss)"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	d = p.Decide("api", -0.5, BugFix)
	if want := "zone red (-50.0% of budget left): bugfix changes are frozen (the zone allows nothing but security and dataloss)"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		zones []Zone
		want  string
	}{
		{nil, "policy: no zones"},
		{[]Zone{{Name: "a", MinRemaining: 0.5}, {Name: "b", MinRemaining: 0.5}}, `policy: zones[1] "b": min_remaining 0.5 must be below the previous zone's 0.5`},
		{[]Zone{{Name: "a", MinRemaining: 0.5}, {Name: "a", MinRemaining: 0}}, `policy: zones[1]: duplicate zone "a"`},
		{[]Zone{{Name: "", MinRemaining: math.Inf(-1)}}, "policy: zones[0]: name is empty"},
	}
	for _, tc := range tests {
		if err := (Policy{Zones: tc.zones}).Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("Validate(%v) = %v, want %q", tc.zones, err, tc.want)
		}
	}
}

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func state(slo, service, zone string, remaining float64) State {
	return State{SLO: slo, Service: service, Zone: zone, Remaining: &remaining, DataUp: true, EvaluatedAt: now.Add(-time.Minute)}
}

// TestCheckEveryZoneAndKind is the reference policy's table (SCENARIO.md):
// every zone times every change kind, with the exit code CI sees, the
// approvals and the notifications.
func TestCheckEveryZoneAndKind(t *testing.T) {
	p := Default()
	remaining := map[string]float64{"green": 0.9, "yellow": 0.5, "orange": 0.1, "red": -0.2}
	notify := map[string][]string{
		"green":  nil,
		"yellow": {"engineering manager"},
		"orange": {"engineering manager", "VP engineering"},
		"red":    {"engineering manager", "VP engineering", "executives"},
	}
	// want[zone][kind] is the decision.
	want := map[string]map[string]Outcome{
		"green":  {Feature: Allow, BugFix: Allow, Refactor: Allow, Security: Allow, DataLoss: Allow},
		"yellow": {Feature: NeedsApproval, BugFix: NeedsApproval, Refactor: NeedsApproval, Security: Allow, DataLoss: Allow},
		"orange": {Feature: Deny, BugFix: NeedsApproval, Refactor: Deny, Security: Allow, DataLoss: Allow},
		"red":    {Feature: Deny, BugFix: Deny, Refactor: Deny, Security: Allow, DataLoss: Allow},
	}
	approval := map[string]string{"yellow": "senior engineer", "orange": "engineering manager"}
	exit := map[Outcome]int{Allow: 0, Deny: 1, NeedsApproval: 2, Unknown: 3}
	for _, zone := range []string{"green", "yellow", "orange", "red"} {
		for _, kind := range []string{Feature, BugFix, Refactor, Security, DataLoss} {
			// Two SLOs of the service: the one in the zone decides, the
			// other is green.
			states := []State{state("api-latency", "api", "green", 1), state("api-availability", "api", zone, remaining[zone])}
			res := p.Check(Request{Change: kind, Service: "api", Now: now, MaxAge: DefaultMaxAge}, states)
			w := want[zone][kind]
			if res.Decision != w || res.ExitCode != exit[w] {
				t.Errorf("%s %s: %s (exit %d), want %s (exit %d): %s", zone, kind, res.Decision, res.ExitCode, w, exit[w], res.Summary)
			}
			if res.Zone != zone {
				t.Errorf("%s %s: worst zone %q", zone, kind, res.Zone)
			}
			if !slices.Equal(res.Notify, notify[zone]) && !(len(res.Notify) == 0 && notify[zone] == nil) {
				t.Errorf("%s %s: notify %q, want %q", zone, kind, res.Notify, notify[zone])
			}
			wantApprovals := []string(nil)
			if w == NeedsApproval {
				wantApprovals = []string{approval[zone]}
			}
			if !slices.Equal(res.Approvals, wantApprovals) {
				t.Errorf("%s %s: approvals %q, want %q", zone, kind, res.Approvals, wantApprovals)
			}
			if res.SLOs[0].SLO != "api-availability" && w != Allow {
				t.Errorf("%s %s: the deciding SLO is not listed first: %+v", zone, kind, res.SLOs)
			}
		}
	}
}

func TestCheckCannotDecide(t *testing.T) {
	p := Default()
	down := state("a", "svc", "green", 1)
	down.DataUp = false
	stale := state("a", "svc", "green", 1)
	stale.EvaluatedAt = now.Add(-time.Hour)
	noBudget := State{SLO: "a", Service: "svc", DataUp: true, EvaluatedAt: now}
	strange := state("a", "svc", "purple", 0.5)
	tests := []struct {
		name   string
		req    Request
		states []State
		want   Outcome
		reason string
	}{
		{"data down", Request{Change: Feature}, []State{down}, Unknown, "slo_data_up 0"},
		{"stale", Request{Change: Feature, MaxAge: 10 * time.Minute}, []State{stale}, Unknown, "stale data: evaluated 1h0m0s ago"},
		{"stale but max age off", Request{Change: Feature}, []State{stale}, Allow, "allowed with standard approval"},
		{"no budget", Request{Change: BugFix}, []State{noBudget}, Unknown, "no valid events"},
		{"zone not in policy", Request{Change: BugFix}, []State{strange}, Unknown, `zone "purple" is not in the policy`},
		{"no SLOs at all", Request{Change: Feature}, nil, Unknown, "no SLO matches all SLOs"},
		{"unknown SLO", Request{Change: Feature, SLO: "nope"}, []State{state("a", "svc", "green", 1)}, Unknown, "no SLO matches slo nope"},
		{"unknown service", Request{Change: Feature, Service: "nope"}, []State{state("a", "svc", "green", 1)}, Unknown, "no SLO matches service nope"},
		{"unknown change kind", Request{Change: "yolo"}, []State{state("a", "svc", "green", 1)}, Unknown, `change "yolo": the policy names no such change kind`},
		// A known denial outweighs a state that cannot be read: whatever it
		// says, the change is denied.
		{"deny beats unknown", Request{Change: Feature}, []State{down, state("b", "svc", "red", -1)}, Deny, "zone red"},
		// An unknown state outweighs approvals and allows: it might deny.
		{"unknown beats approval", Request{Change: Feature}, []State{down, state("b", "svc", "yellow", 0.5)}, Unknown, "slo_data_up 0"},
		// Always-allowed kinds need no zone.
		{"security while down", Request{Change: Security}, []State{down}, Allow, "security changes are allowed in every zone (the zone is not known: data is down"},
		{"scope by slo", Request{Change: Feature, SLO: "b"}, []State{state("a", "svc", "red", -1), state("b", "svc", "green", 1)}, Allow, "1 SLO group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = now
			res := p.Check(tc.req, tc.states)
			if res.Decision != tc.want || res.ExitCode != tc.want.ExitCode() {
				t.Errorf("decision %s (exit %d), want %s: %s", res.Decision, res.ExitCode, tc.want, res.Summary)
			}
			all := res.Summary
			for _, s := range res.SLOs {
				all += "\n" + s.Reason
			}
			if !strings.Contains(all, tc.reason) {
				t.Errorf("summary and reasons %q lack %q", all, tc.reason)
			}
		})
	}
}

func TestCheckConfiguredPolicy(t *testing.T) {
	// A policy with its own kinds, approvals and exemptions: what the
	// configuration says is what the gate does.
	p := Policy{
		Zones: []Zone{
			{Name: "calm", MinRemaining: 0.5, Allow: []string{"feature", "hotfix"}},
			{Name: "storm", MinRemaining: math.Inf(-1), Allow: []string{"hotfix"}, Approval: "on-call lead", Notify: []string{"#incidents"}},
		},
		AlwaysAllow: []string{"revert"},
	}
	check := func(zone, kind string) Result {
		return p.Check(Request{Change: kind, Now: now}, []State{state("a", "s", zone, 0)})
	}
	if r := check("calm", "feature"); r.Decision != Allow {
		t.Errorf("calm feature: %+v", r)
	}
	if r := check("storm", "feature"); r.Decision != Deny {
		t.Errorf("storm feature: %+v", r)
	}
	if r := check("storm", "hotfix"); r.Decision != NeedsApproval || !slices.Equal(r.Approvals, []string{"on-call lead"}) || !slices.Equal(r.Notify, []string{"#incidents"}) {
		t.Errorf("storm hotfix: %+v", r)
	}
	if r := check("storm", "revert"); r.Decision != Allow {
		t.Errorf("storm revert: %+v", r)
	}
	// security is not exempt in this policy: the kind is unknown to it.
	if r := check("storm", "security"); r.Decision != Unknown || !strings.Contains(r.Summary, "one of revert, feature, hotfix") {
		t.Errorf("storm security: %+v", r)
	}
}

func TestResultJSONAndText(t *testing.T) {
	res := Default().Check(Request{Change: Feature, Now: now}, []State{
		{SLO: "model-api-latency", Service: "model-api", Group: map[string]string{"model": "resnet50"}, Zone: "orange",
			Remaining: ptr(0.125), DataUp: true, EvaluatedAt: now},
		state("feature-store-availability", "feature-store", "green", 0.99),
	})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Decision != Deny || back.ExitCode != 1 || back.SLOs[0].Outcome != Deny || back.SLOs[1].Outcome != Allow {
		t.Errorf("JSON round trip: %s", b)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	want := `decision: DENY (exit 1)
change:   feature
scope:    all SLOs
zone:     orange (worst)
why:      feature changes are denied: model-api-latency{model="resnet50"} zone orange: feature changes are frozen (the zone allows only bugfix, security, dataloss)
notify:   engineering manager, VP engineering

SLO                                  SERVICE        ZONE    BUDGET LEFT  DECISION  REASON
model-api-latency{model="resnet50"}  model-api      orange  12.5%        deny      zone orange: feature changes are frozen (the zone allows only bugfix, security, dataloss)
feature-store-availability           feature-store  green   99.0%        allow     zone green: feature changes are allowed with standard approval
`
	if out.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", out.String(), want)
	}
}

func ptr(v float64) *float64 { return &v }

func TestPolicyJSON(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"zones":[{"name":"green","min_remaining":0.75,"allow":["feature","bugfix","refactor"],"approval":"standard"},` +
		`{"name":"yellow","min_remaining":0.25,"allow":["feature","bugfix","refactor"],"approval":"senior engineer","notify":["engineering manager"]},` +
		`{"name":"orange","min_remaining":0,"allow":["bugfix"],"approval":"engineering manager","notify":["engineering manager","VP engineering"]},` +
		`{"name":"red","allow":[],"approval":"VP engineering","notify":["engineering manager","VP engineering","executives"]}],` +
		`"always_allow":["security","dataloss"]}`
	if string(b) != want {
		t.Errorf("JSON\n%s\nwant\n%s", b, want)
	}
	var back Policy
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Validate() != nil || back.ZoneFor(-5).Name != "red" || back.ZoneFor(0.5).Name != "yellow" {
		t.Errorf("round trip: %+v", back)
	}
}

// TestOutcomeAgreesWithCheck: the daemon's fast path gives Check's
// decision for every zone, kind, data state and scope.
func TestOutcomeAgreesWithCheck(t *testing.T) {
	p := Default()
	var states []State
	for i, z := range []string{"green", "yellow", "orange", "red", "", "purple"} {
		for _, up := range []bool{true, false} {
			st := state(fmt.Sprintf("slo-%d", i), fmt.Sprintf("svc-%d", i%3), z, 0.5)
			st.DataUp = up
			states = append(states, st)
		}
	}
	stale := state("stale", "svc-0", "green", 1)
	stale.EvaluatedAt = now.Add(-time.Hour)
	states = append(states, stale)
	for _, kind := range append(p.Kinds(), "yolo") {
		for _, scope := range []Request{{}, {Service: "svc-0"}, {Service: "svc-1"}, {Service: "svc-2"}, {SLO: "slo-2"}, {SLO: "stale"}, {Service: "none"}} {
			for _, maxAge := range []time.Duration{0, DefaultMaxAge} {
				req := scope
				req.Change, req.Now, req.MaxAge = kind, now, maxAge
				for n := 1; n <= len(states); n++ {
					if got, want := p.Outcome(req, states[:n]), p.Check(req, states[:n]).Decision; got != want {
						t.Errorf("%+v over %d states: Outcome %s, Check %s", req, n, got, want)
					}
				}
			}
		}
	}
}
