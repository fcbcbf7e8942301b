package accountserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// Server is a reference account server: the accounts, their sub-users,
// projects, items and integrations, the protocol over HTTP (Handler), and
// the methods that seed and drive it in-process. It is safe for concurrent
// use.
type Server struct {
	cfg       Config
	limits    Limits
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger

	db    *store
	blobs *blobStore

	accounts  sync.Map // name -> *accountRow
	verified  verifyCache
	kdf       *kdfSlots
	dummyHash func() string
	publicURL atomic.Pointer[string]

	faults  faultSet
	counts  counters
	limiter *rateLimiter
	hooks   *hookDispatcher
	handler http.Handler

	closeOnce sync.Once
	closeErr  error
}

// New opens (or creates) the data directory and returns a server. Close it.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("accountserver: DataDir is required")
	}
	s := &Server{
		cfg:       cfg,
		limits:    cfg.Limits.withDefaults(),
		retention: cfg.TombstoneRetention,
		now:       cfg.Now,
		log:       cfg.Logger,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention <= 0 {
		s.retention = DefaultTombstoneRetention
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.dummyHash = sync.OnceValue(func() string {
		h, _ := hashPassword(PasswordDigest("no such user"), cfg.PasswordHashing)
		return h
	})
	s.kdf = newKDFSlots(s.limits.PasswordChecks, cfg.kdfHook)
	s.limiter = newRateLimiter(cfg.RateLimit, s.now)
	if cfg.PublicURL != "" {
		s.SetPublicURL(cfg.PublicURL)
	}
	var err error
	if s.db, err = openStore(cfg.DataDir, s.now); err != nil {
		return nil, fmt.Errorf("accountserver: %w", err)
	}
	if s.blobs, err = newBlobStore(cfg.DataDir); err != nil {
		s.db.close()
		return nil, fmt.Errorf("accountserver: %w", err)
	}
	if n, err := s.blobs.collect(context.Background(), s.db.r); err != nil {
		s.db.close()
		return nil, fmt.Errorf("accountserver: %w", err)
	} else if n > 0 {
		s.log.Info("removed item content no item refers to", "files", n)
	}
	if s.hooks, err = newHookDispatcher(s, cfg.Hooks); err != nil {
		s.db.close()
		return nil, fmt.Errorf("accountserver: %w", err)
	}
	s.db.committed = s.hooks.notify
	s.handler = s.routes()
	return s, nil
}

// Close stops the delivery of hooks (cancelling deliveries under way) and
// closes the database. Stop serving first. Closing again does nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.hooks.stop()
		s.closeErr = s.db.close()
	})
	return s.closeErr
}

// Handler serves the protocol, the admin API and /healthz.
func (s *Server) Handler() http.Handler { return s.handler }

// SetPublicURL sets the root URL clients reach the server at, used in admin
// answers (account base URLs, push URLs).
func (s *Server) SetPublicURL(u string) {
	u = strings.TrimRight(u, "/")
	s.publicURL.Store(&u)
}

func (s *Server) root() string {
	if p := s.publicURL.Load(); p != nil {
		return *p
	}
	return ""
}

// AccountURL is the endpoint base URL of an account, {server}/a/{account};
// "" when the server does not know its public URL.
func (s *Server) AccountURL(account string) string {
	if r := s.root(); r != "" {
		return r + "/a/" + url.PathEscape(account)
	}
	return ""
}

func (s *Server) pushURL(account, key string) string {
	if base := s.AccountURL(account); base != "" {
		return base + protocol.PathPush + "?" + url.Values{protocol.QueryAPIKey: {key}}.Encode()
	}
	return ""
}

// callSpec is a protocol call: its name, its error envelope, the methods
// its URL serves (the Allow of a 405) and what its JSON input is called in
// error messages.
type callSpec struct {
	call  string
	fail  func(w http.ResponseWriter, status int, msg string)
	allow string
	input string
}

func envelope(call string) *callSpec {
	var f func(w http.ResponseWriter, status int, msg string)
	switch call {
	case CallGetWorkOrders:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.GetWorkOrdersResponse{WorkOrders: []protocol.WorkOrder{}, Error: msg})
		}
	case CallValidate:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.ValidateResponse{Validated: false, Error: msg})
		}
	case CallUploadPictures, CallStatus, CallItemResult:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.StatusResponse{Status: false, Error: msg})
		}
	case CallPush, CallTrigger:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.PushResponse{Response: false, Error: msg})
		}
	case CallItems:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.ItemFeedResponse{Items: []protocol.FeedItem{}, Error: msg})
		}
	case CallItemResults:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.ItemResultsResponse{Status: false, Results: []protocol.ItemResultAnswer{}, Error: msg})
		}
	case CallLookup:
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, protocol.LookupResponse{Projects: []protocol.LookupProject{}, Error: msg})
		}
	default: // CallItemContent: the answer is content; errors are JSON.
		f = func(w http.ResponseWriter, st int, msg string) {
			_ = protocol.WriteJSON(w, st, struct {
				Error string `json:"error"`
			}{msg})
		}
	}
	spec := &callSpec{call: call, fail: f, allow: http.MethodPost, input: protocol.FieldPayload}
	if call == CallPush || call == CallTrigger {
		// One URL: GET (and HEAD) triggers, POST pushes.
		spec.allow = "GET, HEAD, POST"
		spec.input = protocol.FieldWorkOrders
	}
	return spec
}

