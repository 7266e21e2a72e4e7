package remoteread

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The protobuf messages of remote read, encoded and decoded by hand with
// protowire (see the package documentation for why). Field numbers follow
// Prometheus' prompb/remote.proto and prompb/types.proto.

// Response types of ReadRequest.accepted_response_types.
const (
	responseSamples           = 0
	responseStreamedXORChunks = 1
)

// Chunk encodings of Chunk.type.
const (
	encodingUnknown        = 0
	encodingXOR            = 1
	encodingHistogram      = 2
	encodingFloatHistogram = 3
)

// encodingName names a chunk encoding for error messages.
func encodingName(e uint64) string {
	switch e {
	case encodingUnknown:
		return "UNKNOWN"
	case encodingXOR:
		return "XOR"
	case encodingHistogram:
		return "HISTOGRAM"
	case encodingFloatHistogram:
		return "FLOAT_HISTOGRAM"
	}
	return fmt.Sprintf("encoding %d", e)
}

// encodeReadRequest appends the ReadRequest for qs to b:
//
//	ReadRequest { repeated Query queries = 1; repeated ResponseType accepted_response_types = 2 (packed); }
//	Query { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2; repeated LabelMatcher matchers = 3; }
//	LabelMatcher { Type type = 1; string name = 2; string value = 3; }
//
// accept lists the accepted response types, best first; nil means
// streamed XOR chunks, then samples.
func encodeReadRequest(b []byte, qs []Query, accept []byte) []byte {
	for _, q := range qs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(queryLen(q)))
		b = appendInt64Field(b, 1, q.Start)
		b = appendInt64Field(b, 2, q.End)
		for _, m := range q.Matchers {
			b = protowire.AppendTag(b, 3, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(matcherLen(m)))
			b = appendInt64Field(b, 1, int64(m.Type))
			b = appendStringField(b, 2, m.Name)
			b = appendStringField(b, 3, m.Value)
		}
	}
	if accept == nil {
		accept = []byte{responseStreamedXORChunks, responseSamples}
	}
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, accept) // packed varints, each one byte
	return b
}

// queryLen is the encoded size of a Query message's body.
func queryLen(q Query) int {
	n := int64FieldLen(1, q.Start) + int64FieldLen(2, q.End)
	for _, m := range q.Matchers {
		l := matcherLen(m)
		n += protowire.SizeTag(3) + protowire.SizeBytes(l)
	}
	return n
}

// matcherLen is the encoded size of a LabelMatcher message's body.
func matcherLen(m Matcher) int {
	return int64FieldLen(1, int64(m.Type)) + stringFieldLen(2, m.Name) + stringFieldLen(3, m.Value)
}

// appendInt64Field appends a varint field, omitted when zero as proto3 does.
func appendInt64Field(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func int64FieldLen(num protowire.Number, v int64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(uint64(v))
}

// appendStringField appends a string field, omitted when empty.
func appendStringField(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func stringFieldLen(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

// field is one decoded field of a message: its number and type, and its
// value as a varint (v), 64-bit fixed (v) or length-delimited bytes (b).
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// nextField decodes the field at the start of msg and returns it and the
// rest of msg. Groups and 32-bit fields, which the remote read messages do
// not use, are skipped over as unknown fields by the callers.
func nextField(msg []byte) (field, []byte, error) {
	num, typ, n := protowire.ConsumeTag(msg)
	if n < 0 {
		return field{}, nil, fmt.Errorf("bad field tag: %w", protowire.ParseError(n))
	}
	msg = msg[n:]
	f := field{num: num, typ: typ}
	switch typ {
	case protowire.VarintType:
		f.v, n = protowire.ConsumeVarint(msg)
	case protowire.Fixed64Type:
		f.v, n = protowire.ConsumeFixed64(msg)
	case protowire.BytesType:
		f.b, n = protowire.ConsumeBytes(msg)
	default:
		n = protowire.ConsumeFieldValue(num, typ, msg)
	}
	if n < 0 {
		return field{}, nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
	}
	return f, msg[n:], nil
}

// decodeLabel decodes a Label { string name = 1; string value = 2; } and
// appends it to ls.
func decodeLabel(msg []byte, ls []Label) ([]Label, error) {
	var l Label
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return ls, fmt.Errorf("label: %w", err)
		}
		msg = rest
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			l.Name = string(f.b)
		case 2:
			l.Value = string(f.b)
		}
	}
	return append(ls, l), nil
}

// labelsEqualEncoded reports whether the Label messages raw (each a
// length-delimited field 1 body, as collected by decodeChunkedSeries)
// decode to ls, without allocating.
func labelsEqualEncoded(raw [][]byte, ls []Label) bool {
	if len(raw) != len(ls) {
		return false
	}
	for i, msg := range raw {
		var name, value []byte
		for len(msg) > 0 {
			f, rest, err := nextField(msg)
			if err != nil {
				return false
			}
			msg = rest
			if f.typ != protowire.BytesType {
				continue
			}
			switch f.num {
			case 1:
				name = f.b
			case 2:
				value = f.b
			}
		}
		if string(name) != ls[i].Name || string(value) != ls[i].Value {
			return false
		}
	}
	return true
}

// chunk is a decoded Chunk { int64 min_time_ms = 1; int64 max_time_ms = 2;
// Encoding type = 3; bytes data = 4; }.
type chunk struct {
	minT, maxT int64
	encoding   uint64
	data       []byte
}

// decodeChunk decodes a Chunk message.
func decodeChunk(msg []byte) (chunk, error) {
	var c chunk
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return c, fmt.Errorf("chunk: %w", err)
		}
		msg = rest
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			c.minT = int64(f.v)
		case f.num == 2 && f.typ == protowire.VarintType:
			c.maxT = int64(f.v)
		case f.num == 3 && f.typ == protowire.VarintType:
			c.encoding = f.v
		case f.num == 4 && f.typ == protowire.BytesType:
			c.data = f.b
		}
	}
	return c, nil
}

// chunkedSeries is a ChunkedSeries { repeated Label labels = 1; repeated
// Chunk chunks = 2; } with its fields still encoded; the byte slices point
// into the frame.
type chunkedSeries struct {
	labels [][]byte
	chunks [][]byte
}

// decodeChunkedSeries splits a ChunkedSeries message into its labels and
// chunks, reusing s's slices.
func decodeChunkedSeries(msg []byte, s *chunkedSeries) error {
	s.labels, s.chunks = s.labels[:0], s.chunks[:0]
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return fmt.Errorf("series: %w", err)
		}
		msg = rest
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case 1:
			s.labels = append(s.labels, f.b)
		case 2:
			s.chunks = append(s.chunks, f.b)
		}
	}
	return nil
}

// chunkedReadResponse is a ChunkedReadResponse { repeated ChunkedSeries
// chunked_series = 1; int64 query_index = 2; } with its series still
// encoded.
type chunkedReadResponse struct {
	queryIndex int64
	series     [][]byte
}

// decodeChunkedReadResponse splits a frame's message, reusing r's slice.
func decodeChunkedReadResponse(msg []byte, r *chunkedReadResponse) error {
	r.queryIndex, r.series = 0, r.series[:0]
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return err
		}
		msg = rest
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			r.series = append(r.series, f.b)
		case f.num == 2 && f.typ == protowire.VarintType:
			r.queryIndex = int64(f.v)
		}
	}
	return nil
}
