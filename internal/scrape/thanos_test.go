package scrape

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/config"

	"github.com/slo-exporter/slo-exporter/internal/promtest"
)

// thanosTenant is the tenant of the Prometheus behind Thanos: its external
// label tenant_id, which the querier enforces from the X-Scope-OrgID
// header.
const thanosTenant = "team-a"

// thanosTenancy makes the querier take the tenant from X-Scope-OrgID and
// answer only with series whose tenant_id label is that tenant (a query
// without the header is the tenant "default-tenant").
var thanosTenancy = []string{"--query.tenant-header=X-Scope-OrgID", "--query.enforce-tenancy", "--query.tenant-label-name=tenant_id"}

// withTenantLabel adds global.external_labels {tenant_id: thanosTenant} to a
// Prometheus configuration whose first line is "global:": the sidecar
// requires external labels, and the querier enforces this one.
func withTenantLabel(cfg string) string {
	return strings.Replace(cfg, "global:\n", "global:\n  external_labels:\n    tenant_id: "+thanosTenant+"\n", 1)
}

// tenantClient is a client of url that sends X-Scope-OrgID: tenant through
// its http_headers.
func tenantClient(t *testing.T, url, tenant string) *Client {
	t.Helper()
	hc := config.DefaultHTTPClientConfig
	hc.HTTPHeaders = &config.Headers{Headers: map[string]config.Header{"X-Scope-OrgID": {Values: []string{tenant}}}}
	c, err := NewClient(ClientConfig{URL: url, HTTP: hc, Timeout: 20 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requireThanos skips the test unless THANOS names a thanos binary.
func requireThanos(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Prometheus and Thanos")
	}
	if os.Getenv("THANOS") == "" {
		t.Skip("set THANOS to a thanos binary (scripts/install-thanos.sh builds v0.42.5) to run the proofs through Thanos")
	}
}

// checkTenancy proves that the querier sees the client's X-Scope-OrgID:
// expr has a result for thanosTenant's header and none for another
// tenant's.
func checkTenancy(t *testing.T, url, expr string, at time.Time) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range []struct {
		tenant string
		want   bool
	}{{thanosTenant, true}, {"team-b", false}} {
		v, err := tenantClient(t, url, tc.tenant).Query(ctx, expr, at)
		if err != nil {
			t.Fatal(err)
		}
		if (len(v) > 0) != tc.want {
			t.Errorf("X-Scope-OrgID %s: %s = %v, want a result: %v", tc.tenant, expr, v, tc.want)
		}
	}
}

// TestRawSampleProofThanos is TestRawSampleProof with the exporter's
// client on a Thanos querier over a sidecar next to the Prometheus that
// scrapes the live source, sending the tenant header the querier enforces:
// every window after every tick equals the raw-sample truth read from
// Prometheus itself (counter resets between ticks, a late series, a scrape
// gap), and backfills through Thanos equal ticking.
func TestRawSampleProofThanos(t *testing.T) {
	requireThanos(t)
	src := newLiveCounters()
	hs := httptest.NewServer(src)
	defer hs.Close()
	prom := promtest.Start(t, promtest.Options{ConfigYAML: withTenantLabel(liveScrapeConfig(hs.URL))})
	th := promtest.StartThanos(t, prom, promtest.ThanosOptions{QueryArgs: thanosTenancy})
	client := tenantClient(t, th.URL, thanosTenant)
	runRawSampleProof(t, src, prom, client, 2*time.Second)
	checkTenancy(t, th.URL, "count("+liveValid+")", time.Now())
}

// TestCoarseBackfillThanos is TestCoarseBackfillHostile through a Thanos
// querier over a sidecar next to the Prometheus that serves the hostile
// history, with the tenant header the querier enforces: the backfill from
// boundary values equals the raw backfill in every window, and both equal
// the raw backfill from Prometheus directly.
func TestCoarseBackfillThanos(t *testing.T) {
	requireThanos(t)
	promtool := promtest.Binary(t, "promtool", "PROMTOOL")
	end := historyEnd
	series := hostileSeries(end)
	dir := filepath.Join(t.TempDir(), "data")
	createBlocksByDay(t, promtool, series, dir)
	prom := promtest.Start(t, promtest.Options{DataDir: dir, ConfigYAML: withTenantLabel(promtest.DefaultConfigYAML)})
	th := promtest.StartThanos(t, prom, promtest.ThanosOptions{QueryArgs: thanosTenancy})
	checkTenancy(t, th.URL, `count(count_over_time(hostile_requests_total[1h]))`, end)

	coarse, raw := checkCoarseEqualsRaw(t, tenantClient(t, th.URL, thanosTenant), end, true)
	if !coarse.coarseUsed() {
		t.Errorf("Thanos: no slot read from boundary values")
	}
	direct := backfillHostile(t, newTestClient(t, prom.URL), end, true)
	sameSnapshots(t, raw.snap, direct.snap)
}
