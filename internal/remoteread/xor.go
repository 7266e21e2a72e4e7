package remoteread

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
// of each byte first.
type bitReader struct {
	b   []byte
	pos int // in bits
}

// readBits returns the next n bits (n <= 64) as the low bits of a uint64.
func (r *bitReader) readBits(n uint) (uint64, error) {
	if n == 0 {
		return 0, nil
	}
	if r.pos+int(n) > len(r.b)*8 {
		return 0, errShortChunk
	}
	if n > 56 {
		hi, _ := r.readBits(n - 32)
		lo, _ := r.readBits(32)
		return hi<<32 | lo, nil
	}
	i, off := r.pos>>3, uint(r.pos&7)
	r.pos += int(n)
	if i+8 <= len(r.b) {
		w := binary.BigEndian.Uint64(r.b[i:])
		return (w << off) >> (64 - n), nil
	}
	// Near the end: gather the remaining bytes.
	var w uint64
	for k := 0; k < 8; k++ {
		w <<= 8
		if i+k < len(r.b) {
			w |= uint64(r.b[i+k])
		}
	}
	return (w << off) >> (64 - n), nil
}

// readBit returns the next bit.
func (r *bitReader) readBit() (bool, error) {
	if r.pos >= len(r.b)*8 {
		return false, errShortChunk
	}
	bit := r.b[r.pos>>3] >> (7 - uint(r.pos&7)) & 1
	r.pos++
	return bit == 1, nil
}

// readUvarint reads an unsigned varint written byte by byte into the bit
// stream (the chunk's first timestamp and first delta).
func (r *bitReader) readUvarint() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		b, err := r.readBits(8)
		if err != nil {
			return 0, err
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
		t        int64
		tDelta   uint64
		vbits    uint64
		leading  uint64
		trailing uint64
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
			vbits, err = r.readBits(64)
		case 1:
			if tDelta, err = r.readUvarint(); err != nil {
				break
			}
			t += int64(tDelta)
			err = readXORValue(&r, &vbits, &leading, &trailing)
		default:
			var dod int64
			if dod, err = readDoD(&r); err != nil {
				break
			}
			tDelta = uint64(int64(tDelta) + dod)
			t += int64(tDelta)
			err = readXORValue(&r, &vbits, &leading, &trailing)
		}
		if err != nil {
			return out, fmt.Errorf("xor chunk, sample %d of %d: %w", i+1, total, err)
		}
		if t > maxt {
			break // timestamps grow within a chunk
		}
		if t >= mint && (keepStale || vbits != staleNaN) {
			out = append(out, Sample{T: t, V: math.Float64frombits(vbits)})
		}
	}
	return out, nil
}

// readDoD reads a timestamp's delta of deltas.
func readDoD(r *bitReader) (int64, error) {
	var size uint
	for _, s := range [...]uint{14, 17, 20, 64} {
		bit, err := r.readBit()
		if err != nil {
			return 0, err
		}
		if !bit {
			break
		}
		size = s
	}
	if size == 0 {
		return 0, nil
	}
	bits, err := r.readBits(size)
	if err != nil {
		return 0, err
	}
	if size < 64 && bits > 1<<(size-1) {
		bits -= 1 << size // negative: wraps to the two's complement
	}
	return int64(bits), nil
}

// readXORValue reads one value and updates the previous value's bits and
// the leading/trailing zero window.
func readXORValue(r *bitReader, vbits, leading, trailing *uint64) error {
	changed, err := r.readBit()
	if err != nil || !changed {
		return err
	}
	newWindow, err := r.readBit()
	if err != nil {
		return err
	}
	if newWindow {
		lead, err := r.readBits(5)
		if err != nil {
			return err
		}
		sig, err := r.readBits(6)
		if err != nil {
			return err
		}
		if sig == 0 {
			sig = 64
		}
		if lead+sig > 64 {
			return fmt.Errorf("%d leading zero bits and %d meaningful bits exceed 64", lead, sig)
		}
		*leading, *trailing = lead, 64-lead-sig
	}
	sig := 64 - *leading - *trailing
	bits, err := r.readBits(uint(sig))
	if err != nil {
		return err
	}
	*vbits ^= bits << *trailing
	return nil
}
