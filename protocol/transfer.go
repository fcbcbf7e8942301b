package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// transfer bounds an upload or a download by time as a whole and by time
// without progress. The idle limit is what catches a dead peer: a whole-
// transfer limit long enough for 200 MB on a slow link would let a stalled
// connection hang for that long.
type transfer struct {
	ctx       context.Context
	cancel    context.CancelCauseFunc
	stopTotal context.CancelFunc
	idle      time.Duration
	start     time.Time
	last      atomic.Int64 // time.Since(start) at the last progress
	timer     *time.Timer
}

func newTransfer(parent context.Context, total, idle time.Duration) *transfer {
	ctx, cancel := context.WithCancelCause(parent)
	t := &transfer{cancel: cancel, stopTotal: func() {}, idle: idle, start: time.Now()}
	if total > 0 {
		ctx, t.stopTotal = context.WithTimeoutCause(ctx, total, &timeoutError{what: "transfer took longer than", d: total})
	}
	t.ctx = ctx
	if idle > 0 {
		t.timer = time.AfterFunc(idle, t.check)
	}
	return t
}

// progress notes that bytes moved. It is an atomic store, not a timer reset,
// so it costs nothing on the hot path of a large copy.
func (t *transfer) progress() {
	t.last.Store(int64(time.Since(t.start)))
}

// check runs on the timer: it fails the transfer when nothing moved for the
// idle limit, or re-arms for the rest of it. Only the timer re-arms itself,
// so there are no concurrent Resets.
func (t *transfer) check() {
	if t.ctx.Err() != nil {
		return
	}
	quiet := time.Since(t.start) - time.Duration(t.last.Load())
	if quiet >= t.idle {
		t.cancel(&timeoutError{what: "no progress for", d: t.idle})
		return
	}
	t.timer.Reset(t.idle - quiet)
}

func (t *transfer) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
	t.stopTotal()
	t.cancel(context.Canceled)
}

// uploadBody is the multipart/form-data body of uploadPictures: a head (the
// payload part and the headers of the file part), the content, and the
// closing boundary. The head and tail are laid out up front with a
// multipart.Writer, so the length is known and the request carries a
// Content-Length when the item's size is known.
//
// The content goes through an io.Pipe fed by a goroutine. The reason is
// net/http: when a request fails, the transport waits for its writing
// goroutine to finish, and that goroutine sits in our Read. Reading the
// caller's content directly, a source that stalls would hang the call past
// every timeout. Through the pipe, closing it on timeout, cancellation or
// return ends the transport's Read at once; only the feeding goroutine waits
// for the source's pending Read, and it exits as soon as that returns,
// reading nothing more.
type uploadBody struct {
	io.Reader
	content *contentReader
	pr      *io.PipeReader
	stopCtx func() bool
}

// start feeds the pipe from the content and closes it when the transfer
// ends, so that a Read blocked in the transport returns.
func (b *uploadBody) start(t *transfer) {
	pw := b.content.pw
	go func() {
		_, err := io.Copy(pw, b.content)
		_ = pw.CloseWithError(err)
	}()
	b.stopCtx = context.AfterFunc(t.ctx, func() { _ = b.pr.CloseWithError(context.Cause(t.ctx)) })
}

// finish ends the feeding goroutine when the call returns.
func (b *uploadBody) finish() {
	if b.stopCtx != nil {
		b.stopCtx()
	}
	_ = b.pr.CloseWithError(errors.New("upload finished"))
}

// contentReader reads the caller's content: it notes progress, enforces the
// declared size, and remembers a read error, which is the caller's source
// failing rather than the network.
type contentReader struct {
	r    io.Reader
	t    *transfer
	pw   *io.PipeWriter
	size int64 // declared size, or -1
	n    int64

	mu  sync.Mutex
	err error
}

var errContentSize = errors.New("content does not match Item.Size")

