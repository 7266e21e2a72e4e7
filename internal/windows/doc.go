// Package windows keeps time-bucketed good and valid event counts for one
// SLO group and answers exact window sums from them.
//
// # Buckets and tiers
//
// Events are stored in up to three ring buffers ("tiers") of fixed-size
// buckets, so memory depends on the layout (interval, period, windows) and
// never on traffic:
//
//   - fine: one bucket per evaluation interval (default 30s), spanning up to
//     6h (720 buckets at 30s);
//   - mid: 5m buckets spanning up to 3d (864 buckets), present only when a
//     window is longer than 6h;
//   - coarse: 1h buckets spanning the longest window (720 buckets for 30d,
//     2160 for 90d), present only when a window is longer than 3d.
//
// Every increment is added to every tier. A bucket k of resolution R holds
// the events of the half-open interval (k·R, (k+1)·R]; an increment that
// covers (from, to] is attributed to the bucket that contains to.
//
// # Window sums and their error bound
//
// A window W evaluated at time t covers (t-W, t]. It is answered by the
// finest tier whose span holds it. The part of the window that is covered by
// whole buckets, including the newest bucket that is still filling, is exact.
// Only the oldest bucket, which straddles t-W, is partial; its events are
// counted pro rata of the overlap. Hence, for every window,
//
//	|sum - exact| <= events recorded in the single bucket containing t-W
//
// which is zero for windows on the fine tier when t and W are multiples of
// the interval (the 5m..6h windows of the daemon: exact), at most one 5m
// bucket's events for windows of 6h..3d, and at most one hour's events for
// longer windows (for a 30d window: 1/720 of the period's events under
// uniform traffic, and typically far less because the error of the pro-rata
// share is two-sided).
//
// # Coverage
//
// Recording (from, to] also marks that interval as seen. A window's coverage
// is the seen share of its length: after a cold start or a source outage that
// was not backfilled, coverage is below 1 and says by how much.
//
// # Cost
//
// Sums are kept as running totals per window and updated incrementally, so
// one evaluation costs O(windows) per group in steady state, with no
// allocation. A Counts is not safe for concurrent use.
package windows
