package protocol

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// echoOf is everything a broken or hostile account could quote back of a
// request: its URL with the query, its body raw and url-decoded.
func echoOf(r *http.Request) string {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	decoded, _ := url.QueryUnescape(string(body))
	return strings.Join([]string{r.URL.String(), r.URL.RawQuery, r.URL.Query().Get(QueryAPIKey), string(body), decoded}, " ")
}

// echoing answers status, with the echo as the message of an envelope and
// in a header.
func echoing(status int, envelope string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e := echoOf(r)
		msg, _ := json.Marshal(e)
		w.Header().Set("Retry-After", e)
		w.Header().Set("Location", e)
		if status != 0 {
			w.WriteHeader(status)
		}
		_, _ = io.WriteString(w, strings.ReplaceAll(envelope, "ECHO", string(msg)))
	}
}

// forbidden must never appear in an error text. The clear-text password is
// never sent, but checking it costs nothing.
var forbidden = []string{testPassword, testCreds.Password, testToken, testPushKey}

// quiet are failures where the server quotes nothing: then the error must
// not hold a URL or a query either, only our own words.
var quiet = map[string]bool{"slow": true, "hijack close": true, "connection refused": true}

// succeedOnContent are answers a download takes as content: 2xx.
var succeedOnContent = map[string]bool{"garbage 200": true, "envelope error 200": true, "wrong type 200": true, "oversized": true}

// TestCredentialsNeverInErrors makes every call fail in every way, with a
// server that quotes the request back wherever it can, and checks that no
// error text holds a secret.
func TestCredentialsNeverInErrors(t *testing.T) {
	failures := map[string]http.HandlerFunc{
		"500 quoting":        echoing(500, `<html>ECHO</html>`),
		"500 envelope":       echoing(500, `{"error":ECHO}`),
		"401 envelope":       echoing(401, `{"error":ECHO}`),
		"400 envelope":       echoing(400, `{"error":ECHO}`),
		"404 envelope":       echoing(404, `{"error":ECHO}`),
		"429":                echoing(429, `ECHO`),
		"redirect":           echoing(302, ``),
		"garbage 200":        echoing(0, `<html>ECHO</html>`),
		"envelope error 200": echoing(0, `{"validated":false,"response":false,"status":false,"error":ECHO}`),
		"wrong type 200":     echoing(0, `{"validated":ECHO,"response":ECHO,"status":ECHO,"workOrders":ECHO,"items":ECHO}`),
		"oversized":          echoing(0, `{"error":[`+strings.Repeat(`ECHO,`, 100)+`0]}`),
		"truncated": func(w http.ResponseWriter, r *http.Request) {
			msg, _ := json.Marshal(echoOf(r))
			w.Header().Set("Content-Length", "1000000")
			_, _ = io.WriteString(w, `{"error":`+string(msg))
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			// The server notices a closed connection only once the body
			// is read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		},
		"hijack close": func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		},
	}
	for name, handler := range failures {
		for call, do := range allCalls {
			if call == CallItemContent && succeedOnContent[name] {
				continue
			}
			t.Run(name+"/"+call, func(t *testing.T) {
				g := NewWithT(t)
				c := newTestClient(t, handler, WithTimeout(200*time.Millisecond), WithIdleTimeout(200*time.Millisecond), WithMaxResponseBytes(8<<10))
				err := do(c)
				g.Expect(err).To(HaveOccurred())
				assertClean(g, err, quiet[name])
			})
		}
	}

	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		for call, do := range allCalls {
			g := NewWithT(t)
			c, err := NewClient(srv.URL)
			g.Expect(err).NotTo(HaveOccurred())
			err = do(c)
			g.Expect(err).To(HaveOccurred(), call)
			assertClean(g, err, true)
		}
	})

	t.Run("malformed status line", func(t *testing.T) {
		// net/http quotes a malformed status line in its error.
		addr := rawServer(t)
		for call, do := range allCalls {
			g := NewWithT(t)
			c, err := NewClient("http://" + addr)
			g.Expect(err).NotTo(HaveOccurred())
			err = do(c)
			g.Expect(err).To(HaveOccurred(), call)
			assertClean(g, err, false)
		}
	})
}

