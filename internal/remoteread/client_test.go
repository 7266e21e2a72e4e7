package remoteread

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
)

func TestEncodeReadRequest(t *testing.T) {
	for _, qs := range [][]Query{
		{{Start: 1, End: 2}},
		{{Start: 0, End: 0, Matchers: []Matcher{{MatchEqual, "", ""}}}},
		{
			{Start: 1_700_000_000_123, End: 1_702_678_400_999, Matchers: []Matcher{
				{MatchEqual, "__name__", "http_requests_total"}, {MatchNotEqual, "code", "200"},
				{MatchRegexp, "job", "api|web"}, {MatchNotRegexp, "path", "/health.*"},
			}},
			{Start: -5000, End: 5000, Matchers: []Matcher{{MatchEqual, "a", "ü\x00\""}}},
		},
	} {
		got, err := decodeReadRequest(encodeReadRequest(nil, qs, nil))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.queries, qs) {
			t.Errorf("queries round-trip:\n got %+v\nwant %+v", got.queries, qs)
		}
		if !reflect.DeepEqual(got.types, []uint64{responseStreamedXORChunks, responseSamples}) {
			t.Errorf("accepted response types %v, want [1 0]", got.types)
		}
	}
}

// server answers remote read requests with handler after checking the
// request's headers and decoding its body into *req.
func server(t *testing.T, req *decodedRequest, handler func(w http.ResponseWriter)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, want := range map[string]string{
			"Content-Encoding":                 "snappy",
			"Content-Type":                     "application/x-protobuf",
			"X-Prometheus-Remote-Read-Version": "0.1.0",
			"User-Agent":                       "slo-exporter",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("header %s = %q, want %q", k, got, want)
			}
		}
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		body, _ := io.ReadAll(r.Body)
		msg, err := snappy.Decode(nil, body)
		if err != nil {
			t.Errorf("request body is not snappy block format: %v", err)
		}
		if *req, err = decodeReadRequest(msg); err != nil {
			t.Errorf("decoding the request: %v", err)
		}
		handler(w)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClientRead(t *testing.T) {
	a := []Label{{"__name__", "x_total"}, {"code", "200"}}
	all := ramp(1000, 1000, 300)
	stale := math.Float64frombits(staleNaN)
	withStale := append(append([]Sample(nil), all[:10]...), Sample{11_000, stale})
	qs := []Query{{Start: 0, End: 400_000, Matchers: []Matcher{{MatchEqual, "__name__", "x_total"}}}, {Start: 5000, End: 9000}}
	var req decodedRequest

	t.Run("streamed", func(t *testing.T) {
		srv := server(t, &req, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
			w.Write(frame(encodeChunkedReadResponse(0, encodeChunkedSeries(a, xorChunk(all[:150])))))
			w.(http.Flusher).Flush()
			w.Write(frame(encodeChunkedReadResponse(0, encodeChunkedSeries(a, xorChunk(all[150:])))))
			w.Write(frame(encodeChunkedReadResponse(1, encodeChunkedSeries(a, xorChunk(withStale)))))
		})
		var got []collected
		if err := NewClient(srv.Client(), srv.URL+"/api/v1/read").Read(context.Background(), qs, collect(&got)); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(req.queries, qs) {
			t.Errorf("server got queries %+v, want %+v", req.queries, qs)
		}
		if len(got) != 2 || got[0].Query != 0 || got[1].Query != 1 {
			t.Fatalf("got %+v", got)
		}
		sameSamples(t, "query 0", got[0].Samples, all)
		sameSamples(t, "query 1", got[1].Samples, all[4:9])
	})

	t.Run("sampled", func(t *testing.T) {
		srv := server(t, &req, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Header().Set("Content-Encoding", "snappy")
			w.Write(snappy.Encode(nil, encodeReadResponse([][]Series{
				{{Labels: a, Samples: all}, {Labels: a[:1], Samples: withStale}},
				{{Labels: a, Samples: withStale}},
			})))
		})
		var got []collected
		if err := NewClient(srv.Client(), srv.URL).Read(context.Background(), qs, collect(&got)); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Query != 0 || got[1].Query != 0 || got[2].Query != 1 || !reflect.DeepEqual(got[1].Labels, a[:1]) {
			t.Fatalf("got %+v", got)
		}
		sameSamples(t, "query 0 a", got[0].Samples, all)
		sameSamples(t, "query 0 b, stale marker removed", got[1].Samples, all[:10])
		sameSamples(t, "query 1", got[2].Samples, all[4:9])
	})

	t.Run("sampled over the size limit", func(t *testing.T) {
		srv := server(t, &req, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write(snappy.Encode(nil, encodeReadResponse([][]Series{{{Labels: a, Samples: all}}})))
		})
		c := NewClient(srv.Client(), srv.URL)
		c.MaxSampledBytes = 1000
		err := c.Read(context.Background(), qs, collect(new([]collected)))
		if err == nil || !strings.Contains(err.Error(), "1000 byte limit") {
			t.Errorf("error %v, want the size limit", err)
		}
	})

	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		unsupported bool
		want        string
	}{
		{"404", 404, "text/plain", "404 page not found", true, "HTTP status 404: 404 page not found"},
		{"405", 405, "text/plain", "", true, "HTTP status 405"},
		{"501", 501, "text/plain", "", true, "HTTP status 501"},
		{"500", 500, "text/plain", strings.Repeat("x", 2000), false, "HTTP status 500: " + strings.Repeat("x", 512)},
		{"400", 400, "text/plain", "snappy: corrupt input", false, "HTTP status 400"},
		{"400 unsupported path", 400, "text/plain", `unsupported path requested: "/api/v1/read"`, true, "HTTP status 400: unsupported path"},
		{"html page", 200, "text/html; charset=utf-8", "<html>login</html>", true, `content type "text/html; charset=utf-8" is not a remote read answer`},
		{"json", 200, "application/json", `{"status":"error"}`, true, "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := server(t, &req, func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			err := NewClient(srv.Client(), srv.URL).Read(context.Background(), qs, collect(new([]collected)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.want+"x") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if IsUnsupported(err) != tc.unsupported {
				t.Errorf("IsUnsupported(%v) = %v, want %v", err, !tc.unsupported, tc.unsupported)
			}
			var se *StatusError
			if tc.status != 200 && (!errors.As(err, &se) || se.Code != tc.status || len(se.Body) > 512) {
				t.Errorf("error %#v, want a *StatusError %d with at most 512 bytes of body", err, tc.status)
			}
		})
	}

	t.Run("context cancelled mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		release := make(chan struct{})
		srv := server(t, &req, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
			w.Write(frame(encodeChunkedReadResponse(0, encodeChunkedSeries(a, xorChunk(all[:150])))))
			w.Write(frame(encodeChunkedReadResponse(0, encodeChunkedSeries(a[:1], xorChunk(all[:150])))))
			w.(http.Flusher).Flush()
			<-release // hold the stream open until the client has gone
		})
		defer close(release)
		err := NewClient(srv.Client(), srv.URL).Read(ctx, qs, func(Series) error { cancel(); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}
