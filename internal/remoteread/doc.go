// Package remoteread reads raw float samples from Prometheus through its
// remote read endpoint (POST /api/v1/read) instead of PromQL.
//
// Why: a start-up backfill reads weeks of raw counter samples. Answered
// through PromQL and JSON, Prometheus decodes every chunk, builds a matrix
// and renders each sample as text. Asked through remote read for the
// streamed chunk response type, it copies the compressed TSDB chunks it
// already stores into the answer, and this package decodes them.
//
// # The exchange
//
// The request body is a protobuf ReadRequest compressed with snappy's block
// format. It holds one Query per selector (a start and end in Unix
// milliseconds, both inclusive, and label matchers) and the response types
// the client accepts, best first: STREAMED_XOR_CHUNKS, then SAMPLES.
//
// A server that streams answers with the content type
// "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse".
// Its body is a sequence of frames, each made of
//
//   - the length of the message as an unsigned varint,
//   - the CRC-32 (Castagnoli polynomial) of the message, 4 bytes big-endian,
//   - a ChunkedReadResponse message: the index of the query it answers and
//     series, each with its labels and chunks.
//
// A series with many chunks may be spread over consecutive frames that
// repeat its query index and labels; Read joins them so that its callback
// sees every series once per query. Chunks are whole TSDB chunks: they
// may hold samples before the query's start or after its end, which Read
// drops.
//
// A server that ignores the streamed type (older or other implementations)
// answers "application/x-protobuf": one snappy-compressed ReadResponse
// holding, per query, series with their samples. Read decodes that too.
//
// # Chunks
//
// Only float chunks in the XOR encoding (Gorilla compression: timestamps as
// deltas of deltas in variable-width buckets, values XORed with the
// previous value and stored as the meaningful bits only) are supported. A
// native histogram chunk, or any encoding this package does not know,
// stops the read with an *EncodingError; callers then read that selector
// with PromQL.
//
// # Samples
//
// The samples Read hands out are those a PromQL range selector over the
// same interval returns: timestamps in [Start, End], in time order, with
// Prometheus' staleness markers (the NaN with bit pattern
// 0x7ff0000000000002) removed. Any other NaN is kept with its bits.
//
// # Falling back
//
// Not every Prometheus-compatible server serves remote read
// (VictoriaMetrics answers 400 "unsupported path", proxies may answer an
// HTML page). IsUnsupported tells such errors, and non-float chunks, from
// real failures, so that the caller reads with PromQL instead.
//
// # Hand-written wire code
//
// The few protobuf messages and the chunk decoder are written here with
// google.golang.org/protobuf/encoding/protowire rather than imported from
// github.com/prometheus/prometheus: that module would pull hundreds of
// modules into the build for a handful of messages, while the remote read
// wire format and the XOR chunk encoding are stable, documented formats.
package remoteread
