package remoteread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// MatchType is a label matcher's type, numbered as in the protocol.
type MatchType int

// The matcher types.
const (
	// MatchEqual selects label values equal to Value (=).
	MatchEqual MatchType = iota
	// MatchNotEqual selects label values other than Value (!=).
	MatchNotEqual
	// MatchRegexp selects label values fully matching the regular expression Value (=~).
	MatchRegexp
	// MatchNotRegexp selects label values not fully matching Value (!~).
	MatchNotRegexp
)

// Matcher is a label matcher: Name, compared with Value by Type. An absent
// label has the empty value, as in PromQL.
type Matcher struct {
	Type        MatchType
	Name, Value string
}

// Query asks for the samples of the series its matchers select with
// timestamps in [Start, End] (Unix milliseconds, both inclusive).
type Query struct {
	Start, End int64
	Matchers   []Matcher
}

// Label is one label of a series.
type Label struct {
	Name, Value string
}

// Sample is one raw sample: T in Unix milliseconds, V its value.
type Sample struct {
	T int64
	V float64
}

// Series is one series' samples in one query's answer. Query is the index
// of the query in the slice given to Read.
type Series struct {
	Query   int
	Labels  []Label
	Samples []Sample
}

// DefaultMaxSampledBytes caps the decompressed size of a sampled (not
// streamed) answer, which has to be held in memory whole.
const DefaultMaxSampledBytes = 512 << 20

// Content types of the answers.
const (
	streamedType = "application/x-streamed-protobuf"
	streamedMsg  = "prometheus.ChunkedReadResponse"
	sampledType  = "application/x-protobuf"
)

// Client reads samples through a remote read endpoint. It is safe for
// concurrent use.
type Client struct {
	hc  *http.Client
	url string

	// MaxFrameBytes caps one frame of a streamed answer;
	// DefaultMaxFrameBytes when 0.
	MaxFrameBytes int
	// MaxSampledBytes caps a sampled answer (compressed and
	// decompressed); DefaultMaxSampledBytes when 0.
	MaxSampledBytes int

	// keepStale keeps staleness markers, for tests that prove they were
	// there to remove.
	keepStale bool
	// accept overrides the accepted response types, for tests that make
	// a real server answer with samples.
	accept []byte
}

// NewClient returns a Client for the endpoint's full URL, e.g.
// http://127.0.0.1:9090/api/v1/read. hc carries authentication, TLS,
// headers and timeouts (the caller's configured client); nil means
// http.DefaultClient.
func NewClient(hc *http.Client, url string) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{hc: hc, url: url}
}

// StatusError is an answer whose HTTP status is not 200.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// Body is the start of the answer's body (at most 512 bytes).
	Body string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("remote read: HTTP status %d: %s", e.Code, strings.TrimSpace(e.Body))
}

// ContentTypeError is a 200 answer that is neither a streamed nor a
// sampled remote read answer: the endpoint does not speak remote read
// (a proxy's HTML page, a server without the endpoint).
type ContentTypeError struct {
	// ContentType is the answer's Content-Type header.
	ContentType string
	// Body is the start of the answer's body (at most 512 bytes).
	Body string
}

// Error implements error.
func (e *ContentTypeError) Error() string {
	return fmt.Sprintf("remote read: answer of content type %q is not a remote read answer: %q", e.ContentType, e.Body)
}

// EncodingError is a series whose chunks use an encoding this package does
// not decode (native histograms, or an encoding newer than it).
type EncodingError struct {
	// Encoding names the chunk encoding, e.g. "HISTOGRAM".
	Encoding string
	// Labels are the series' labels.
	Labels []Label
}

// Error implements error.
func (e *EncodingError) Error() string {
	return fmt.Sprintf("remote read: series %s: chunk encoding %s is not supported (float XOR chunks only)", formatLabels(e.Labels), e.Encoding)
}

// IsUnsupported reports whether err means that remote read cannot serve
// this read and the caller should use PromQL instead: HTTP status 404, 405
// or 501; status 400 with "unsupported path" in the body (how
// VictoriaMetrics answers a path it does not serve); an answer that is not
// a remote read answer (*ContentTypeError); or a series in a chunk
// encoding this package does not decode (*EncodingError).
func IsUnsupported(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
			return true
		case http.StatusBadRequest:
			return strings.Contains(se.Body, "unsupported path")
		}
		return false
	}
	var ce *ContentTypeError
	var ee *EncodingError
	return errors.As(err, &ce) || errors.As(err, &ee)
}