type callHandler func(w http.ResponseWriter, r *http.Request, a *accountRow) error

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})

	// Web services of a provider account (sub-user credentials).
	mux.Handle("/a/{account}"+protocol.PathGetWorkOrders, s.serveCall(CallGetWorkOrders, s.handleGetWorkOrders))
	mux.Handle("/a/{account}"+protocol.PathValidate, s.serveCall(CallValidate, s.handleValidate))
	mux.Handle("/a/{account}"+protocol.PathUploadPictures, s.serveCall(CallUploadPictures, s.handleUploadPictures))
	mux.Handle("/a/{account}"+protocol.PathStatus, s.serveCall(CallStatus, s.handleStatus))

	// The push key of a vendor account: GET triggers, POST pushes.
	trigger := s.serveCall(CallTrigger, s.handleTrigger)
	push := s.serveCall(CallPush, s.handlePush)
	pushKey := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			trigger.ServeHTTP(w, r)
			return
		}
		push.ServeHTTP(w, r)
	})
	mux.Handle("/a/{account}/api/{$}", pushKey)
	mux.Handle("/a/{account}/api", pushKey)

	// The item feed of a vendor account (project-defined, push key).
	mux.Handle("/a/{account}"+protocol.PathItems, s.serveCall(CallItems, s.handleItems))
	mux.Handle("/a/{account}"+protocol.PathItemContent, s.serveCall(CallItemContent, s.handleItemContent))
	mux.Handle("/a/{account}"+protocol.PathItemResult, s.serveCall(CallItemResult, s.handleItemResult))
	mux.Handle("/a/{account}"+protocol.PathItemResults, s.serveCall(CallItemResults, s.handleItemResults))
	mux.Handle("/a/{account}"+protocol.PathLookup, s.serveCall(CallLookup, s.handleLookup))

	// The read-only page of an account (page.go): GET {base}/ and below.
	s.pageRoutes(mux)

	mux.Handle("/admin/", http.StripPrefix("/admin", s.adminRoutes()))
	return s.bodyDeadlines(s.logRequests(mux))
}

// serveCall wraps a call: it counts the request, acts out an injected fault,
// finds the account, applies the rate limit, and answers errors in the
// call's envelope.
func (s *Server) serveCall(call string, h callHandler) http.Handler {
	spec := envelope(call)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("account")
		s.counts.add(name, call)
		sw := &startedWriter{ResponseWriter: w}
		w = sw
		if f := s.faults.take(name, call); f != nil {
			var run bool
			if w, run = applyFault(w, r, spec, f); !run {
				return
			}
			if tw, ok := w.(*truncatingWriter); ok {
				defer tw.finish()
			}
		}
		a, err := s.account(r.Context(), name)
		if err == nil {
			if ok, wait := s.limiter.allow(name); !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				err = errorf(ErrThrottled, "too many requests for account %s: retry after %ds", name, max(secs, 1))
			}
		}
		if err == nil {
			err = h(w, r, a)
		}
		if err == nil {
			return
		}
		status, msg := s.errorAnswer(r, spec, err)
		if sw.started {
			// Part of an answer is out: cut the connection, so that the
			// client sees a broken answer rather than a short valid one.
			panic(http.ErrAbortHandler)
		}
		setErrorHeaders(w.Header(), status, spec.allow)
		spec.fail(w, status, msg)
	})
}

// errorAnswer maps an error to the status and message of its answer, and
// logs internal errors. Decoding errors are told in the protocol's words
// (jsonMessage), never in the decoder's.
func (s *Server) errorAnswer(r *http.Request, spec *callSpec, err error) (int, string) {
	var re *protocol.RequestError
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, errRequestTimeout):
		// Before RequestError: the protocol's decoders wrap read errors.
		msg := "the request body stalled or came too slowly"
		if ke := (*kindError)(nil); errors.As(err, &ke) && errors.Is(ke, errRequestTimeout) {
			msg = ke.Error()
		}
		return http.StatusRequestTimeout, msg
	case errors.As(err, &re):
		if isDecodeError(re) {
			return re.StatusCode, jsonMessage(spec.input, re.Unwrap())
		}
		return re.StatusCode, re.Message
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	}
	status := httpStatus(err)
	if status == http.StatusInternalServerError {
		s.log.Error("call failed", "call", spec.call, "account", r.PathValue("account"), "error", err)
	}
	return status, publicMessage(err)
}

// isDecodeError reports whether a request error is about the JSON sent
// (the protocol's decoders keep the decoder's error as its cause).
func isDecodeError(re *protocol.RequestError) bool {
	cause := re.Unwrap()
	if cause == nil {
		return false
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	return errors.As(cause, &te) || errors.As(cause, &se) || strings.HasSuffix(re.Message, " is not valid JSON")
}

// setErrorHeaders adds what an error answer of a status needs: Allow for
// 405, Retry-After for 429 (unless the rate limit set its own), and
// Connection: close for 408 (the rest of the body will not be read).
func setErrorHeaders(h http.Header, status int, allow string) {
	switch status {
	case http.StatusMethodNotAllowed:
		if allow != "" {
			h.Set("Allow", allow)
		}
	case http.StatusTooManyRequests:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	case http.StatusRequestTimeout:
		h.Set("Connection", "close")
	}
}

// startedWriter records whether the answer has started.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack lets FaultDrop close the connection.
func (w *startedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// statusWriter records the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// logRequests logs each request at debug level: method, path (never the
// query, which may hold a push key), status, duration.
func (s *Server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration", time.Since(start).Round(time.Microsecond))
		}()
		h.ServeHTTP(sw, r)
	})
}
