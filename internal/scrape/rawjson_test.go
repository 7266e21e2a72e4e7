package scrape

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestDecodeMatrixEnvelope compares the streaming decoder with
// encoding/json on the same bodies, and checks its errors.
func TestDecodeMatrixEnvelope(t *testing.T) {
	tests := []struct {
		name, body string
		env        envelope
		err        string
	}{
		{"floats", `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"__name__":"x","job":"a\"b\\c","é":"\u00e9"},"values":[[1700000000,"1"],[1700000000.5,"2.5"],[1700000000.123,"NaN"],[1700000001.05,"+Inf"],[1700000002,"-Inf"],[1700000003,"1e+21"]]},
			{"metric":{},"values":[]}]}}`, envelope{status: "success", resultType: "matrix", hasResult: true}, ""},
		{"keys in another order, extra fields, warnings", `{"warnings":["w1"],"infos":["i1"],"data":{"extra":{"a":[1,{"b":null}]},"result":[{"values":[[2,"3"]],"metric":{"m":"1"},"other":true}],"resultType":"matrix"},"status":"success"}`,
			envelope{status: "success", resultType: "matrix", hasResult: true, warnings: []string{"w1", "i1"}}, ""},
		{"native histograms and floats", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"]],"histograms":[[2,{"count":"5","sum":"1.5","buckets":[[0,"0.5","1","3"],[0,"1","2","2"]]}]]}]}}`,
			envelope{status: "success", resultType: "matrix", hasResult: true}, ""},
		{"empty result", `{"status":"success","data":{"resultType":"matrix","result":[]}}`, envelope{status: "success", resultType: "matrix", hasResult: true}, ""},
		{"vector result", `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`,
			envelope{status: "success", resultType: "vector", hasResult: true}, ""},
		{"error envelope", `{"status":"error","errorType":"bad_data","error":"parse error"}`, envelope{status: "error", errorType: "bad_data", errMsg: "parse error"}, ""},
		{"truncated", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"]`, envelope{}, "unexpected EOF"},
		{"junk", `<html>bad gateway</html>`, envelope{}, "invalid JSON"},
		{"bad value", `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}`, envelope{}, `sample value "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got model.Matrix
			env, err := decodeMatrixEnvelope(strings.NewReader(tc.body), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(env, tc.env) {
				t.Errorf("envelope %+v, want %+v", env, tc.env)
			}
			if env.resultType != "matrix" {
				return
			}
			var ref struct {
				Data struct {
					Result model.Matrix `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(tc.body), &ref); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(ref.Data.Result) {
				t.Fatalf("%d series, encoding/json %d", len(got), len(ref.Data.Result))
			}
			for i := range got {
				g, w := got[i], ref.Data.Result[i]
				if !g.Metric.Equal(w.Metric) || len(g.Values) != len(w.Values) || !reflect.DeepEqual(g.Histograms, w.Histograms) {
					t.Fatalf("series %d: %+v, encoding/json %+v", i, g, w)
				}
				for k := range g.Values {
					gv, wv := g.Values[k], w.Values[k]
					same := gv.Value == wv.Value || (math.IsNaN(float64(gv.Value)) && math.IsNaN(float64(wv.Value)))
					if gv.Timestamp != wv.Timestamp || !same {
						t.Errorf("series %d sample %d: %v, encoding/json %v", i, k, gv, wv)
					}
				}
			}
		})
	}
}

// TestDecodeMatrixReadError keeps the reader's error distinct from a
// syntax error.
func TestDecodeMatrixReadError(t *testing.T) {
	ex := &exchange{exchangeResult: exchangeResult{limit: 1 << 20}}
	body := &meteredBody{rc: io.NopCloser(io.MultiReader(strings.NewReader(`{"status":"success","data":{"res`), errReader{})), ex: ex}
	var m model.Matrix
	if _, err := decodeMatrixEnvelope(body, &m); err == nil || !errors.Is(ex.result().readErr, errBroken) {
		t.Errorf("err %v, reader err %v", err, ex.result().readErr)
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

// BenchmarkDecodeMatrix measures the streaming decoder on a body of 4
// series x 25,000 samples, alone and through the client, against the
// client's v1 API path on the same body (rawjson.go quotes the ratios).
func BenchmarkDecodeMatrix(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for s := 0; s < 4; s++ {
		if s > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"metric":{"__name__":"x","job":"j","model":"m` + string(rune('0'+s)) + `"},"values":[`)
		for k := 0; k < 25000; k++ {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`[` + strconv.Itoa(1700000000+k) + `.5,"` + strconv.Itoa(k*37) + `"]`)
		}
		sb.WriteString(`]}`)
	}
	sb.WriteString(`]}}`)
	body := sb.String()
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m model.Matrix
			if _, err := decodeMatrixEnvelope(strings.NewReader(body), &m); err != nil || len(m[3].Values) != 25000 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/sample")
	})
	// The same body served over HTTP, read by the client's two paths:
	// the v1 API (read whole, decoded by client_golang) and the stream.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	c, err := NewClient(ClientConfig{URL: srv.URL, Retries: -1})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Unix(1700030000, 0)
	b.Run("client-stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if m, err := c.RawSamples(context.Background(), "x", at.Add(-time.Hour*24), at); err != nil || len(m[3].Values) != 25000 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/sample")
	})
	b.Run("client-v1-api", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			v, _, _, err := c.api.Query(context.Background(), "x", at)
			if m, ok := v.(model.Matrix); err != nil || !ok || len(m[3].Values) != 25000 {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100000, "ns/sample")
	})
}
