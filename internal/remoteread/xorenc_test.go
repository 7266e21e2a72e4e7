package remoteread

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// The test-only XOR chunk encoder, written from the format description in
// decodeXOR's documentation, to round-trip the decoder.

// bitWriter appends bits, most significant first.
type bitWriter struct {
	b     []byte
	nbits int
}

func (w *bitWriter) writeBits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.nbits%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>uint(i)&1 == 1 {
			w.b[len(w.b)-1] |= 1 << (7 - uint(w.nbits%8))
		}
		w.nbits++
	}
}

func (w *bitWriter) writeBytes(p []byte) {
	for _, c := range p {
		w.writeBits(uint64(c), 8)
	}
}

// fitsBits reports whether dod fits the n-bit bucket's range
// [-(2^(n-1)-1), 2^(n-1)].
func fitsBits(dod int64, n uint) bool {
	return -(int64(1)<<(n-1)-1) <= dod && dod <= int64(1)<<(n-1)
}

// encodeXOR builds an XOR chunk of samples (at most 65535).
func encodeXOR(samples []Sample) []byte {
	w := &bitWriter{}
	var (
		t, tDelta         int64
		vbits             uint64
		leading, trailing uint64 = 0xff, 0
		varint            [binary.MaxVarintLen64]byte
	)
	for i, s := range samples {
		nb := math.Float64bits(s.V)
		switch i {
		case 0:
			w.writeBytes(varint[:binary.PutVarint(varint[:], s.T)])
			w.writeBits(nb, 64)
		case 1:
			tDelta = s.T - t
			w.writeBytes(varint[:binary.PutUvarint(varint[:], uint64(tDelta))])
			writeValue(w, vbits, nb, &leading, &trailing)
		default:
			d := s.T - t
			dod := d - tDelta
			switch {
			case dod == 0:
				w.writeBits(0, 1)
			case fitsBits(dod, 14):
				w.writeBits(0b10, 2)
				w.writeBits(uint64(dod), 14)
			case fitsBits(dod, 17):
				w.writeBits(0b110, 3)
				w.writeBits(uint64(dod), 17)
			case fitsBits(dod, 20):
				w.writeBits(0b1110, 4)
				w.writeBits(uint64(dod), 20)
			default:
				w.writeBits(0b1111, 4)
				w.writeBits(uint64(dod), 64)
			}
			tDelta = d
			writeValue(w, vbits, nb, &leading, &trailing)
		}
		t, vbits = s.T, nb
	}
	out := make([]byte, 2, 2+len(w.b))
	binary.BigEndian.PutUint16(out, uint16(len(samples)))
	return append(out, w.b...)
}

func writeValue(w *bitWriter, prev, cur uint64, leading, trailing *uint64) {
	delta := prev ^ cur
	if delta == 0 {
		w.writeBits(0, 1)
		return
	}
	w.writeBits(1, 1)
	lead, trail := uint64(bits.LeadingZeros64(delta)), uint64(bits.TrailingZeros64(delta))
	if lead >= 32 {
		lead = 31 // 5 bits
	}
	if *leading != 0xff && lead >= *leading && trail >= *trailing {
		w.writeBits(0, 1)
		w.writeBits(delta>>*trailing, int(64-*leading-*trailing))
		return
	}
	*leading, *trailing = lead, trail
	w.writeBits(1, 1)
	w.writeBits(lead, 5)
	sig := 64 - lead - trail
	w.writeBits(sig&63, 6) // 64 is written as 0
	w.writeBits(delta>>trail, int(sig))
}
