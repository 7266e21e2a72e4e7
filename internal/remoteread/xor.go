package remoteread

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// staleNaN is the bit pattern of the NaN Prometheus writes as a staleness
// marker when a series disappears from its target.
const staleNaN uint64 = 0x7ff0000000000002

// IsStaleNaN reports whether v is Prometheus' staleness marker (compared by
// bits: it is one NaN among many).
func IsStaleNaN(v float64) bool { return math.Float64bits(v) == staleNaN }

// errShortChunk reports a chunk whose bits end before its sample count says.
var errShortChunk = errors.New("chunk data ends early")

// bitReader reads a byte slice as a stream of bits, most significant bit
// of each byte first. It holds one 64-bit word of the slice at a time,
// its next bit highest, so most reads are two shifts; a read past the end
// sets short (and returns zeros) instead of returning an error. That
// keeps the calls on the hot path small enough to be inlined, and the
// decoder checks short once per sample. Decoding is the backfill's
// largest cost after Prometheus' own.
type bitReader struct {
	b     []byte // bytes not yet loaded into word
	word  uint64 // the next `valid` bits, from the highest bit down
	valid uint
	short bool // a read went past the end
}

// load takes the next (up to) 8 bytes into word; false when none is left.
func (r *bitReader) load() bool {
	if len(r.b) >= 8 {
		r.word = binary.BigEndian.Uint64(r.b)
		r.b = r.b[8:]
		r.valid = 64
		return true
	}
	if len(r.b) == 0 {
		return false
	}
	var w uint64
	for _, c := range r.b {
		w = w<<8 | uint64(c)
	}
	r.valid = uint(len(r.b)) * 8
	r.word, r.b = w<<(64-r.valid), nil
	return true
}

// readBits returns the next n bits (n <= 64) as the low bits of a uint64.
// (Shifts by 64 give 0 in Go, which n == 64 relies on.)
func (r *bitReader) readBits(n uint) uint64 {
	if n > r.valid {
		return r.readBitsAcross(n)
	}
	v := r.word >> (64 - n)
	r.word <<= n
	r.valid -= n
	return v
}

// readBitsAcross reads n bits that run past the current word: the rest
// of it, then the first bits of the next. It is kept out of line so that
// readBits is inlined.
//
//go:noinline
func (r *bitReader) readBitsAcross(n uint) uint64 {
	hiBits := r.valid
	hi := r.word >> (64 - hiBits)
	loBits := n - hiBits
	if !r.load() || loBits > r.valid {
		r.short, r.word, r.valid = true, 0, 0
		return 0
	}
	lo := r.word >> (64 - loBits)
	r.word <<= loBits
	r.valid -= loBits
	return hi<<loBits | lo
}

// readBit returns the next bit.
func (r *bitReader) readBit() bool {
	if r.valid == 0 {
		return r.readBitsAcross(1) != 0
	}
	v := r.word >> 63
	r.word <<= 1
	r.valid--
	return v != 0
}

// readUvarint reads an unsigned varint written byte by byte into the bit
// stream (the chunk's first timestamp and first delta).
func (r *bitReader) readUvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		b := r.readBits(8)
		if r.short {
			return 0, errShortChunk
		}
		if shift == 63 && b > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		v |= (b & 0x7f) << shift
		if b < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("varint longer than 10 bytes")
}

