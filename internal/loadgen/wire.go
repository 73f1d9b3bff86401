package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// A predictConn sends predict requests back to back on one keep-alive
// HTTP/1.1 connection of its own, writing each request's bytes (made once)
// and reading the answer on the calling goroutine. net/http's client hands
// each request to a writing and a reading goroutine of the connection and
// back, and those wake-ups, about a tenth of a millisecond a request here,
// would count in the server's latency: with one connection they were a
// sixth of it. What the load generator measures should be the server.
type predictConn struct {
	addr, host string
	tls        bool
	timeout    time.Duration
	request    []byte

	conn net.Conn
	br   *bufio.Reader
	// stop interrupts a read or write in progress when the run's context
	// ends; nil while no connection is open.
	stop func() bool
}

// newPredictConn makes a connection's requests: a POST of body to the
// GraphQL endpoint at endpoint with token. It connects on first use.
func newPredictConn(endpoint, token string, body []byte, timeout time.Duration) (*predictConn, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL", endpoint)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", u.RequestURI(), u.Host)
	if token != "" {
		fmt.Fprintf(&req, "Authorization: Bearer %s\r\n", token)
	}
	fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n", len(body))
	req.Write(body)
	return &predictConn{addr: addr, host: u.Hostname(), tls: u.Scheme == "https", timeout: timeout, request: req.Bytes()}, nil
}

// predict sends one predict request and checks its answer; buf holds the
// answer's body.
func (c *predictConn) predict(ctx context.Context, want string, buf *bytes.Buffer) outcome {
	if c.conn == nil {
		if err := c.dial(ctx); err != nil {
			return transportOutcome(err)
		}
	}
	status, err := c.roundTrip(buf)
	if err != nil {
		// The connection is in an unknown state: the next request opens
		// another.
		c.close()
		return transportOutcome(err)
	}
	return checkAnswer(status, buf.Bytes(), want)
}

func (c *predictConn) dial(ctx context.Context) error {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if c.tls {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: &tls.Config{ServerName: c.host}}).DialContext(ctx, "tcp", c.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", c.addr)
	}
	if err != nil {
		return err
	}
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 4<<10)
	c.stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// roundTrip writes the request and reads its answer into buf: the status,
// the body whole (at most maxAnswer bytes), and whether the server keeps
// the connection.
func (c *predictConn) roundTrip(buf *bytes.Buffer) (status int, err error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	if _, err := c.conn.Write(c.request); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, err
	}
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer))
	if err == nil {
		// What is left past maxAnswer must be read for the next answer to
		// start where it should; an answer that long is not kept anyway.
		_, err = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("read the answer: %w", err)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
}

// close closes the connection, if open; the next request opens another.
func (c *predictConn) close() {
	if c.conn == nil {
		return
	}
	c.stop()
	c.conn.Close()
	c.conn, c.br, c.stop = nil, nil, nil
}