// sourceErr returns the error of the content source, if it failed.
func (c *contentReader) sourceErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *contentReader) fail(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
	return err
}

func (c *contentReader) Read(p []byte) (int, error) {
	if c.size >= 0 && c.n >= c.size {
		// Declared size reached: make sure the source agrees.
		var one [1]byte
		n, err := io.ReadFull(c.r, one[:])
		if n > 0 {
			return 0, c.fail(fmt.Errorf("%w: more than %d bytes", errContentSize, c.size))
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, c.fail(err)
		}
		return 0, io.EOF
	}
	if c.size >= 0 && int64(len(p)) > c.size-c.n {
		p = p[:c.size-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if n > 0 {
		c.t.progress()
	}
	if errors.Is(err, io.EOF) && c.size >= 0 && c.n < c.size {
		return n, c.fail(fmt.Errorf("%w: %d bytes, want %d", errContentSize, c.n, c.size))
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, c.fail(err)
	}
	return n, err
}

// newUploadBody lays out the multipart body. The payload part is a plain
// form field (no Content-Type), as a PHP-style receiver reads it from its
// POST variables, and it comes before the file part so that a receiver can
// check credentials and deduplicate before it reads any content.
func newUploadBody(payload []byte, item Item, content io.Reader, t *transfer) (body *uploadBody, contentType string, length int64, err error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	field, err := mw.CreateFormField(FieldPayload)
	if err != nil {
		return nil, "", 0, err
	}
	if _, err := field.Write(payload); err != nil {
		return nil, "", 0, err
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, FieldFile, quoteFileName(uploadFileName(item))))
	h.Set("Content-Type", itemContentType(item))
	if _, err := mw.CreatePart(h); err != nil {
		return nil, "", 0, err
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	if err := mw.Close(); err != nil {
		return nil, "", 0, err
	}
	suffix := head.Bytes()

	size := int64(-1)
	length = -1
	if item.Size > 0 {
		size = item.Size
		length = int64(len(prefix)) + size + int64(len(suffix))
	}
	pr, pw := io.Pipe()
	body = &uploadBody{
		Reader:  io.MultiReader(bytes.NewReader(prefix), pr, bytes.NewReader(suffix)),
		content: &contentReader{r: content, t: t, pw: pw, size: size},
		pr:      pr,
	}
	return body, mw.FormDataContentType(), length, nil
}

func uploadFileName(item Item) string {
	name := item.FileName
	if name == "" {
		name = item.UUID
		if item.FileExt != "" {
			name += "." + strings.TrimPrefix(item.FileExt, ".")
		}
	}
	return name
}

// quoteFileName escapes a file name for a Content-Disposition header. File
// names come from the field crew's devices: a CR or LF would let the name
// inject headers, so control characters become underscores.
func quoteFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, s)
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

func itemContentType(item Item) string {
	ext := strings.TrimPrefix(item.FileExt, ".")
	if ext == "" {
		if i := strings.LastIndexByte(item.FileName, '.'); i >= 0 {
			ext = item.FileName[i+1:]
		}
	}
	if ext != "" {
		if t := mime.TypeByExtension("." + strings.ToLower(ext)); t != "" {
			return t
		}
	}
	return "application/octet-stream"
}

// downloadBody is the content of an item as OpenItem hands it out: reads
// note progress for the idle limit, failures come back as *APIError, and
// Close ends the transfer's timers.
type downloadBody struct {
	rc      io.ReadCloser
	t       *transfer
	secrets []string
	closed  atomic.Bool
}

func (d *downloadBody) Read(p []byte) (int, error) {
	n, err := d.rc.Read(p)
	if n > 0 {
		d.t.progress()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		if d.closed.Load() {
			return n, err
		}
		return n, transportError(CallItemContent, d.t.ctx, err, d.secrets)
	}
	return n, err
}

func (d *downloadBody) Close() error {
	d.closed.Store(true)
	d.t.stop()
	return d.rc.Close()
}
