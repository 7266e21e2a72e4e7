package export

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestPush(t *testing.T) {
	got := make(chan string, 10)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		got <- r.Method + " " + r.Header.Get("X-Scope-OrgID") + "\n" + string(b)
	}))
	defer rcv.Close()

	s := newServer(t, fixtureStore(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Push(ctx, rcv.URL+"/api/v1/import/prometheus", 20*time.Millisecond, []string{"X-Scope-OrgID: ml"})
	}()
	var body string
	select {
	case body = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no push received")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, "POST ml\n") {
		t.Errorf("push request: %.40q, want a POST with the header", body)
	}
	parse(t, body[strings.IndexByte(body, '\n')+1:])
	if !strings.Contains(body, `slo_burn_alert{slo="model-api-availability",service="model-api",model="resnet50",alert_tier="fast"`) {
		t.Errorf("pushed body lacks the slo_* series:\n%.2000s", body)
	}
	if err := s.Push(context.Background(), "ftp://x", time.Second, nil); err == nil {
		t.Error("Push to an ftp URL succeeded")
	}
}
