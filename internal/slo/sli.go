package slo

import "strings"

// SLIKind is a way of turning source series into good and valid events.
// Its value is the kind's key under sli in the configuration and the
// sli_kind label of the exported series. The engine does not know kinds:
// it counts good and valid events whatever produced them.
type SLIKind string

// The SLI kinds. To add one, add it here and to SLIKinds, give it its
// fields and validation in config (kind_<name>.go), a case in
// internal/plan's targetOf, and, where a source format has the construct,
// a reader under internal/readers (docs/architecture.md, "Adding an SLI
// kind").
const (
	// Ratio counts events with counters: good (or bad) and valid.
	Ratio SLIKind = "ratio"
	// Latency counts requests under a threshold from a histogram, classic
	// (the le bucket and _count) or native (the buckets at or below the
	// threshold and the count).
	Latency SLIKind = "latency"
	// Threshold counts gauge samples within a bound: one valid event per
	// series and evaluation interval, good when the bound holds.
	Threshold SLIKind = "threshold"
	// Composite combines other SLOs' SLIs by weighted mean or product; it
	// reads no series of its own.
	Composite SLIKind = "composite"
)

// SLIKinds returns every SLI kind this version evaluates, in the order the
// documentation lists them.
func SLIKinds() []SLIKind {
	return []SLIKind{Ratio, Latency, Threshold, Composite}
}

// SLIKindList names every kind for messages: "ratio, latency, threshold,
// composite".
func SLIKindList() string {
	var names []string
	for _, k := range SLIKinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// Budgeting methods of an SLO (budgeting_method): how events make up the
// error budget, whatever the SLI kind.
const (
	// Occurrences budgets events: every valid event counts once, and the
	// SLI is good events / valid events. It is the default.
	Occurrences = "occurrences"
	// Timeslices budgets time: every time slice with valid events is one
	// event, good when its own good/valid ratio meets the slice's target.
	Timeslices = "timeslices"
)

// BudgetingMethods returns the budgeting methods this version understands.
func BudgetingMethods() []string { return []string{Occurrences, Timeslices} }
