package scrape

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/config"
)

// countingConn counts the reads of the connection under the buffer.
type countingConn struct {
	net.Conn
	reads *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// TestBufferedConnReadsInBulk sends a body as many small flushed HTTP
// chunks, as a streamed remote read answer comes, and reads it through
// prometheus/common's client over a buffered connection: the body arrives
// whole, in far fewer reads of the connection than chunks (net/http's own
// 4 KiB buffer takes two or more per chunk).
func TestBufferedConnReadsInBulk(t *testing.T) {
	const chunks, size = 64, 4 << 10
	body := make([]byte, chunks*size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	written := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		defer close(written)
		for i := range chunks {
			_, _ = w.Write(body[i*size : (i+1)*size])
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()

	var reads atomic.Int64
	dial := bufferedDial(func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		return countingConn{c, &reads}, err
	})
	hc, err := config.NewClientFromConfig(config.DefaultHTTPClientConfig, "test", config.WithDialContextFunc(dial))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Let the server's chunks queue up (they fit the loopback buffers).
	select {
	case <-written:
	case <-time.After(5 * time.Second):
	}
	before := reads.Load()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("body of %d bytes differs from the %d sent", len(got), len(body))
	}
	if n := reads.Load() - before; n > chunks/4 {
		t.Errorf("%d reads of the connection for %d chunks: not buffered", n, chunks)
	}
}
