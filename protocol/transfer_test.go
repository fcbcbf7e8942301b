package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// pattern is a reader of n deterministic bytes that allocates nothing, so
// that memory measurements see only what the code under test allocates.
type pattern struct{ off, n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	for i := range b {
		b[i] = byte((p.off + int64(i)) % 251)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) [32]byte {
	h := sha256.New()
	_, _ = io.Copy(h, &pattern{n: n})
	return [32]byte(h.Sum(nil))
}

// receivedUpload is what a test receiver saw of an upload.
type receivedUpload struct {
	req           *UploadRequest
	contentLength int64
	chunked       bool
	n             int64
	sum           [32]byte
}

// uploadReceiver decodes uploads the way a receiver does and records them.
func uploadReceiver(t *testing.T, got chan<- receivedUpload) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		up, err := DecodeUploadRequest(r, MaxUploadPayloadBytes)
		if err != nil {
			var re *RequestError
			errors.As(err, &re)
			_ = WriteJSON(w, re.StatusCode, StatusResponse{Error: re.Message})
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, up.Content)
		if err != nil {
			t.Logf("receiver: %v", err)
			return
		}
		got <- receivedUpload{req: up, contentLength: r.ContentLength, chunked: len(r.TransferEncoding) > 0, n: n, sum: [32]byte(h.Sum(nil))}
		_ = WriteJSON(w, http.StatusOK, StatusResponse{Status: true})
	}
}

func TestUploadItem(t *testing.T) {
	const size = 3<<20 + 17
	tests := []struct {
		name      string
		item      Item
		wantCL    bool
		wantType  string
		wantFName string
	}{
		{"known size", Item{UUID: "u1", WorkOrderNumber: "7", FileName: "front.jpg", FileExt: "jpg", Size: size}, true, "image/jpeg", "front.jpg"},
		{"unknown size", Item{UUID: "u2", WorkOrderNumber: "7", FileExt: "png"}, false, "image/png", "u2.png"},
		{"hostile file name", Item{UUID: "u3", WorkOrderNumber: "7", FileName: "a\"b\r\nX-Evil: 1\\.bin", Size: size}, true, "application/octet-stream", "a\"b__X-Evil: 1\\.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := make(chan receivedUpload, 1)
			c := newTestClient(t, uploadReceiver(t, got))
			g.Expect(c.UploadItem(context.Background(), testCreds, tt.item, &pattern{n: size})).To(Succeed())
			var up receivedUpload
			g.Eventually(got).Should(Receive(&up))
			g.Expect(up.req.Credentials).To(Equal(testCreds))
			g.Expect(up.req.Item).To(Equal(tt.item))
			g.Expect(up.req.FileName).To(Equal(tt.wantFName))
			g.Expect(up.req.ContentType).To(Equal(tt.wantType))
			g.Expect(up.n).To(BeEquivalentTo(size))
			g.Expect(up.sum).To(Equal(patternSum(size)))
			if tt.wantCL {
				g.Expect(up.contentLength).To(BeNumerically(">", size))
				g.Expect(up.chunked).To(BeFalse())
			} else {
				g.Expect(up.contentLength).To(BeEquivalentTo(-1))
				g.Expect(up.chunked).To(BeTrue())
			}
		})
	}
}

func TestUploadItemChecksItsInput(t *testing.T) {
	g := NewWithT(t)
	got := make(chan receivedUpload, 1)
	c := newTestClient(t, uploadReceiver(t, got))

	err := c.UploadItem(context.Background(), testCreds, Item{WorkOrderNumber: "7"}, strings.NewReader("x"))
	g.Expect(err).To(MatchError(ErrRefused))
	g.Expect(err.Error()).To(ContainSubstring("no uuid"))

	err = c.UploadItem(context.Background(), testCreds, Item{UUID: "u", Size: 10}, strings.NewReader("short"))
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err).To(MatchError(errContentSize))
	g.Expect(err.Error()).To(ContainSubstring("reading the content"))

	err = c.UploadItem(context.Background(), testCreds, Item{UUID: "u", Size: 3}, strings.NewReader("too long"))
	g.Expect(err).To(MatchError(errContentSize))

	broken := errors.New("disk on fire")
	err = c.UploadItem(context.Background(), testCreds, Item{UUID: "u"}, io.MultiReader(strings.NewReader("abc"), iotestErrReader{broken}))
	g.Expect(err).To(MatchError(broken))
	g.Expect(err).To(MatchError(ErrTransient))
	g.Consistently(got).ShouldNot(Receive())
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// blockingReader never yields a byte until released: a stalled source.
type blockingReader struct{ release chan struct{} }

