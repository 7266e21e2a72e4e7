package scrape

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/prometheus/common/model"
)

// FuzzRawJSON feeds arbitrary bytes to the streaming decoder of raw-sample
// responses: it must never panic, and when it decodes a matrix from a
// valid JSON body that encoding/json also decodes (through the model
// types' own unmarshalers), both give the same series, samples and
// histograms. encoding/json also matches field names whatever their case
// ("Metric", "VALUES"); the API spells them exactly and the decoder reads
// only the exact names, so bodies with other spellings are not compared.
func FuzzRawJSON(f *testing.F) {
	for _, seed := range []string{
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","job":"a"},"values":[[1700000000,"1"],[1700000000.5,"2.5"],[1700000001.123,"NaN"],[1700000002,"+Inf"]]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"1"]],"histograms":[[2,{"count":"5","sum":"1.5","buckets":[[0,"0.5","1","3"]]}]]}]}}`,
		`{"warnings":["w"],"data":{"result":[{"values":[[2,"3"]],"metric":{"m":"\u00e9\"\\"}}],"resultType":"matrix"},"status":"success"}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"2"]}]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":null}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}`,
		`<html>bad gateway</html>`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got model.Matrix
		env, err := decodeMatrixEnvelope(bytes.NewReader(body), &got)
		if err != nil || env.resultType != "matrix" || !json.Valid(body) || otherCase(body) {
			return
		}
		var ref struct {
			Data struct {
				ResultType string       `json:"resultType"`
				Result     model.Matrix `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &ref) != nil || ref.Data.ResultType != "matrix" {
			return
		}
		want := ref.Data.Result
		if len(got) != len(want) {
			t.Fatalf("%d series, encoding/json %d", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !g.Metric.Equal(w.Metric) || len(g.Values) != len(w.Values) || len(g.Histograms) != len(w.Histograms) {
				t.Fatalf("series %d: %+v, encoding/json %+v", i, g, w)
			}
			for k := range g.Values {
				gv, wv := g.Values[k], w.Values[k]
				same := gv.Value == wv.Value || (math.IsNaN(float64(gv.Value)) && math.IsNaN(float64(wv.Value)))
				if gv.Timestamp != wv.Timestamp || !same {
					t.Fatalf("series %d sample %d: %v, encoding/json %v", i, k, gv, wv)
				}
			}
			for k := range g.Histograms {
				if !reflect.DeepEqual(g.Histograms[k], w.Histograms[k]) && !g.Histograms[k].Equal(&w.Histograms[k]) {
					t.Fatalf("series %d histogram %d: %v, encoding/json %v", i, k, g.Histograms[k], w.Histograms[k])
				}
			}
		}
	})
}

// apiKeys are the field names of a matrix response that encoding/json
// would also match in another case.
var apiKeys = []string{"status", "data", "resulttype", "result", "metric", "values", "histograms"}

// otherCase reports whether body spells one of apiKeys in another case
// than the API does (counting each spelling's quoted occurrences).
func otherCase(body []byte) bool {
	lower := bytes.ToLower(body)
	for _, k := range apiKeys {
		exact := k
		if k == "resulttype" {
			exact = "resultType"
		}
		if bytes.Count(lower, []byte(`"`+k+`"`)) != bytes.Count(body, []byte(`"`+exact+`"`)) {
			return true
		}
	}
	return false
}
