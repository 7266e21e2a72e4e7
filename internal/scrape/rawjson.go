package scrape

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/common/model"
)

// Streaming decoder of raw-sample responses
//
// Instant and range queries go through client_golang's v1 API
// (client.go). Raw-sample reads do not: a backfill reads millions of raw
// samples, and the v1 API reads each body whole before decoding it into
// model.Matrix, one allocation or more per sample. Through the same client
// on the same 100,000-sample body (BenchmarkDecodeMatrix, client-stream
// against client-v1-api) the v1 API takes 3 to 4.6 times as long,
// allocates 2.6 times the bytes and makes 139 times the allocations. The
// decoder below reads the API envelope from the response as it arrives and
// parses the float pairs of a matrix directly, holding only the samples
// themselves. It is hand-written because encoding/json's token API
// allocates per token and is slower still, and no well-kept library
// decodes this envelope as a stream. Native histogram samples, rare and
// small in number, are handed to encoding/json one by one. Its failures
// are reported as the v1 API's errors (Client.streamMatrix), so that both
// paths are classified alike.

// envelope is what the decoder keeps of the API envelope besides the
// result.
type envelope struct {
	status, errorType, errMsg, resultType string
	warnings                              []string
	hasResult                             bool
}

// jsonReader is a byte-level JSON reader over a buffered stream.
type jsonReader struct {
	r   *bufio.Reader
	buf []byte // scratch
}

var errSyntax = errors.New("invalid JSON")

// next returns the next byte that is not white space, consuming it.
func (j *jsonReader) next() (byte, error) {
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// peek returns the next byte that is not white space without consuming it.
func (j *jsonReader) peek() (byte, error) {
	c, err := j.next()
	if err != nil {
		return 0, err
	}
	return c, j.r.UnreadByte()
}

func (j *jsonReader) expect(want byte) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c != want {
		return fmt.Errorf("%w: %q where %q was expected", errSyntax, c, want)
	}
	return nil
}

// stringBytes reads a string whose opening quote was consumed and returns
// its raw bytes (escapes not resolved), valid until the next call.
func (j *jsonReader) stringBytes() ([]byte, bool, error) {
	j.buf = j.buf[:0]
	escaped := false
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		switch c {
		case '"':
			return j.buf, escaped, nil
		case '\\':
			escaped = true
			j.buf = append(j.buf, c)
			c, err = j.r.ReadByte()
			if err != nil {
				return nil, false, err
			}
		}
		j.buf = append(j.buf, c)
	}
}

// str reads a JSON string, escapes resolved.
func (j *jsonReader) str() (string, error) {
	if err := j.expect('"'); err != nil {
		return "", err
	}
	b, escaped, err := j.stringBytes()
	if err != nil {
		return "", err
	}
	if !escaped && utf8.Valid(b) {
		return string(b), nil
	}
	// Escapes, or bytes that are not UTF-8 (replaced by U+FFFD, as
	// encoding/json does; FuzzRawJSON found them).
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, b...), '"'), &s); err != nil {
		return "", err
	}
	return s, nil
}

// scalar reads a number or a literal (true, false, null) into j.buf.
func (j *jsonReader) scalar(first byte) ([]byte, error) {
	j.buf = append(j.buf[:0], first)
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return j.buf, nil
			}
			return nil, err
		}
		switch c {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			return j.buf, j.r.UnreadByte()
		}
		j.buf = append(j.buf, c)
	}
}

// value reads any JSON value; with keep, its bytes are appended to dst.
func (j *jsonReader) value(dst []byte, keep bool) ([]byte, error) {
	c, err := j.next()
	if err != nil {
		return dst, err
	}
	switch c {
	case '"':
		b, _, err := j.stringBytes()
		if keep {
			dst = append(append(append(dst, '"'), b...), '"')
		}
		return dst, err
	case '{', '[':
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		if keep {
			dst = append(dst, c)
		}
		if p, err := j.peek(); err != nil {
			return dst, err
		} else if p == close {
			_, _ = j.next()
			if keep {
				dst = append(dst, close)
			}
			return dst, nil
		}
		for {
			if c == '{' {
				k, err := j.str()
				if err != nil {
					return dst, err
				}
				if err := j.expect(':'); err != nil {
					return dst, err
				}
				if keep {
					dst = strconv.AppendQuote(dst, k)
					dst = append(dst, ':')
				}
			}
			if dst, err = j.value(dst, keep); err != nil {
				return dst, err
			}
			d, err := j.next()
			if err != nil {
				return dst, err
			}
			if keep {
				dst = append(dst, d)
			}
			if d == close {
				return dst, nil
			}
			if d != ',' {
				return dst, fmt.Errorf("%w: %q in a list", errSyntax, d)
			}
		}
	default:
		b, err := j.scalar(c)
		if keep {
			dst = append(dst, b...)
		}
		return dst, err
	}
}

// object calls f for every key of an object; f must consume the value.
func (j *jsonReader) object(f func(key string) error) error {
	return j.container('{', '}', "an object", func() error {
		k, err := j.str()
		if err != nil {
			return err
		}
		if err := j.expect(':'); err != nil {
			return err
		}
		return f(k)
	})
}

// array calls f for every element of an array; f must consume it.
func (j *jsonReader) array(f func() error) error {
	return j.container('[', ']', "a list", f)
}