func (b blockingReader) Read([]byte) (int, error) {
	<-b.release
	return 0, io.EOF
}

func TestUploadIdleTimeout(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}, WithIdleTimeout(150*time.Millisecond))
	src := blockingReader{release: make(chan struct{})}
	defer close(src.release)
	start := time.Now()
	err := c.UploadItem(context.Background(), testCreds, Item{UUID: "u"}, src)
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(err.Error()).To(ContainSubstring("no progress for 150ms"))
}

func TestUploadSlowButLiveIsNotIdle(t *testing.T) {
	g := NewWithT(t)
	got := make(chan receivedUpload, 1)
	c := newTestClient(t, uploadReceiver(t, got), WithIdleTimeout(time.Second), WithTimeout(time.Millisecond))
	// 10 chunks, 150ms apart: 1.5s in all, longer than the idle timeout,
	// but never a second without progress (a wide margin for a loaded
	// machine). WithTimeout does not apply to transfers.
	pr, pw := io.Pipe()
	go func() {
		for range 10 {
			time.Sleep(150 * time.Millisecond)
			_, _ = pw.Write([]byte("0123456789"))
		}
		_ = pw.Close()
	}()
	g.Expect(c.UploadItem(context.Background(), testCreds, Item{UUID: "u", Size: 100}, pr)).To(Succeed())
	var up receivedUpload
	g.Eventually(got).Should(Receive(&up))
	g.Expect(up.n).To(BeEquivalentTo(100))
}

func TestUploadTransferTimeout(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}, WithTransferTimeout(200*time.Millisecond), WithIdleTimeout(0))
	err := c.UploadItem(context.Background(), testCreds, Item{UUID: "u"}, strings.NewReader("x"))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(err.Error()).To(ContainSubstring("transfer took longer than 200ms"))
}

func TestUploadReceiverRefusesEarly(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		// Refuse without reading the content, as a receiver does on a
		// bad login.
		_ = WriteJSON(w, http.StatusForbidden, StatusResponse{Error: "invalid username or password"})
	})
	err := c.UploadItem(context.Background(), testCreds, Item{UUID: "u", Size: 64 << 20}, &pattern{n: 64 << 20})
	g.Expect(err).To(MatchError(ErrInvalidCredentials))
}

// totalAlloc runs f and returns the bytes the process allocated meanwhile,
// the receiving server included.
func totalAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestUploadStreams relays a 200 MB item and checks that neither the client
// nor the receiver held it in memory.
func TestUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	const size = 200 << 20
	g := NewWithT(t)
	got := make(chan receivedUpload, 1)
	c := newTestClient(t, uploadReceiver(t, got))
	for _, known := range []bool{true, false} {
		item := Item{UUID: "big", WorkOrderNumber: "7", FileExt: "jpg"}
		if known {
			item.Size = size
		}
		var err error
		alloc := totalAlloc(func() {
			err = c.UploadItem(context.Background(), testCreds, item, &pattern{n: size})
		})
		g.Expect(err).NotTo(HaveOccurred())
		var up receivedUpload
		g.Eventually(got).Should(Receive(&up))
		g.Expect(up.n).To(BeEquivalentTo(size))
		t.Logf("size known %v: %d bytes allocated for a %d byte item", known, alloc, size)
		g.Expect(alloc).To(BeNumerically("<", size/20), "allocated %d bytes", alloc)
	}
}

