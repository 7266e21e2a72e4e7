package scrape

import (
	"bufio"
	"context"
	"net"
)

// connReadBuffer is the read buffer of every connection to the server.
// Streamed remote read answers come as one HTTP chunk per frame, a few
// KiB each; through net/http's default 4 KiB buffer every frame cost two
// or more read system calls, 0.7 s of a 30-day backfill's 4 s of CPU.
const connReadBuffer = 256 << 10

// dialBuffered dials as net.Dialer does and reads the connection through
// a buffer of connReadBuffer bytes.
var dialBuffered = bufferedDial((&net.Dialer{}).DialContext)

// bufferedDial returns a dial function that dials with dial and reads
// the connection through a buffer of connReadBuffer bytes.
//
// Hand-written because net/http's Transport takes its read buffer size
// from Transport.ReadBufferSize, and prometheus/common builds the
// Transport (with TLS, proxy and authentication settings) without a way
// to set it; its dial hook is the one place left to add a buffer.
func bufferedDial(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}, nil
	}
}

// bufferedConn is a net.Conn whose reads go through r, so one system call
// takes in all the bytes the kernel holds, up to the buffer's size.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read reads from the buffer, filling it from the connection when empty.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