func assertClean(g Gomega, err error, noURL bool) {
	for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err)} {
		for _, s := range forbidden {
			g.Expect(text).NotTo(ContainSubstring(s))
		}
		if noURL {
			g.Expect(text).NotTo(ContainSubstring("apiKey"))
			g.Expect(text).NotTo(ContainSubstring("?"))
			g.Expect(text).NotTo(ContainSubstring("http://"))
		}
	}
	// Errors from the server stay readable: one line, bounded.
	g.Expect(err.Error()).NotTo(ContainAny("\r\n\t"))
	g.Expect(len([]rune(err.Error()))).To(BeNumerically("<=", MaxMessageLen+64))
}

// ContainAny succeeds when the string holds none of chars... inverted by
// NotTo: the matcher matches when any of chars is in the string.
func ContainAny(chars string) OmegaMatcher {
	return WithTransform(func(s string) bool { return strings.ContainsAny(s, chars) }, BeTrue())
}

// rawServer answers every connection with a status line that quotes the
// request (its request line and body, without spaces, so that net/http
// quotes the line whole in its error), as a broken server would.
func rawServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				quoted := strings.Join(strings.Fields(req.RequestURI+echoOf(req)), "")
				_, _ = io.WriteString(conn, quoted+"\r\n\r\n")
			}()
		}
	}()
	return ln.Addr().String()
}

func TestSanitizeMessage(t *testing.T) {
	secrets := []string{testCreds.Password, testPushKey, "", "ab"}
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"  two\r\nlines\t\x1b[31mred ", "two lines [31mred"},
		{"bidi \u202eevil", "bidi evil"},
		{"key " + testPushKey + " here", "key [redacted] here"},
		{"short secrets ab stay", "short secrets ab stay"},
		{"bad utf8 \xff", "bad utf8 \uFFFD"},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		g.Expect(sanitizeMessage(tt.in, secrets)).To(Equal(tt.want), "%q", tt.in)
	}
	g := NewWithT(t)
	long := sanitizeMessage(strings.Repeat("é", 1000), nil)
	g.Expect([]rune(long)).To(HaveLen(MaxMessageLen))
	g.Expect(long).To(HaveSuffix("…"))
}

func TestErrorKinds(t *testing.T) {
	g := NewWithT(t)
	g.Expect(KindOf(nil)).To(BeEmpty())
	g.Expect(KindOf(io.EOF)).To(Equal(KindTransient))
	g.Expect(KindOf(fmt.Errorf("wrapped: %w", ErrNotFound))).To(Equal(KindNotFound))
	g.Expect(IsPermanent(ErrRefused)).To(BeTrue())
	g.Expect(IsPermanent(ErrThrottled)).To(BeFalse())
	g.Expect(IsPermanent(io.EOF)).To(BeFalse())

	err := fmt.Errorf("import: %w", &APIError{Call: CallPush, StatusCode: 429, Message: "slow down", RetryAfter: time.Minute, Kind: KindThrottled})
	g.Expect(err).To(MatchError(ErrThrottled))
	g.Expect(err).NotTo(MatchError(ErrTransient))
	g.Expect(err.Error()).To(Equal("import: push: HTTP 429: slow down (retry after 1m0s)"))
	d, ok := RetryAfter(err)
	g.Expect(ok).To(BeTrue())
	g.Expect(d).To(Equal(time.Minute))
	_, ok = RetryAfter(ErrThrottled)
	g.Expect(ok).To(BeFalse())

	bare := &APIError{Call: CallStatus, Message: "x"}
	g.Expect(bare.Unwrap()).To(BeEmpty())
	g.Expect(KindOf(bare)).To(Equal(KindTransient))
	g.Expect(context.Cause(context.Background())).To(BeNil())
}
