package accountserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pruvan-share/share-operator/protocol"
)

// Calls of the protocol, as counters and faults name them: the protocol
// package's call names.
const (
	CallGetWorkOrders  = protocol.CallGetWorkOrders
	CallValidate       = protocol.CallValidate
	CallUploadPictures = protocol.CallUploadPictures
	CallStatus         = protocol.CallStatus
	CallPush           = protocol.CallPush
	CallTrigger        = protocol.CallTrigger
	CallItems          = protocol.CallItems
	CallItemContent    = protocol.CallItemContent
	CallItemResult     = protocol.CallItemResult
	CallItemResults    = protocol.CallItemResults
	CallLookup         = protocol.CallLookup
	// CallAny in a Fault matches every call.
	CallAny = "*"
)

// Calls lists every call name.
var Calls = []string{CallGetWorkOrders, CallValidate, CallUploadPictures, CallStatus, CallPush, CallTrigger,
	CallItems, CallItemContent, CallItemResult, CallItemResults, CallLookup}

// FaultKind is what an injected fault does to an answer.
type FaultKind string

const (
	// FaultStatus answers Status (default 503) with the call's envelope and
	// the message "injected fault", and Retry-After when RetryAfter is set.
	FaultStatus FaultKind = "status"
	// FaultLatency answers normally after Latency.
	FaultLatency FaultKind = "latency"
	// FaultTruncate answers normally but cuts the body in half, with a
	// Content-Length of the whole: the client sees an unexpected EOF.
	FaultTruncate FaultKind = "truncate"
	// FaultGarbage answers 200 with a body that is not JSON.
	FaultGarbage FaultKind = "garbage"
	// FaultDrop closes the connection without an answer.
	FaultDrop FaultKind = "drop"
)

// Fault is an injected failure of a call. Latency applies before any kind.
// The request is neither read nor acted on, except with FaultLatency and
// FaultTruncate, which run the call: a truncated push is written.
type Fault struct {
	// Call is the call it hits (Call* constants, CallAny for every call).
	Call string `json:"call"`
	// Account limits it to one account; empty means every account.
	Account    string        `json:"account,omitempty"`
	Kind       FaultKind     `json:"kind"`
	Status     int           `json:"status,omitempty"`
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	Latency    time.Duration `json:"latency,omitempty"`
	// Times is how many requests it hits; 0 means until cleared.
	Times int `json:"times,omitempty"`
}

func (f Fault) validate() error {
	known := f.Call == CallAny
	for _, c := range Calls {
		known = known || f.Call == c
	}
	if !known {
		return errorf(ErrInvalid, "unknown call %q", f.Call)
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			return errorf(ErrInvalid, "a status fault answers 4xx or 5xx, not %d", f.Status)
		}
	case FaultLatency, FaultTruncate, FaultGarbage, FaultDrop:
	default:
		return errorf(ErrInvalid, "unknown fault kind %q (want status, latency, truncate, garbage or drop)", f.Kind)
	}
	if f.Times < 0 || f.Latency < 0 || f.RetryAfter < 0 {
		return errorf(ErrInvalid, "times, latency and retryAfter must not be negative")
	}
	return nil
}

type activeFault struct {
	Fault
	left int // -1: until cleared
}

// faultSet holds the injected faults, first match wins.
type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

// InjectFault makes the server fail matching requests until the fault has
// hit Times requests or ClearFaults is called. Faults are tried in the order
// they were injected; one request takes at most one.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.Kind == FaultStatus && f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
	}
	left := f.Times
	if left == 0 {
		left = -1
	}
	s.faults.mu.Lock()
	s.faults.faults = append(s.faults.faults, &activeFault{Fault: f, left: left})
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	s.faults.faults = nil
	s.faults.mu.Unlock()
}

// Faults lists the faults still active, with Times the requests they still
// hit (0: until cleared).
func (s *Server) Faults() []Fault {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := []Fault{}
	for _, f := range s.faults.faults {
		c := f.Fault
		c.Times = max(f.left, 0)
		out = append(out, c)
	}
	return out
}

