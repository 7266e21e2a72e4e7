package remoteread

import (
	"encoding/binary"
	"hash/crc32"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Test-only encoders of the answers and a decoder of the request, written
// from the message definitions documented in proto.go.

type testChunk struct {
	minT, maxT int64
	encoding   uint64
	data       []byte
}

func xorChunk(s []Sample) testChunk {
	return testChunk{s[0].T, s[len(s)-1].T, encodingXOR, encodeXOR(s)}
}

func appendLabels(b []byte, ls []Label) []byte {
	for _, l := range ls {
		var m []byte
		m = appendStringField(m, 1, l.Name)
		m = appendStringField(m, 2, l.Value)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

func encodeChunkedSeries(ls []Label, chunks ...testChunk) []byte {
	b := appendLabels(nil, ls)
	for _, c := range chunks {
		var m []byte
		m = appendInt64Field(m, 1, c.minT)
		m = appendInt64Field(m, 2, c.maxT)
		m = appendInt64Field(m, 3, int64(c.encoding))
		m = protowire.AppendTag(m, 4, protowire.BytesType)
		m = protowire.AppendBytes(m, c.data)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

func encodeChunkedReadResponse(qi int, series ...[]byte) []byte {
	var b []byte
	for _, s := range series {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	return appendInt64Field(b, 2, int64(qi))
}

// frame wraps msg as one frame: uvarint length, CRC-32C big-endian, msg.
func frame(msg []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(msg)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(msg, castagnoli))
	return append(b, msg...)
}

// encodeReadResponse builds a sampled answer (before snappy).
func encodeReadResponse(results [][]Series) []byte {
	var b []byte
	for _, res := range results {
		var qr []byte
		for _, s := range res {
			ts := appendLabels(nil, s.Labels)
			for _, x := range s.Samples {
				var m []byte
				m = protowire.AppendTag(m, 1, protowire.Fixed64Type)
				m = protowire.AppendFixed64(m, math.Float64bits(x.V))
				m = appendInt64Field(m, 2, x.T)
				ts = protowire.AppendTag(ts, 2, protowire.BytesType)
				ts = protowire.AppendBytes(ts, m)
			}
			qr = protowire.AppendTag(qr, 1, protowire.BytesType)
			qr = protowire.AppendBytes(qr, ts)
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, qr)
	}
	return b
}

// decodedRequest is a ReadRequest as a server sees it.
type decodedRequest struct {
	queries []Query
	types   []uint64
}

// decodeReadRequest decodes a ReadRequest, accepting packed and unpacked
// response types, as a server would.
func decodeReadRequest(msg []byte) (decodedRequest, error) {
	var r decodedRequest
	for len(msg) > 0 {
		f, rest, err := nextField(msg)
		if err != nil {
			return r, err
		}
		msg = rest
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			var q Query
			for m := f.b; len(m) > 0; {
				qf, rest, err := nextField(m)
				if err != nil {
					return r, err
				}
				m = rest
				switch qf.num {
				case 1:
					q.Start = int64(qf.v)
				case 2:
					q.End = int64(qf.v)
				case 3:
					var mt Matcher
					for mm := qf.b; len(mm) > 0; {
						mf, rest, err := nextField(mm)
						if err != nil {
							return r, err
						}
						mm = rest
						switch mf.num {
						case 1:
							mt.Type = MatchType(mf.v)
						case 2:
							mt.Name = string(mf.b)
						case 3:
							mt.Value = string(mf.b)
						}
					}
					q.Matchers = append(q.Matchers, mt)
				}
			}
			r.queries = append(r.queries, q)
		case f.num == 2 && f.typ == protowire.VarintType:
			r.types = append(r.types, f.v)
		case f.num == 2 && f.typ == protowire.BytesType:
			for p := f.b; len(p) > 0; {
				v, n := protowire.ConsumeVarint(p)
				if n < 0 {
					return r, protowire.ParseError(n)
				}
				r.types = append(r.types, v)
				p = p[n:]
			}
		}
	}
	return r, nil
}
