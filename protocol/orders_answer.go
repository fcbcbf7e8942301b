package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// A getWorkOrders answer is read order by order, so that one order a
// provider cannot send safely (too large, nested too deep, not an order at
// all) is refused alone while the others import, and so that the answer is
// never held in memory as a whole: a full pull may hold tens of thousands of
// orders. The scanner below finds where each order of the workOrders array
// ends by counting brackets, which costs no memory whatever the nesting;
// only an order within MaxOrderBytes and MaxOrderDepth is decoded.

// OrderRefusal says why an order of an answer was refused. The values are
// CamelCase so that a caller can use them as reasons as they are.
type OrderRefusal string

// Why an order of a getWorkOrders answer was left out.
const (
	// OrderTooLarge: the order's JSON is over MaxOrderBytes.
	OrderTooLarge OrderRefusal = "TooLarge"
	// OrderTooDeep: the order's JSON nests deeper than MaxOrderDepth.
	OrderTooDeep OrderRefusal = "TooDeep"
	// OrderInvalid: the element is not a work order: not a JSON object, a
	// known field of the wrong type, options that are not text.
	OrderInvalid OrderRefusal = "Invalid"
)

// RefusedOrder is an order of a getWorkOrders answer that the client left
// out of GetWorkOrdersResponse.WorkOrders, keeping the others.
type RefusedOrder struct {
	// Index is the order's position in the answer's workOrders array.
	Index int
	// Preceding is how many of the response's WorkOrders came before it in
	// the answer, so that a caller can tell whether a copy of the same
	// number came later ("the last copy counts").
	Preceding int
	// WorkOrderNumber is the order's number when it could be read (a
	// string attribute of the order itself), else "". It is the provider's
	// text: quote it before showing it.
	WorkOrderNumber string
	// Reason classifies the refusal.
	Reason OrderRefusal
	// Message says what is wrong, safe to show: it never quotes the order.
	Message string
}

// ReadWorkOrdersAnswer reads a getWorkOrders answer, {"workOrders":[…],
// "error":"","serverTime":…}, order by order. Orders over MaxOrderBytes or
// MaxOrderDepth, or that are not work orders, are listed in Refused and the
// others kept. The answer itself must be JSON of that shape with a
// workOrders array; anything else is an *APIError, as GetWorkOrders returns
// it: Transient for garbage, the envelope's error classified as usual.
// Reading errors of r are returned as they are. It does not bound r: wrap
// it in a limit first.
func ReadWorkOrdersAnswer(r io.Reader) (*GetWorkOrdersResponse, error) {
	return readWorkOrdersAnswer(r, nil)
}

// readWorkOrdersAnswer is ReadWorkOrdersAnswer with the secrets of the call
// to redact from messages.
func readWorkOrdersAnswer(r io.Reader, secrets []string) (*GetWorkOrdersResponse, error) {
	return collectParts(func(yield func(OrdersPart) error) (int64, error) {
		return streamWorkOrdersAnswer(r, secrets, yield)
	})
}