func (fs *faultSet) take(account, call string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.faults {
		if (f.Call != CallAny && f.Call != call) || (f.Account != "" && f.Account != account) {
			continue
		}
		out := f.Fault
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				fs.faults = append(fs.faults[:i:i], fs.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

// counters count requests per call and per account and call.
type counters struct {
	mu   sync.Mutex
	all  map[string]int
	byAc map[[2]string]int
}

func (c *counters) add(account, call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.all == nil {
		c.all, c.byAc = map[string]int{}, map[[2]string]int{}
	}
	c.all[call]++
	c.byAc[[2]string{account, call}]++
}

// Requests returns how many requests of a call the server received (every
// request that reached the call's URL, answered or failed, faults included)
// since it started or ResetCounters.
func (s *Server) Requests(call string) int {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	return s.counts.all[call]
}

// AccountRequests is Requests for one account.
func (s *Server) AccountRequests(account, call string) int {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	return s.counts.byAc[[2]string{account, call}]
}

// RequestCounts returns every call's count.
func (s *Server) RequestCounts() map[string]int {
	s.counts.mu.Lock()
	defer s.counts.mu.Unlock()
	out := make(map[string]int, len(Calls))
	for _, c := range Calls {
		out[c] = s.counts.all[c]
	}
	return out
}

// ResetCounters sets every request count to zero.
func (s *Server) ResetCounters() {
	s.counts.mu.Lock()
	s.counts.all, s.counts.byAc = nil, nil
	s.counts.mu.Unlock()
}

// garbageBody is what FaultGarbage answers: not JSON, and not an error page
// a client could mistake for an envelope.
const garbageBody = "\x00\x01garbage<html>{\"workOrders\":[{\"workOrderNu"

// applyFault acts out f. It returns the writer the call should use and
// whether the call should still run.
func applyFault(w http.ResponseWriter, r *http.Request, spec *callSpec, f *Fault) (http.ResponseWriter, bool) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return w, false
		}
	}
	switch f.Kind {
	case FaultStatus:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		spec.fail(w, f.Status, fmt.Sprintf("injected fault: %d %s", f.Status, http.StatusText(f.Status)))
		return w, false
	case FaultGarbage:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(garbageBody)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(garbageBody))
		return w, false
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return w, false
			}
		}
		panic(http.ErrAbortHandler)
	case FaultTruncate:
		return &truncatingWriter{ResponseWriter: w}, true
	}
	return w, true
}

// truncatingWriter sends half of an answer. When the handler declares a
// Content-Length (item content) it passes half of it through and drops the
// rest; otherwise it buffers the answer and sends half of it under the full
// Content-Length. Either way the connection then closes short.
type truncatingWriter struct {
	http.ResponseWriter
	status  int
	limit   int64 // -1: buffering
	written int64
	buf     []byte
	header  bool
}

func (t *truncatingWriter) WriteHeader(code int) {
	if t.header {
		return
	}
	t.header, t.status, t.limit = true, code, -1
	if cl, err := strconv.ParseInt(t.Header().Get("Content-Length"), 10, 64); err == nil && cl > 0 {
		t.limit = cl / 2
		t.ResponseWriter.WriteHeader(code)
	}
}

func (t *truncatingWriter) Write(p []byte) (int, error) {
	if !t.header {
		t.WriteHeader(http.StatusOK)
	}
	if t.limit < 0 {
		t.buf = append(t.buf, p...)
		return len(p), nil
	}
	if t.written >= t.limit {
		return 0, errTruncated
	}
	n := min(int64(len(p)), t.limit-t.written)
	m, err := t.ResponseWriter.Write(p[:n])
	t.written += int64(m)
	if err == nil && int64(m) < int64(len(p)) {
		err = errTruncated
	}
	return m, err
}

var errTruncated = errors.New("answer truncated by an injected fault")

// finish sends the buffered half, if the answer was buffered.
func (t *truncatingWriter) finish() {
	if !t.header || t.limit >= 0 {
		return
	}
	t.Header().Set("Content-Length", strconv.Itoa(len(t.buf)))
	t.ResponseWriter.WriteHeader(t.status)
	_, _ = t.ResponseWriter.Write(t.buf[:len(t.buf)/2])
}

type faultJSON struct {
	Call       string    `json:"call"`
	Account    string    `json:"account,omitempty"`
	Kind       FaultKind `json:"kind"`
	Status     int       `json:"status,omitempty"`
	RetryAfter string    `json:"retryAfter,omitempty"`
	Latency    string    `json:"latency,omitempty"`
	Times      int       `json:"times,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("1.5s").
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Call: f.Call, Account: f.Account, Kind: f.Kind, Status: f.Status, Times: f.Times}
	if f.RetryAfter != 0 {
		j.RetryAfter = f.RetryAfter.String()
	}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as Go duration strings ("250ms", "2s").
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*f = Fault{Call: j.Call, Account: j.Account, Kind: j.Kind, Status: j.Status, Times: j.Times}
	var err error
	if j.RetryAfter != "" {
		if f.RetryAfter, err = time.ParseDuration(j.RetryAfter); err != nil {
			return errors.New("retryAfter must be a duration such as 250ms or 2s")
		}
	}
	if j.Latency != "" {
		if f.Latency, err = time.ParseDuration(j.Latency); err != nil {
			return errors.New("latency must be a duration such as 250ms or 2s")
		}
	}
	return nil
}