// contentServer serves items of the given sizes by uuid.
func contentServer(t *testing.T, sizes map[string]int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req ItemContentRequest
		if err := DecodePayload(r, MaxFormBytes, &req); err != nil {
			t.Errorf("DecodePayload: %v", err)
			return
		}
		if req.PushKey != testPushKey {
			_ = WriteJSON(w, http.StatusForbidden, StatusResponse{Error: "invalid push key"})
			return
		}
		n, ok := sizes[req.UUID]
		if !ok {
			_ = WriteJSON(w, http.StatusNotFound, StatusResponse{Error: "no item " + req.UUID})
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		if !strings.HasPrefix(req.UUID, "chunked") {
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		}
		_, _ = io.Copy(w, &pattern{n: n})
	}
}

func TestOpenItem(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, contentServer(t, map[string]int64{"u1": 1 << 20, "chunked1": 12345}))
	for uuid, want := range map[string]int64{"u1": 1 << 20, "chunked1": 12345} {
		body, size, err := c.OpenItem(context.Background(), testPushKey, uuid)
		g.Expect(err).NotTo(HaveOccurred())
		if uuid == "u1" {
			g.Expect(size).To(Equal(want))
		} else {
			g.Expect(size).To(BeEquivalentTo(-1))
		}
		h := sha256.New()
		n, err := io.Copy(h, body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(n).To(Equal(want))
		g.Expect([32]byte(h.Sum(nil))).To(Equal(patternSum(want)))
		g.Expect(body.Close()).To(Succeed())
	}

	_, _, err := c.OpenItem(context.Background(), testPushKey, "nope")
	g.Expect(err).To(MatchError(ErrNotFound))
	g.Expect(err.Error()).To(Equal("itemContent: HTTP 404: no item nope"))

	_, _, err = c.OpenItem(context.Background(), "wrong-key", "u1")
	g.Expect(err).To(MatchError(ErrInvalidCredentials))
}

func TestOpenItemReadFailures(t *testing.T) {
	g := NewWithT(t)
	var stall sync.WaitGroup
	stall.Add(1)
	defer stall.Done()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(bytes.Repeat([]byte("x"), 100))
		if strings.Contains(r.Header.Get("User-Agent"), "stall") {
			w.(http.Flusher).Flush()
			stall.Wait()
		}
	}, WithIdleTimeout(150*time.Millisecond))

	// Cut short: fewer bytes than Content-Length.
	body, size, err := c.OpenItem(context.Background(), testPushKey, "u1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(size).To(BeEquivalentTo(1000))
	_, err = io.Copy(io.Discard, body)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err).To(MatchError(io.ErrUnexpectedEOF))
	var ae *APIError
	g.Expect(errors.As(err, &ae)).To(BeTrue())
	g.Expect(ae.Call).To(Equal(CallItemContent))
	g.Expect(body.Close()).To(Succeed())

	// Stalled: the peer stops sending.
	stalling, err := NewClient(c.base.String(), WithIdleTimeout(150*time.Millisecond), WithUserAgent("stall"))
	g.Expect(err).NotTo(HaveOccurred())
	body, _, err = stalling.OpenItem(context.Background(), testPushKey, "u1")
	g.Expect(err).NotTo(HaveOccurred())
	start := time.Now()
	_, err = io.Copy(io.Discard, body)
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(err.Error()).To(ContainSubstring("no progress for 150ms"))
	g.Expect(body.Close()).To(Succeed())
}

// TestOpenItemStreams downloads a 200 MB item without holding it.
func TestOpenItemStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	const size = 200 << 20
	g := NewWithT(t)
	c := newTestClient(t, contentServer(t, map[string]int64{"big": size}))
	var n int64
	alloc := totalAlloc(func() {
		body, _, err := c.OpenItem(context.Background(), testPushKey, "big")
		g.Expect(err).NotTo(HaveOccurred())
		defer body.Close()
		n, err = io.Copy(io.Discard, body)
		g.Expect(err).NotTo(HaveOccurred())
	})
	g.Expect(n).To(BeEquivalentTo(size))
	t.Logf("%d bytes allocated for a %d byte item", alloc, size)
	g.Expect(alloc).To(BeNumerically("<", size/20))
}