// collectParts gathers what a stream of getWorkOrders parts hands over into
// one answer, for the callers that want it whole.
func collectParts(stream func(yield func(OrdersPart) error) (int64, error)) (*GetWorkOrdersResponse, error) {
	out := &GetWorkOrdersResponse{WorkOrders: []WorkOrder{}}
	serverTime, err := stream(func(part OrdersPart) error {
		out.WorkOrders = append(out.WorkOrders, part.WorkOrders...)
		out.Refused = append(out.Refused, part.Refused...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.ServerTime = serverTime
	return out, nil
}

// OrdersPart is a part of a getWorkOrders answer as StreamWorkOrdersAnswer
// hands it over: at most MaxPushOrders accepted orders, in answer order,
// and the orders refused among them. RefusedOrder.Index and Preceding count
// from the start of the answer, not of the part.
type OrdersPart struct {
	WorkOrders []WorkOrder
	Refused    []RefusedOrder
}

// WorkOrderStreamer is a Provider whose getWorkOrders answer can be read a
// part at a time, so that a caller of a large pull never holds every order
// decoded at once. HTTPClient is one.
type WorkOrderStreamer interface {
	// StreamWorkOrders is GetWorkOrders handing the orders to yield a part
	// at a time (see StreamWorkOrdersAnswer); it returns the answer's
	// server time. A part is yielded before the answer is known to be
	// whole: a caller acts on the parts only when it returns no error.
	StreamWorkOrders(ctx context.Context, creds Credentials, since *int64, yield func(OrdersPart) error) (serverTime int64, err error)
}

// StreamWorkOrdersAnswer reads a getWorkOrders answer as
// ReadWorkOrdersAnswer does, under the same rules, but hands its orders to
// yield a part of at most MaxPushOrders accepted orders at a time (with the
// refusals among them), keeping none: the caller decides what to keep of
// each. The part's slices are yield's to keep. An error of yield stops the
// read and is returned; so is any error of the answer, which may come after
// parts were yielded (an envelope's error after its orders, or the answer
// cut short). It returns the answer's server time (0 when absent).
func StreamWorkOrdersAnswer(r io.Reader, yield func(OrdersPart) error) (int64, error) {
	return streamWorkOrdersAnswer(r, nil, yield)
}

func streamWorkOrdersAnswer(r io.Reader, secrets []string, yield func(OrdersPart) error) (int64, error) {
	var part OrdersPart
	flush := func() error {
		if len(part.WorkOrders) == 0 && len(part.Refused) == 0 {
			return nil
		}
		done := part
		part = OrdersPart{}
		return yield(done)
	}
	env, err := scanOrdersAnswer(r, func(w WorkOrder) error {
		if part.WorkOrders == nil {
			part.WorkOrders = make([]WorkOrder, 0, MaxPushOrders)
		}
		part.WorkOrders = append(part.WorkOrders, w)
		if len(part.WorkOrders) == MaxPushOrders {
			return flush()
		}
		return nil
	}, func(ro RefusedOrder) {
		part.Refused = append(part.Refused, ro)
	})
	if err == nil {
		err = flush()
	}
	var se *answerSyntaxError
	var re *answerReadError
	switch {
	case errors.As(err, &se):
		return 0, &APIError{Call: CallGetWorkOrders, StatusCode: 200, Kind: KindTransient,
			Message: sanitizeMessage("answer is not the expected JSON: "+se.Error(), secrets), cause: err}
	case errors.As(err, &re):
		return 0, re.err
	case err != nil:
		return 0, err
	}
	if err := checkEnvelope(CallGetWorkOrders, 200, presence(env.orders), "workOrders", env.errorRaw, secrets); err != nil {
		return 0, err
	}
	if env.serverTime != nil {
		return parseUnixSeconds(env.serverTime), nil
	}
	return 0, nil
}

// ordersEnvelope is what an answer says beside its orders.
type ordersEnvelope struct {
	orders     bool // a workOrders array was present
	errorRaw   json.RawMessage
	serverTime json.RawMessage
}

// answerSyntaxError: the answer is not JSON of the expected shape.
type answerSyntaxError struct {
	msg    string
	offset int64
}

func (e *answerSyntaxError) Error() string { return fmt.Sprintf("%s (at byte %d)", e.msg, e.offset) }

// answerReadError: reading the answer failed (cut short, too large, timed
// out). err is the reader's error.
type answerReadError struct{ err error }

func (e *answerReadError) Error() string { return e.err.Error() }
func (e *answerReadError) Unwrap() error { return e.err }

// Bounds of what the scanner keeps of the envelope's other members.
const (
	maxEnvelopeKeyBytes   = 64
	maxEnvelopeErrorBytes = 64 << 10
	maxServerTimeBytes    = 64
	// maxNumberCaptureBytes bounds the number kept of an order that is
	// refused undecoded: far over any number a project can have.
	maxNumberCaptureBytes = 1 << 10
)

// answerBufferSize is the scanner's read buffer: a large answer (8 MB at
// 10,000 orders) is read in few large reads.
const answerBufferSize = 64 << 10

// answerReaders keeps the scanner's buffers from one pull to the next. A
// new buffer for each pull was 30 % of all that an idle manager of 1,000
// links allocated (a pull of each link every 5 minutes, most answering no
// order), and its garbage a share of the GC's CPU (make bench, many links,
// heap profiles on either side of the idle window). Nothing the scanner
// hands on points into the buffer: values are copied out of it.
var answerReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, answerBufferSize) }}

