package scrape

// CloseIdleConnections closes the client's idle keep-alive connections.
// The daemon calls it when a reload or a cancelled start-up retires a
// client, so that a storm of reloads leaves no sockets behind.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