// Read sends one request holding all of qs and calls fn once per (query,
// series), in the server's order, as the answer streams in.
//
// The request asks for streamed XOR chunks and accepts plain samples; both
// answers are decoded. The samples fn sees for a series are those a PromQL
// range selector over [Start, End] returns: inside the interval, in time
// order, staleness markers removed, other NaNs kept bit for bit. A series
// the server sends (its chunks overlap the interval) with no such sample
// is not handed to fn, as a range selector would not return it.
//
// An empty qs sends nothing and returns nil; a query whose End is before
// its Start is an error.
//
// fn's Series (its Labels and Samples) belongs to Read and is reused after
// fn returns: copy what must be kept. An error from fn stops the read and
// is returned as it is. Cancelling ctx stops the read. Errors:
// *StatusError for an HTTP status other than 200, *ContentTypeError for an
// answer that is not remote read, *EncodingError for a non-float chunk,
// *FrameError for a malformed streamed answer (see IsUnsupported).
func (c *Client) Read(ctx context.Context, qs []Query, fn func(Series) error) error {
	if len(qs) == 0 {
		return nil
	}
	for i, q := range qs {
		if q.End < q.Start {
			return fmt.Errorf("remote read: query %d: end %d before start %d", i, q.End, q.Start)
		}
	}
	body := snappy.Encode(nil, encodeReadRequest(nil, qs, c.accept))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("remote read: %w", err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Read-Version", "0.1.0")
	req.Header.Set("User-Agent", "slo-exporter")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("remote read: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &StatusError{Code: resp.StatusCode, Body: string(head(resp.Body))}
	}
	ct := resp.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == streamedType && (params["proto"] == "" || params["proto"] == streamedMsg):
		maxFrame := c.MaxFrameBytes
		if maxFrame <= 0 {
			maxFrame = DefaultMaxFrameBytes
		}
		err = decodeStream(resp.Body, qs, maxFrame, c.keepStale, fn)
	case mt == sampledType:
		maxBytes := c.MaxSampledBytes
		if maxBytes <= 0 {
			maxBytes = DefaultMaxSampledBytes
		}
		err = decodeSampled(resp.Body, qs, maxBytes, c.keepStale, fn)
	default:
		return &ContentTypeError{ContentType: ct, Body: string(head(resp.Body))}
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("remote read: %w (%v)", ctx.Err(), err)
	}
	return err
}

// head returns the first 512 bytes of r.
func head(r io.Reader) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, 512))
	return b
}

// decodeSampled decodes a sampled answer: a snappy-compressed
//
//	ReadResponse { repeated QueryResult results = 1; }
//	QueryResult { repeated TimeSeries timeseries = 1; }
//	TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; }
//	Sample { double value = 1; int64 timestamp = 2; }
//
// where results[i] answers query i.
func decodeSampled(r io.Reader, qs []Query, max int, keepStale bool, fn func(Series) error) error {
	compressed, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return fmt.Errorf("remote read: reading the sampled answer: %w", err)
	}
	if len(compressed) > max {
		return fmt.Errorf("remote read: sampled answer exceeds the %d byte limit", max)
	}
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return fmt.Errorf("remote read: sampled answer: snappy: %w", err)
	}
	if n > max {
		return fmt.Errorf("remote read: sampled answer decompresses to %d bytes, over the %d byte limit", n, max)
	}
	msg, err := snappy.Decode(nil, compressed)
	if err != nil {
		return fmt.Errorf("remote read: sampled answer: snappy: %w", err)
	}
	b := &seriesBuilder{qs: qs, fn: fn, keepStale: keepStale}
	var samples []Sample
	qi := 0
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return fmt.Errorf("remote read: sampled answer: %w", err)
		}
		msg = rest
		if f.num != 1 || f.typ != protowire.BytesType {
			continue
		}
		if qi >= len(qs) {
			return fmt.Errorf("remote read: sampled answer has more than the %d results asked for", len(qs))
		}
		result := f.b
		for len(result) > 0 {
			f, rest, err := nextField(result)
			if err != nil {
				return fmt.Errorf("remote read: sampled answer, result %d: %w", qi, err)
			}
			result = rest
			if f.num != 1 || f.typ != protowire.BytesType {
				continue
			}
			if err := b.flush(); err != nil {
				return err
			}
			b.open, b.sorted, b.hasLast = true, true, false
			b.cur.Query = qi
			b.cur.Labels, b.cur.Samples, samples = b.cur.Labels[:0], b.cur.Samples[:0], samples[:0]
			if samples, err = decodeTimeSeries(f.b, b, samples); err != nil {
				return fmt.Errorf("remote read: sampled answer, result %d: %w", qi, err)
			}
			b.addSamples(samples, qs[qi])
		}
		qi++
	}
	return b.flush()
}

// decodeTimeSeries decodes a TimeSeries into b.cur.Labels and samples.
func decodeTimeSeries(msg []byte, b *seriesBuilder, samples []Sample) ([]Sample, error) {
	var histograms bool
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return samples, err
		}
		msg = rest
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			if b.cur.Labels, err = decodeLabel(f.b, b.cur.Labels); err != nil {
				return samples, err
			}
		case 2:
			var s Sample
			for m := f.b; len(m) > 0; {
				sf, rest, err := nextField(m)
				if err != nil {
					return samples, fmt.Errorf("sample: %w", err)
				}
				m = rest
				switch {
				case sf.num == 1 && sf.typ == protowire.Fixed64Type:
					s.V = math.Float64frombits(sf.v)
				case sf.num == 2 && sf.typ == protowire.VarintType:
					s.T = int64(sf.v)
				}
			}
			samples = append(samples, s)
		case 4:
			histograms = true
		}
	}
	if histograms {
		return samples, &EncodingError{Encoding: "HISTOGRAM (sampled answer)", Labels: append([]Label(nil), b.cur.Labels...)}
	}
	return samples, nil
}

// formatLabels renders labels as {a="x", b="y"} for messages.
func formatLabels(ls []Label) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(l.Name)
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(l.Value))
	}
	sb.WriteByte('}')
	return sb.String()
}