// scanOrdersAnswer reads the answer from r, calling accept for each order it
// decodes and refuse for each it refuses, in answer order. An error of
// accept stops the scan and is returned.
func scanOrdersAnswer(r io.Reader, accept func(WorkOrder) error, refuse func(RefusedOrder)) (ordersEnvelope, error) {
	br := answerReaders.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		answerReaders.Put(br)
	}()
	s := &jsonScanner{r: br}
	var env ordersEnvelope
	b, err := s.skipSpace()
	if err != nil {
		return env, err
	}
	switch b {
	case 'n':
		if err := s.expectLiteral("null"); err != nil {
			return env, err
		}
		return env, s.expectEnd()
	case '{':
	default:
		return env, s.syntax("the answer is not a JSON object")
	}
	if b, err = s.skipSpace(); err != nil {
		return env, err
	}
	if b == '}' {
		return env, s.expectEnd()
	}
	for {
		if b != '"' {
			return env, s.syntax("expected a member name")
		}
		key, err := s.memberName()
		if err != nil {
			return env, err
		}
		if b, err = s.skipSpace(); err != nil {
			return env, err
		}
		if b != ':' {
			return env, s.syntax("expected ':' after a member name")
		}
		switch {
		case strings.EqualFold(key, "workOrders"):
			if env.orders {
				return env, s.syntax(`"workOrders" twice`)
			}
			if env.orders, err = s.scanOrders(accept, refuse); err != nil {
				return env, err
			}
		case strings.EqualFold(key, "error"):
			v := valueSink{keep: maxEnvelopeErrorBytes}
			if err := s.scanValue(&v); err != nil {
				return env, err
			}
			env.errorRaw = v.buf
			if v.size > int64(v.keep) {
				// Never read a cut message as "no error".
				env.errorRaw = json.RawMessage(`"error message too long"`)
			}
		case strings.EqualFold(key, "serverTime"):
			v := valueSink{keep: maxServerTimeBytes}
			if err := s.scanValue(&v); err != nil {
				return env, err
			}
			env.serverTime = nil
			if v.size <= int64(v.keep) {
				env.serverTime = v.buf
			}
		default:
			if err := s.scanValue(&valueSink{}); err != nil {
				return env, err
			}
		}
		if b, err = s.skipSpace(); err != nil {
			return env, err
		}
		switch b {
		case ',':
			if b, err = s.skipSpace(); err != nil {
				return env, err
			}
		case '}':
			return env, s.expectEnd()
		default:
			return env, s.syntax("expected ',' or '}' in the answer")
		}
	}
}

// scanOrders reads the value of workOrders: null (absent) or an array.
func (s *jsonScanner) scanOrders(accept func(WorkOrder) error, refuse func(RefusedOrder)) (bool, error) {
	b, err := s.skipSpace()
	if err != nil {
		return false, err
	}
	switch b {
	case 'n':
		return false, s.expectLiteral("null")
	case '[':
	default:
		return false, s.syntax(`"workOrders" is not an array`)
	}
	if b, err = s.skipSpace(); err != nil {
		return false, err
	}
	if b == ']' {
		return true, nil
	}
	s.unread()
	accepted := 0
	var scratch []byte // reused: decoding copies what it keeps
	for index := 0; ; index++ {
		v := valueSink{keep: MaxOrderBytes, orderTop: true, buf: scratch[:0]}
		if err := s.scanValue(&v); err != nil {
			return false, err
		}
		scratch = v.buf
		w, ro := decodeOrder(&v)
		if ro != nil {
			ro.Index, ro.Preceding = index, accepted
			refuse(*ro)
		} else {
			if err := accept(w); err != nil {
				return false, err
			}
			accepted++
		}
		if b, err = s.skipSpace(); err != nil {
			return false, err
		}
		switch b {
		case ',':
		case ']':
			return true, nil
		default:
			return false, s.syntax(`expected ',' or ']' in "workOrders"`)
		}
	}
}

