package remoteread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
)

// DefaultMaxFrameBytes caps one frame of a streamed answer. Prometheus cuts
// frames at about 1 MiB (--storage.remote.read-max-bytes-in-frame), going
// over only by one chunk, so 64 MiB leaves room for generous settings
// while a corrupt length cannot make the reader allocate gigabytes.
const DefaultMaxFrameBytes = 64 << 20

// castagnoli is the CRC-32 table of the frames' checksums.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FrameError reports a malformed frame of a streamed answer: bad checksum,
// cut short, too large, or an undecodable message.
type FrameError struct {
	// Frame is the 1-based position of the frame in the answer.
	Frame int
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *FrameError) Error() string {
	return fmt.Sprintf("remote read: frame %d: %s", e.Frame, e.Reason)
}

// frameReader reads the frames of a streamed answer.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	n   int // frames read
}

// newFrameReader reads frames of at most max bytes from r.
func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next frame's message, valid until the next call, or
// io.EOF at a clean end of the stream.
func (f *frameReader) next() ([]byte, error) {
	f.n++
	size, err := binary.ReadUvarint(f.r)
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			return nil, &FrameError{f.n, "stream ends inside the frame length"}
		}
		return nil, f.readErr("reading the frame length", err)
	}
	if size > uint64(f.max) {
		return nil, &FrameError{f.n, fmt.Sprintf("length %d bytes exceeds the %d byte limit", size, f.max)}
	}
	var sum [4]byte
	if _, err := io.ReadFull(f.r, sum[:]); err != nil {
		return nil, f.readErr("reading the checksum", err)
	}
	if cap(f.buf) < int(size) {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, f.readErr(fmt.Sprintf("reading its %d byte message", size), err)
	}
	want := binary.BigEndian.Uint32(sum[:])
	if got := crc32.Checksum(f.buf, castagnoli); got != want {
		return nil, &FrameError{f.n, fmt.Sprintf("checksum %08x, the frame says %08x", got, want)}
	}
	return f.buf, nil
}

// readErr turns a read error into a FrameError when the stream was cut
// short; other errors (context cancelled, connection reset) pass wrapped.
func (f *frameReader) readErr(what string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &FrameError{f.n, "stream ends while " + what}
	}
	return fmt.Errorf("remote read: frame %d: %s: %w", f.n, what, err)
}

// seriesBuilder joins the frames of one (query, series) and hands whole
// series to fn.
type seriesBuilder struct {
	qs        []Query
	fn        func(Series) error
	keepStale bool

	open    bool
	cur     Series
	sorted  bool // cur.Samples is in strictly increasing time order
	lastT   int64
	hasLast bool
	fnErr   error // fn's error, returned as it is
	scratch chunkedSeries
}

// add appends the chunks of one ChunkedSeries of query qi to the series
// being built, first handing the previous one to fn when this one is
// another.
func (b *seriesBuilder) add(qi int, msg []byte) error {
	if err := decodeChunkedSeries(msg, &b.scratch); err != nil {
		return fmt.Errorf("undecodable series: %w", err)
	}
	if !b.open || qi != b.cur.Query || !labelsEqualEncoded(b.scratch.labels, b.cur.Labels) {
		if err := b.flush(); err != nil {
			return err
		}
		b.open, b.sorted, b.hasLast = true, true, false
		b.cur.Query = qi
		b.cur.Labels = b.cur.Labels[:0]
		b.cur.Samples = b.cur.Samples[:0]
		for _, l := range b.scratch.labels {
			var err error
			if b.cur.Labels, err = decodeLabel(l, b.cur.Labels); err != nil {
				return fmt.Errorf("undecodable series: %w", err)
			}
		}
	}
	q := b.qs[qi]
	for _, raw := range b.scratch.chunks {
		c, err := decodeChunk(raw)
		if err != nil {
			return fmt.Errorf("series %s: %w", formatLabels(b.cur.Labels), err)
		}
		// Skip chunks the server says lie outside the interval (a chunk
		// without its times, both 0, is decoded anyway).
		if (c.minT != 0 || c.maxT != 0) && (c.maxT < q.Start || c.minT > q.End) {
			continue
		}
		if c.encoding != encodingXOR {
			return &EncodingError{Encoding: encodingName(c.encoding), Labels: append([]Label(nil), b.cur.Labels...)}
		}
		n := len(b.cur.Samples)
		if b.cur.Samples, err = decodeXOR(c.data, q.Start, q.End, b.keepStale, b.cur.Samples); err != nil {
			return fmt.Errorf("series %s: %w", formatLabels(b.cur.Labels), err)
		}
		b.checkOrder(n)
	}
	return nil
}

// addSamples appends already decoded samples (from a sampled answer),
// filtered like chunk samples.
func (b *seriesBuilder) addSamples(in []Sample, q Query) {
	n := len(b.cur.Samples)
	for _, s := range in {
		if s.T < q.Start || s.T > q.End || (!b.keepStale && IsStaleNaN(s.V)) {
			continue
		}
		b.cur.Samples = append(b.cur.Samples, s)
	}
	b.checkOrder(n)
}

// checkOrder notes whether the samples appended from index n on keep the
// series in strictly increasing time order.
func (b *seriesBuilder) checkOrder(n int) {
	for _, s := range b.cur.Samples[n:] {
		if b.hasLast && s.T <= b.lastT {
			b.sorted = false
		}
		b.lastT, b.hasLast = s.T, true
	}
}

// flush hands the series being built to fn, unless it has no sample in
// the query's interval (a range selector would not return it either).
// Overlapping chunks (which a server should merge, but may not) are sorted
// and samples with the same timestamp kept once.
func (b *seriesBuilder) flush() error {
	if !b.open {
		return nil
	}
	b.open = false
	if len(b.cur.Samples) == 0 {
		return nil
	}
	if !b.sorted {
		s := b.cur.Samples
		sort.SliceStable(s, func(i, j int) bool { return s[i].T < s[j].T })
		out := s[:0]
		for i, x := range s {
			if i > 0 && x.T == out[len(out)-1].T {
				continue
			}
			out = append(out, x)
		}
		b.cur.Samples = out
	}
	b.fnErr = b.fn(b.cur)
	return b.fnErr
}

// decodeStream reads a streamed answer from r and calls fn once per
// (query, series).
func decodeStream(r io.Reader, qs []Query, maxFrame int, keepStale bool, fn func(Series) error) error {
	fr := newFrameReader(r, maxFrame)
	b := &seriesBuilder{qs: qs, fn: fn, keepStale: keepStale}
	var resp chunkedReadResponse
	for {
		msg, err := fr.next()
		if err == io.EOF {
			return b.flush()
		}
		if err != nil {
			return err
		}
		if err := decodeChunkedReadResponse(msg, &resp); err != nil {
			return &FrameError{fr.n, "undecodable message: " + err.Error()}
		}
		if resp.queryIndex < 0 || resp.queryIndex >= int64(len(qs)) {
			return &FrameError{fr.n, fmt.Sprintf("query index %d, the request had %d queries", resp.queryIndex, len(qs))}
		}
		for _, s := range resp.series {
			if err := b.add(int(resp.queryIndex), s); err != nil {
				if b.fnErr != nil {
					return b.fnErr
				}
				var ee *EncodingError
				if errors.As(err, &ee) {
					return err
				}
				return &FrameError{fr.n, err.Error()}
			}
		}
	}
}