// container reads null or an object or array opened by open and closed by
// end, calling item for each member (which must consume it).
func (j *jsonReader) container(open, end byte, what string, item func() error) error {
	c, err := j.next()
	if err != nil {
		return err
	}
	if c == 'n' { // null
		_, err := j.scalar(c)
		return err
	}
	if c != open {
		return fmt.Errorf("%w: %q where %s was expected", errSyntax, c, what)
	}
	if p, err := j.peek(); err != nil {
		return err
	} else if p == end {
		_, _ = j.next()
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		d, err := j.next()
		if err != nil {
			return err
		}
		if d == end {
			return nil
		}
		if d != ',' {
			return fmt.Errorf("%w: %q in %s", errSyntax, d, what)
		}
	}
}

// parseTime reads a timestamp in seconds with up to millisecond decimals
// (the API's form) into milliseconds, exactly; other forms go through
// strconv.ParseFloat.
func parseTime(b []byte) (model.Time, error) {
	var sec, ms int64
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	start := i
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 15; i++ {
		sec = sec*10 + int64(b[i]-'0')
	}
	ok := i > start
	if ok && i < len(b) {
		ok = b[i] == '.' && len(b)-i-1 >= 1 && len(b)-i-1 <= 3
		if ok {
			scale := int64(100)
			for _, c := range b[i+1:] {
				if c < '0' || c > '9' {
					ok = false
					break
				}
				ms += int64(c-'0') * scale
				scale /= 10
			}
		}
	}
	if ok {
		t := sec*1000 + ms
		if neg {
			t = -t
		}
		return model.Time(t), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("timestamp %q: %w", b, err)
	}
	return model.Time(math.Round(f * 1000)), nil
}

// parseValue reads a sample value: a decimal number, NaN, +Inf or -Inf.
func parseValue(b []byte) (float64, error) {
	// The string does not outlive the call: ParseFloat keeps no reference
	// to it (its error, which does, is turned into a copy below).
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		return 0, fmt.Errorf("sample value %q: %w", string(b), errors.Unwrap(err))
	}
	return v, nil
}

// sampleStream reads one element of a matrix result.
func (j *jsonReader) sampleStream() (*model.SampleStream, error) {
	ss := &model.SampleStream{Metric: model.Metric{}}
	err := j.object(func(key string) error {
		switch key {
		case "metric":
			return j.object(func(name string) error {
				v, err := j.str()
				ss.Metric[model.LabelName(name)] = model.LabelValue(v)
				return err
			})
		case "values":
			return j.array(func() error {
				if err := j.expect('['); err != nil {
					return err
				}
				c, err := j.next()
				if err != nil {
					return err
				}
				b, err := j.scalar(c)
				if err != nil {
					return err
				}
				ts, err := parseTime(b)
				if err != nil {
					return err
				}
				if err := j.expect(','); err != nil {
					return err
				}
				if err := j.expect('"'); err != nil {
					return err
				}
				b, _, err = j.stringBytes()
				if err != nil {
					return err
				}
				v, err := parseValue(b)
				if err != nil {
					return err
				}
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: ts, Value: model.SampleValue(v)})
				return j.expect(']')
			})
		case "histograms":
			return j.array(func() error {
				raw, err := j.value(nil, true)
				if err != nil {
					return err
				}
				var hp model.SampleHistogramPair
				if err := json.Unmarshal(raw, &hp); err != nil {
					return fmt.Errorf("native histogram sample: %w", err)
				}
				ss.Histograms = append(ss.Histograms, hp)
				return nil
			})
		default:
			_, err := j.value(nil, false)
			return err
		}
	})
	return ss, err
}

// errTooManySeries stops a decode at the series cap: an answer of 500,000
// series is refused after maxSeries+1 of them, not after all are held.
type errTooManySeries struct{ max int }

func (e errTooManySeries) Error() string {
	return fmt.Sprintf("more than %d series in one answer", e.max)
}

// decodeMatrixEnvelope reads an API response from r, decoding a matrix
// result into out as it arrives. The envelope's other fields are returned
// for the caller to classify errors and count warnings.
func decodeMatrixEnvelope(r io.Reader, out *model.Matrix) (envelope, error) {
	return decodeMatrixLimited(r, out, 0)
}

// decodeMatrixLimited is decodeMatrixEnvelope that stops with
// errTooManySeries once the result holds more than maxSeries series (0:
// no cap).
func decodeMatrixLimited(r io.Reader, out *model.Matrix, maxSeries int) (envelope, error) {
	j := &jsonReader{r: bufio.NewReaderSize(r, 64<<10)}
	var env envelope
	strs := func(dst *[]string) error {
		return j.array(func() error {
			s, err := j.str()
			*dst = append(*dst, s)
			return err
		})
	}
	err := j.object(func(key string) error {
		var err error
		switch key {
		case "status":
			env.status, err = j.str()
		case "errorType":
			env.errorType, err = j.str()
		case "error":
			env.errMsg, err = j.str()
		case "warnings", "infos":
			err = strs(&env.warnings)
		case "data":
			err = j.object(func(key string) error {
				switch key {
				case "resultType":
					var err error
					env.resultType, err = j.str()
					return err
				case "result":
					env.hasResult = true
					if p, err := j.peek(); err != nil || p != '[' {
						// A scalar or string result: keep it out; the
						// result type says what it was.
						_, err2 := j.value(nil, false)
						return errors.Join(err, err2)
					}
					return j.array(func() error {
						p, err := j.peek()
						if err != nil {
							return err
						}
						if p != '{' {
							_, err := j.value(nil, false)
							return err
						}
						if maxSeries > 0 && len(*out) >= maxSeries {
							return errTooManySeries{maxSeries}
						}
						ss, err := j.sampleStream()
						if err == nil {
							*out = append(*out, ss)
						}
						return err
					})
				}
				_, err := j.value(nil, false)
				return err
			})
		default:
			_, err = j.value(nil, false)
		}
		return err
	})
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return env, err
}
