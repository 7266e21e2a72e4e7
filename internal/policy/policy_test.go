package policy

import (
	"math"
	"testing"
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
	if want := "zone orange (10.0% of budget left) allows bugfix; feature changes are frozen"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
	d = p.Decide("api", -0.5, BugFix)
	if want := "zone red (-50.0% of budget left) allows nothing but security and dataloss; bugfix changes are frozen"; d.Reason != want {
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
