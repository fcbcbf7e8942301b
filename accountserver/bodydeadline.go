package accountserver

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// Request bodies are read under deadlines that the handler sets itself
// (http.ResponseController), so that they hold whatever server runs
// Handler, and so that they can be renewed as bytes arrive.
//
// A deadline on the whole body (http.Server.ReadTimeout) does not fit this
// server: a 1 GiB item over a slow uplink legitimately takes minutes, and
// no single value both lets it through and stops a client that sends a
// byte a second, which would hold a connection and a goroutine for ever.
// So each read of a body waits at most Limits.BodyIdleTimeout for the
// client (idle time), and, so that a byte sent just inside every idle
// timeout does not hold the connection either, the body must keep an
// average of Limits.MinBodyRate once BodyIdleTimeout of waiting has been
// spent: in all, a body may have been waited on for at most
// BodyIdleTimeout + bytes/MinBodyRate. Only time spent inside reads counts,
// so a server busy elsewhere (a password check, a database lock) does not
// use the client's allowance. A body that falls behind ends with a 408
// answer and the connection closed; what it was to write is not written.
// The head of a request is bounded by http.Server.ReadHeaderTimeout (the
// serve command sets it).

// bodyDeadlines puts the body of every request under the deadlines above.
func (s *Server) bodyDeadlines(h http.Handler) http.Handler {
	idle, rate := s.limits.BodyIdleTimeout, s.limits.MinBodyRate
	slow := errorf(errRequestTimeout, "the request body stalled or came too slowly (it must not pause for %s, and must average %d bytes/s)",
		idle, rate)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{body: r.Body, rc: http.NewResponseController(w), idle: idle, rate: rate, slow: slow}
		// A handler that answers without reading the body leaves the
		// server to read what is left before it answers (up to 256 KiB):
		// bound that too.
		b.setDeadline(time.Now().Add(idle))
		r2 := r.WithContext(r.Context()) // a copy: the server keeps its own view of the body
		r2.Body = b
		h.ServeHTTP(w, r2)
		if !b.done {
			b.setDeadline(time.Now().Add(idle))
		}
	})
}

// deadlineBody is a request body read under an idle deadline and a
// minimum average rate. It is read by one goroutine, the handler's.
type deadlineBody struct {
	body io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	rate int64
	slow error

	n      int64         // bytes read
	waited time.Duration // time spent inside reads
	// done is set once a read failed or hit the end: the server reads
	// the connection itself from then on (to see the client go), and a
	// deadline set now would cut that read.
	done bool
	// unsupported is set when the connection does not take deadlines
	// (a test's recorder): the body is read without them.
	unsupported bool
	err         error
}

func (b *deadlineBody) setDeadline(t time.Time) {
	if b.unsupported {
		return
	}
	if err := b.rc.SetReadDeadline(t); err != nil {
		b.unsupported = true
	}
}

// budget is how long the next read may wait for the client.
func (b *deadlineBody) budget() time.Duration {
	if b.rate <= 0 {
		return b.idle
	}
	// In seconds, as a float: bytes/rate can be far beyond a Duration.
	left := b.idle.Seconds() + float64(b.n)/float64(b.rate) - b.waited.Seconds()
	if left >= b.idle.Seconds() {
		return b.idle
	}
	return time.Duration(left * float64(time.Second))
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return b.body.Read(p)
	}
	budget := b.budget()
	if budget <= 0 {
		b.err, b.done = b.slow, true
		return 0, b.err
	}
	start := time.Now()
	b.setDeadline(start.Add(budget))
	n, err := b.body.Read(p)
	b.waited += time.Since(start)
	b.n += int64(n)
	if err != nil {
		b.done = true
		if isTimeout(err) {
			b.err = b.slow
			return n, b.err
		}
	}
	return n, err
}

func (b *deadlineBody) Close() error { return b.body.Close() }

// isTimeout reports whether a read failed on its deadline.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