// decodeOrder decodes one scanned element, or says why it is refused.
func decodeOrder(v *valueSink) (WorkOrder, *RefusedOrder) {
	refused := func(reason OrderRefusal, format string, args ...any) (WorkOrder, *RefusedOrder) {
		return WorkOrder{}, &RefusedOrder{WorkOrderNumber: v.number(), Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case v.size > int64(MaxOrderBytes):
		return refused(OrderTooLarge, "the order is %s, over the limit of %s", byteSize(v.size), byteSize(int64(MaxOrderBytes)))
	case v.maxDepth > MaxOrderDepth:
		return refused(OrderTooDeep, "the order nests deeper than %d levels", MaxOrderDepth)
	case len(v.buf) == 0 || v.buf[0] != '{':
		return refused(OrderInvalid, "the order is not a JSON object")
	}
	var w WorkOrder
	if err := json.Unmarshal(v.buf, &w); err != nil {
		return refused(OrderInvalid, "%s", orderErrorText(err))
	}
	return w, nil
}

// orderErrorText describes why an order did not decode without quoting it.
func orderErrorText(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("the order is not valid JSON (at byte %d of it)", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "the order"
		}
		return sanitizeMessage(fmt.Sprintf("%s must be %s, not %s", field, te.Type, te.Value), nil)
	default:
		return sanitizeMessage("the order is not valid: "+err.Error(), nil)
	}
}

// byteSize writes n as people read sizes: 256 KiB, 2.0 MiB, 900 bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// valueSink receives the bytes of one scanned JSON value.
type valueSink struct {
	keep     int    // bytes of the value to keep in buf; the rest is only counted
	buf      []byte // the value's first keep bytes
	size     int64  // the value's length in bytes
	maxDepth int    // deepest nesting, the value itself being level 1

	// orderTop asks for the top-level "workOrderNumber" string of an
	// object value, kept raw (escapes included) in numberRaw.
	orderTop  bool
	numberRaw []byte
	hasNumber bool
}

func (v *valueSink) put(b byte) {
	v.size++
	if len(v.buf) < v.keep {
		v.buf = append(v.buf, b)
	}
}

func (v *valueSink) putAll(p []byte) {
	v.size += int64(len(p))
	if room := v.keep - len(v.buf); room > 0 {
		v.buf = append(v.buf, p[:min(room, len(p))]...)
	}
}

// number decodes the captured number, "" when there was none.
func (v *valueSink) number() string {
	if !v.hasNumber {
		return ""
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, v.numberRaw...), '"'), &s) != nil {
		return ""
	}
	return s
}

// jsonScanner reads JSON a byte at a time from a buffered reader.
type jsonScanner struct {
	r   *bufio.Reader
	off int64
}

func (s *jsonScanner) syntax(msg string) error { return &answerSyntaxError{msg: msg, offset: s.off} }

func (s *jsonScanner) readByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == io.EOF {
		return 0, s.syntax("unexpected end of the answer")
	}
	if err != nil {
		return 0, &answerReadError{err: err}
	}
	s.off++
	return b, nil
}

func (s *jsonScanner) unread() {
	_ = s.r.UnreadByte()
	s.off--
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// skipSpace returns the next byte that is not white space.
func (s *jsonScanner) skipSpace() (byte, error) {
	for {
		b, err := s.readByte()
		if err != nil || !isSpace(b) {
			return b, err
		}
	}
}

// expectEnd checks that only white space follows.
func (s *jsonScanner) expectEnd() error {
	for {
		b, err := s.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &answerReadError{err: err}
		}
		s.off++
		if !isSpace(b) {
			return s.syntax("data after the answer")
		}
	}
}

// expectLiteral checks the rest of a literal whose first byte was read.
func (s *jsonScanner) expectLiteral(lit string) error {
	for i := 1; i < len(lit); i++ {
		b, err := s.readByte()
		if err != nil {
			return err
		}
		if b != lit[i] {
			return s.syntax("invalid literal")
		}
	}
	return nil
}

// memberName reads a member name whose opening quote was read, keeping at
// most maxEnvelopeKeyBytes of it: longer names are none the answer knows.
func (s *jsonScanner) memberName() (string, error) {
	var raw []byte
	over, err := s.scanString(nil, &raw, maxEnvelopeKeyBytes)
	if err != nil || over {
		return "", err
	}
	return unescapeName(raw), nil
}