// decodeXOR decodes an XOR (Gorilla) chunk and appends to out its samples
// with timestamps in [mint, maxt], leaving out staleness markers unless
// keepStale.
//
// The chunk starts with its sample count, 2 bytes big-endian; a bit stream
// follows, most significant bit first:
//
//   - sample 0: timestamp as a signed (zig-zag) varint, value as 64 bits;
//   - sample 1: timestamp delta as an unsigned varint, value as below;
//   - later samples: the delta of deltas of the timestamp in a bucket,
//     '0' for 0, '10' + 14 bits, '110' + 17 bits, '1110' + 20 bits (two's
//     complement, the range skewed by one towards the positive side), or
//     '1111' + 64 bits; then the value.
//
// A value is XORed with the previous one: '0' when equal; '10' + the
// meaningful bits when they fit the previous window of leading and
// trailing zero bits; '11' + 5 bits of leading zeros + 6 bits of
// meaningful bit count (0 meaning 64) + those bits otherwise.
//
// Written here rather than imported from Prometheus for the reason the
// package documentation gives.
func decodeXOR(data []byte, mint, maxt int64, keepStale bool, out []Sample) ([]Sample, error) {
	if len(data) < 2 {
		return out, fmt.Errorf("xor chunk of %d bytes has no sample count", len(data))
	}
	total := int(binary.BigEndian.Uint16(data))
	r := bitReader{b: data[2:]}
	var (
		t      int64
		tDelta uint64
		v      xorValue
	)
	for i := 0; i < total; i++ {
		var err error
		switch i {
		case 0:
			var u uint64
			if u, err = r.readUvarint(); err != nil {
				break
			}
			t = int64(u>>1) ^ -int64(u&1) // zig-zag
			v.bits = r.readBits(64)
		case 1:
			if tDelta, err = r.readUvarint(); err != nil {
				break
			}
			t += int64(tDelta)
			err = v.read(&r)
		default:
			tDelta = uint64(int64(tDelta) + readDoD(&r))
			t += int64(tDelta)
			err = v.read(&r)
		}
		if err == nil && r.short {
			err = errShortChunk
		}
		if err != nil {
			return out, fmt.Errorf("xor chunk, sample %d of %d: %w", i+1, total, err)
		}
		if t > maxt {
			break // timestamps grow within a chunk
		}
		if t >= mint && (keepStale || v.bits != staleNaN) {
			out = append(out, Sample{T: t, V: math.Float64frombits(v.bits)})
		}
	}
	return out, nil
}

// dodBits is the width of a delta of deltas after a prefix of n ones
// ('0', '10', '110', '1110', '1111').
var dodBits = [5]uint{0, 14, 17, 20, 64}

// readDoD reads a timestamp's delta of deltas. With four bits at hand, the
// prefix is read at once: the count of leading ones picks the width.
func readDoD(r *bitReader) int64 {
	var ones int
	if r.valid >= 4 {
		ones = bits.LeadingZeros64(^r.word)
		n := uint(min(ones+1, 4))
		ones = min(ones, 4)
		r.word <<= n
		r.valid -= n
	} else {
		for ones < 4 && r.readBit() {
			ones++
		}
	}
	size := dodBits[ones]
	if size == 0 {
		return 0
	}
	v := r.readBits(size)
	if size < 64 && v > 1<<(size-1) {
		v -= 1 << size // negative: wraps to the two's complement
	}
	return int64(v)
}

// xorValue is the value state of a chunk: the previous value's bits and
// the window of leading and trailing zero bits of the last XOR.
type xorValue struct {
	bits, leading, trailing uint64
}

// read reads one value and updates the state. With the 13 bits of the
// control and a new window at hand, they are taken from the word at once.
func (x *xorValue) read(r *bitReader) error {
	var lead, sig uint64
	switch {
	case r.valid >= 13:
		switch w := r.word; {
		case w>>63 == 0: // '0': unchanged
			r.word <<= 1
			r.valid--
			return nil
		case w>>62 == 2: // '10': the previous window
			r.word <<= 2
			r.valid -= 2
			x.bits ^= r.readBits(uint(64-x.leading-x.trailing)) << x.trailing
			return nil
		default: // '11', 5 bits of leading zeros, 6 of meaningful bits
			lead, sig = w>>57&31, w>>51&63
			r.word <<= 13
			r.valid -= 13
		}
	case !r.readBit():
		return nil
	case !r.readBit():
		x.bits ^= r.readBits(uint(64-x.leading-x.trailing)) << x.trailing
		return nil
	default:
		lead, sig = r.readBits(5), r.readBits(6)
	}
	if sig == 0 {
		sig = 64
	}
	if lead+sig > 64 && !r.short {
		return fmt.Errorf("%d leading zero bits and %d meaningful bits exceed 64", lead, sig)
	}
	x.leading, x.trailing = lead, 64-lead-sig
	x.bits ^= r.readBits(uint(sig)) << x.trailing
	return nil
}
