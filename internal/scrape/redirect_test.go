package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
)

// TestRedirectKeepsSecrets starts two servers on 127.0.0.1 with different
// ports: the first answers every query with a 307 to the second. The
// client is configured with basic_auth and a secret header, as
// prometheus.http_headers writes them. The query must fail, and the
// second server must never see the request, let alone the secrets.
// A redirect within the first server's origin is still followed.
func TestRedirectKeepsSecrets(t *testing.T) {
	var mu sync.Mutex
	var otherHits []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		otherHits = append(otherHits, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
	}))
	defer other.Close()
	var firstHeaders []http.Header
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		firstHeaders = append(firstHeaders, r.Header.Clone())
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/query": // to the other origin
			http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		case "/moved/api/v1/query": // within this origin
			http.Redirect(w, r, "/here/api/v1/query?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
		case "/here/api/v1/query":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer first.Close()
	if first.Listener.Addr().String() == other.Listener.Addr().String() {
		t.Fatal("the two servers share an address")
	}

	var hc config.HTTPClientConfig
	if err := yaml.Unmarshal([]byte(`
basic_auth: {username: alice, password: basic-password}
http_headers:
  X-Api-Key: {secrets: [header-secret]}
`), &hc); err != nil {
		t.Fatal(err)
	}
	hc.FollowRedirects = true // prometheus/common's default
	c, err := NewClient(ClientConfig{URL: first.URL, HTTP: hc, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.Query(ctx, "up", time.Unix(1700000000, 0))
	if err == nil || !strings.Contains(err.Error(), "refused: credentials and secret headers would go to another origin") {
		t.Fatalf("query through a cross-host redirect: %v, want the redirect refused", err)
	}
	for _, secret := range []string{"basic-password", "header-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows %q: %v", secret, err)
		}
	}
	mu.Lock()
	if len(otherHits) != 0 {
		t.Errorf("the other host received %d requests, with headers %v", len(otherHits), otherHits)
	}
	if len(firstHeaders) != 1 || firstHeaders[0].Get("X-Api-Key") != "header-secret" || firstHeaders[0].Get("Authorization") == "" {
		t.Errorf("the configured server got %v, want one request with the credentials", firstHeaders)
	}
	mu.Unlock()

	// Within one origin, redirects are followed with the credentials.
	c, err = NewClient(ClientConfig{URL: first.URL + "/moved", HTTP: hc, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Query(ctx, "up", time.Unix(1700000000, 0)); err != nil {
		t.Errorf("same-origin redirect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(firstHeaders); n != 3 || firstHeaders[2].Get("X-Api-Key") != "header-secret" {
		t.Errorf("same-origin redirect: %d requests, last headers %v", n, firstHeaders[n-1])
	}
	if len(otherHits) != 0 {
		t.Errorf("the other host received %d requests", len(otherHits))
	}
}