// unescapeName decodes the raw content of a JSON string, as encoding/json
// reads names; "" when it is not valid.
func unescapeName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var name string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &name) != nil {
		return ""
	}
	return name
}

// scanString reads the rest of a string whose opening quote was read,
// passing each byte to v (when not nil), and keeps up to limit bytes of its
// raw content in *raw (when not nil). over says the content was longer.
func (s *jsonScanner) scanString(v *valueSink, raw *[]byte, limit int) (over bool, err error) {
	for {
		if raw == nil {
			// Fast path: pass on the buffered run of plain bytes at once.
			buf, _ := s.r.Peek(s.r.Buffered())
			n := len(buf)
			if i := bytes.IndexAny(buf, `"\`); i >= 0 {
				n = i
			}
			if n > 0 {
				if v != nil {
					v.putAll(buf[:n])
				}
				_, _ = s.r.Discard(n)
				s.off += int64(n)
			}
		}
		b, err := s.readByte()
		if err != nil {
			return over, err
		}
		if v != nil {
			v.put(b)
		}
		if b == '"' {
			return over, nil
		}
		keep := func(b byte) {
			if raw == nil {
				return
			}
			if len(*raw) < limit {
				*raw = append(*raw, b)
			} else {
				over = true
			}
		}
		keep(b)
		if b == '\\' {
			if b, err = s.readByte(); err != nil {
				return over, err
			}
			if v != nil {
				v.put(b)
			}
			keep(b)
		}
	}
}

// scanValue reads one JSON value into v. It checks only what it needs to
// find the value's end (strings and brackets); the bytes it keeps are
// checked by whoever decodes them. It keeps no state per level, so the
// nesting costs nothing however deep.
func (s *jsonScanner) scanValue(v *valueSink) error {
	b, err := s.skipSpace()
	if err != nil {
		return err
	}
	switch b {
	case '"':
		v.put(b)
		v.maxDepth = max(v.maxDepth, 1)
		_, err := s.scanString(v, nil, 0)
		return err
	case '{', '[':
	default:
		if !isLiteralByte(b) {
			return s.syntax("expected a JSON value")
		}
		v.put(b)
		v.maxDepth = max(v.maxDepth, 1)
		return s.scanLiteral(v)
	}
	// In the value's own object (depth 1 of an object), member names and
	// values alternate: find "workOrderNumber" and its string value.
	track := v.orderTop && b == '{'
	expectName, numberNext := false, false
	depth := 0
	for {
		switch b {
		case '"':
			v.put(b)
			atTop := track && depth == 1
			switch {
			case atTop && expectName:
				var name []byte
				over, err := s.scanString(v, &name, maxEnvelopeKeyBytes)
				if err != nil {
					return err
				}
				numberNext = !over && unescapeName(name) == "workOrderNumber"
				expectName = false
			case atTop && numberNext:
				var raw []byte
				over, err := s.scanString(v, &raw, maxNumberCaptureBytes)
				if err != nil {
					return err
				}
				// The last of duplicate names counts, as in encoding/json.
				v.numberRaw, v.hasNumber = raw, !over
				numberNext = false
			default:
				if _, err := s.scanString(v, nil, 0); err != nil {
					return err
				}
			}
		case '{', '[':
			v.put(b)
			depth++
			v.maxDepth = max(v.maxDepth, depth)
			switch depth {
			case 1:
				expectName = track
			case 2:
				numberNext = false // the value is not a string
			}
		case '}', ']':
			v.put(b)
			depth--
			if depth == 0 {
				return nil
			}
		case ',':
			v.put(b)
			if depth == 1 {
				expectName, numberNext = track, false
			}
		default:
			v.put(b)
			if depth == 1 && !isSpace(b) && b != ':' {
				numberNext = false // a literal value: not a string number
			}
		}
		if b, err = s.readByte(); err != nil {
			return err
		}
	}
}

func isLiteralByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '+' || b == '.'
}

// scanLiteral reads the rest of a number, true, false or null.
func (s *jsonScanner) scanLiteral(v *valueSink) error {
	for {
		b, err := s.r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &answerReadError{err: err}
		}
		if !isLiteralByte(b) {
			_ = s.r.UnreadByte()
			return nil
		}
		s.off++
		v.put(b)
	}
}
