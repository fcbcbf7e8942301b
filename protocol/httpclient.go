package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The HTTP implementation must satisfy both interfaces.
var (
	_ Provider = (*HTTPClient)(nil)
	_ Vendor   = (*HTTPClient)(nil)
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "share-operator-protocol/1"

// HTTPClient speaks the protocol to one account endpoint over HTTP. It is
// safe for concurrent use. Every failure it returns is an *APIError whose
// text holds no secret.
type HTTPClient struct {
	base            *url.URL
	ext             string
	hc              *http.Client
	timeout         time.Duration
	transferTimeout time.Duration
	idleTimeout     time.Duration
	maxResponse     int64
	maxPushBody     int64
	userAgent       string
	metrics         *clientMetrics
	now             func() time.Time
	// noItemResults says the account answered itemResults with 404 or
	// 501: ReportItems reports item by item for the client's life.
	noItemResults atomic.Bool
}

// Option configures NewClient.
type Option func(*options)

type options struct {
	timeout         time.Duration
	transferTimeout time.Duration
	idleTimeout     time.Duration
	maxResponse     int64
	hc              *http.Client
	rt              http.RoundTripper
	userAgent       string
	registerer      prometheus.Registerer
	ext             string
}

// WithTimeout bounds each JSON call (everything but uploads and downloads),
// from the request to the end of the answer. Default DefaultTimeout; 0 means
// only the caller's context bounds it.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithTransferTimeout bounds an upload or a download as a whole. Default
// DefaultTransferTimeout; 0 means no overall limit (the idle limit still
// applies).
func WithTransferTimeout(d time.Duration) Option {
	return func(o *options) { o.transferTimeout = d }
}

// WithIdleTimeout fails an upload or a download when no byte moved for d.
// Default DefaultIdleTimeout; 0 disables it.
func WithIdleTimeout(d time.Duration) Option { return func(o *options) { o.idleTimeout = d } }

// WithMaxResponseBytes bounds a JSON answer; a longer one is a transient
// error, never an out-of-memory. Default DefaultMaxResponseBytes.
func WithMaxResponseBytes(n int64) Option { return func(o *options) { o.maxResponse = n } }

// WithHTTPClient uses hc's transport, jar and timeout. The client works on a
// copy whose redirect policy is "do not follow": a redirect would carry
// credentials to another URL, or turn a POST into a GET without its body.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithTransport uses rt for every request (tests use it to inject faults).
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.rt = rt } }

// WithUserAgent sets the User-Agent header. Default DefaultUserAgent.
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithRegisterer registers the client's metrics on reg; nil (the default)
// records none. Clients sharing a registerer share the series.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *options) { o.registerer = reg }
}

// WithServiceExtension appends ext (for example ".php") to the web-service
// paths, for endpoints that follow the documented
// "{web service url}/getWorkOrders.{web service extension}" shape. It does
// not apply to the push key or the item feed.
func WithServiceExtension(ext string) Option { return func(o *options) { o.ext = ext } }

// NewClient returns a client of the account whose endpoint is baseURL: an
// absolute http or https URL, with an optional path prefix, and no user
// information, query or fragment (the protocol carries credentials in the
// body, and a query would be lost on every call).
func NewClient(baseURL string, opts ...Option) (*HTTPClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		// url.Parse quotes the input, which might hold a password.
		return nil, errors.New("protocol: the endpoint URL does not parse")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("protocol: the endpoint URL must be http or https")
	case u.Host == "":
		return nil, errors.New("protocol: the endpoint URL has no host")
	case u.User != nil:
		return nil, errors.New("protocol: the endpoint URL must not hold user information")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, errors.New("protocol: the endpoint URL must not have a query")
	case u.Fragment != "":
		return nil, errors.New("protocol: the endpoint URL must not have a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""

	o := options{
		timeout:         DefaultTimeout,
		transferTimeout: DefaultTransferTimeout,
		idleTimeout:     DefaultIdleTimeout,
		maxResponse:     DefaultMaxResponseBytes,
		userAgent:       DefaultUserAgent,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout < 0 || o.transferTimeout < 0 || o.idleTimeout < 0 {
		return nil, errors.New("protocol: timeouts must not be negative")
	}
	if o.maxResponse <= 0 {
		return nil, errors.New("protocol: the response size limit must be positive")
	}
	if strings.ContainsAny(o.ext, "/?#") {
		return nil, errors.New("protocol: the service extension must not hold / ? or #")
	}

	var hc http.Client
	if o.hc != nil {
		hc = *o.hc
	}
	switch {
	case o.rt != nil:
		hc.Transport = o.rt
	case hc.Transport == nil:
		// Never http.DefaultTransport itself: its idle pool is shared with
		// every other user of the process.
		hc.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	m, err := newClientMetrics(o.registerer)
	if err != nil {
		return nil, fmt.Errorf("protocol: registering metrics: %w", err)
	}
	return &HTTPClient{
		base:            u,
		ext:             o.ext,
		hc:              &hc,
		timeout:         o.timeout,
		transferTimeout: o.transferTimeout,
		idleTimeout:     o.idleTimeout,
		maxResponse:     o.maxResponse,
		maxPushBody:     MaxPushBodyBytes,
		userAgent:       o.userAgent,
		metrics:         m,
		now:             time.Now,
	}, nil
}

// request describes one HTTP exchange of a JSON call.
type request struct {
	call    string
	method  string
	path    string
	pushKey string     // sent as ?apiKey= when set
	form    url.Values // url-encoded POST body when set
	body    string     // or the body, already url-encoded
	secrets []string   // values to redact from any error text
}

func (c *HTTPClient) endpoint(path, pushKey string) string {
	u := *c.base
	u.Path += path
	if pushKey != "" {
		u.RawQuery = url.Values{QueryAPIKey: {pushKey}}.Encode()
	}
	return u.String()
}

func (c *HTTPClient) servicePath(p string) string { return p + c.ext }

// payloadForm encodes v as the JSON of the payload form field.
func payloadForm(call string, v any) (url.Values, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &APIError{Call: call, Kind: KindRefused, Message: "cannot encode the request: " + err.Error()}
	}
	return url.Values{FieldPayload: {string(b)}}, nil
}

func (c *HTTPClient) newRequest(ctx context.Context, r request, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, c.endpoint(r.path, r.pushKey), body)
	if err != nil {
		// The message of this error would quote the URL.
		return nil, &APIError{Call: r.call, Kind: KindRefused, Message: "cannot build the request"}
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// doJSON performs a JSON call and decodes a 2xx answer into out. Any
// failure is an *APIError.
func (c *HTTPClient) doJSON(ctx context.Context, r request, out any) error {
	return c.doCall(ctx, r, func(ctx context.Context, resp *http.Response) error {
		return c.readAnswer(ctx, r, resp, out)
	})
}

// doCall performs a JSON call and hands the answer to read, within the
// call's timeout. Any failure is an *APIError.
func (c *HTTPClient) doCall(ctx context.Context, r request, read func(ctx context.Context, resp *http.Response) error) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, &timeoutError{what: "no complete answer within", d: c.timeout})
		defer cancel()
	}
	if r.form != nil {
		r.body = r.form.Encode()
	}
	var body io.Reader
	if r.method == http.MethodPost {
		body = strings.NewReader(r.body)
	}
	req, err := c.newRequest(ctx, r, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observe(r.call, 0, start)
		return transportError(r.call, ctx, err, r.secrets)
	}
	defer resp.Body.Close()
	err = read(ctx, resp)
	c.metrics.observe(r.call, resp.StatusCode, start)
	return err
}

// readAnswer reads an answer through the size limit: a non-2xx status
// becomes an error classified by status, a 2xx body is decoded into out.
func (c *HTTPClient) readAnswer(ctx context.Context, r request, resp *http.Response, out any) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(r.call, resp, r.secrets)
	}
	data, err := readLimited(resp.Body, c.maxResponse)
	if err != nil {
		return c.readError(ctx, r, resp, err)
	}
	return decodeAnswer(r.call, resp.StatusCode, data, out, r.secrets)
}

// readError is the failure to read a 2xx answer to its end.
func (c *HTTPClient) readError(ctx context.Context, r request, resp *http.Response, err error) *APIError {
	if errors.Is(err, errTooLarge) {
		return &APIError{Call: r.call, StatusCode: resp.StatusCode, Kind: KindTransient,
			Message: fmt.Sprintf("answer larger than %d bytes", c.maxResponse), cause: err}
	}
	e := transportError(r.call, ctx, err, r.secrets)
	e.StatusCode = resp.StatusCode
	e.Message = "answer cut short: " + e.Message
	return e
}

// cappedReader fails with errTooLarge once more than limit bytes were read,
// so that a streamed answer is bounded as readLimited bounds a whole one.
type cappedReader struct {
	r    io.Reader
	left int64 // limit+1 less what was read
}

func newCappedReader(r io.Reader, limit int64) *cappedReader {
	return &cappedReader{r: r, left: limit + 1}
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

var errTooLarge = errors.New("body too large")

// readLimited reads all of r, failing with errTooLarge past limit bytes
// rather than holding whatever a broken or hostile peer sends.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// decodeAnswer decodes a 2xx JSON answer; anything but one JSON value of
// the right shape is garbage, a transient error.
func decodeAnswer(call string, status int, data []byte, out any, secrets []string) error {
	if err := json.Unmarshal(data, out); err != nil {
		return &APIError{Call: call, StatusCode: status, Kind: KindTransient,
			Message: sanitizeMessage("answer is not the expected JSON: "+err.Error(), secrets), cause: err}
	}
	return nil
}

// transportError turns a failure to get or read an answer into a transient
// *APIError. The *url.Error of net/http is unwrapped: its text holds the
// URL, and so the push key. When the context ended, its cause says why
// (which of our timeouts, or the caller's cancellation).
func transportError(call string, ctx context.Context, err error, secrets []string) *APIError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return &APIError{Call: call, Kind: KindTransient, Message: sanitizeMessage(err.Error(), secrets), cause: err}
}

// statusError classifies a non-2xx answer. The message is the envelope's
// "error" when the body is one; otherwise only the status text, because an
// HTML error page may quote the request.
func (c *HTTPClient) statusError(call string, resp *http.Response, secrets []string) *APIError {
	msg := ""
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		if data, err := readLimited(resp.Body, maxErrorBodyBytes); err == nil {
			msg = envelopeMessage(data)
		}
	} else {
		// The Location might hold anything; never quote it.
		msg = "unexpected redirect: check the endpoint URL"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
		if msg == "" {
			msg = "unexpected status"
		}
	}
	msg = sanitizeMessage(msg, secrets)
	e := &APIError{Call: call, StatusCode: resp.StatusCode, Message: msg, Kind: classifyStatus(resp.StatusCode, msg)}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
			e.RetryAfter = d
		}
	}
	return e
}

// envelopeMessage returns the "error" of a JSON envelope, or "".
func envelopeMessage(data []byte) string {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &env) != nil {
		return ""
	}
	return errorText(env.Error)
}

// errorText reads the "error" member of an envelope leniently: services
// written in loosely typed languages send false, null or a number for "no
// error" as well as "".
func errorText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case 'n', 'f':
		return ""
	case 't':
		return "error"
	case '{', '[':
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return "error"
		}
		return b.String()
	default:
		if n, err := strconv.ParseFloat(string(raw), 64); err == nil && n == 0 {
			return ""
		}
		return string(raw)
	}
}

// presence stands in for the boolean of envelopes that have none: the
// payload array, when present, plays its part.
func presence(present bool) *bool {
	if !present {
		return nil
	}
	return &present
}

// isSuccessText: the push key answers "success" in its error member.
func isSuccessText(s string) bool { return s == "" || strings.EqualFold(s, PushKeyOK) }

// checkEnvelope applies the rule of every envelope: success needs the call's
// boolean (when it has one) true and an empty error ("success" counts as
// empty). ok is nil when the boolean is missing: then a bare error is still
// a refusal, and an answer with neither is garbage.
func checkEnvelope(call string, status int, ok *bool, okName string, rawErr json.RawMessage, secrets []string) error {
	text := errorText(rawErr)
	if ok != nil && *ok && isSuccessText(text) {
		return nil
	}
	if ok == nil && isSuccessText(text) {
		return &APIError{Call: call, StatusCode: status, Kind: KindTransient,
			Message: fmt.Sprintf("answer is not the expected JSON: no %q", okName)}
	}
	msg := text
	if isSuccessText(text) {
		msg = fmt.Sprintf("%s is false", okName)
	}
	msg = sanitizeMessage(msg, secrets)
	return &APIError{Call: call, StatusCode: status, Kind: classifyEnvelope(call, msg), Message: msg}
}

// Validate checks the login with the provider. A refusal is always
// ErrInvalidCredentials.
func (c *HTTPClient) Validate(ctx context.Context, creds Credentials, pushKey string) error {
	secrets := append(creds.secrets(), pushKey)
	form, err := payloadForm(CallValidate, ValidateRequest{Credentials: creds, PushKey: pushKey})
	if err != nil {
		return err
	}
	var ans struct {
		Validated *bool           `json:"validated"`
		Error     json.RawMessage `json:"error"`
	}
	r := request{call: CallValidate, method: http.MethodPost, path: c.servicePath(PathValidate), form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return err
	}
	return checkEnvelope(CallValidate, http.StatusOK, ans.Validated, "validated", ans.Error, secrets)
}

// GetWorkOrders pulls the sub-user's orders. since nil asks for a full
// import ("timestamp":null). The answer must hold a "workOrders" array: an
// answer without one is garbage, not "no orders", because a full import
// that wrongly looks empty would cancel every order.
func (c *HTTPClient) GetWorkOrders(ctx context.Context, creds Credentials, since *int64) (*GetWorkOrdersResponse, error) {
	return collectParts(func(yield func(OrdersPart) error) (int64, error) {
		return c.StreamWorkOrders(ctx, creds, since, yield)
	})
}

// StreamWorkOrders is GetWorkOrders handing the orders over a part at a
// time as the answer is read (see StreamWorkOrdersAnswer). The whole answer
// is read within the call's timeout, so yield must be quick: keep what the
// part holds and act on it once the call returned without error.
func (c *HTTPClient) StreamWorkOrders(ctx context.Context, creds Credentials, since *int64, yield func(OrdersPart) error) (int64, error) {
	secrets := creds.secrets()
	form, err := payloadForm(CallGetWorkOrders, GetWorkOrdersRequest{Credentials: creds, Timestamp: since})
	if err != nil {
		return 0, err
	}
	r := request{call: CallGetWorkOrders, method: http.MethodPost, path: c.servicePath(PathGetWorkOrders), form: form, secrets: secrets}
	var serverTime int64
	err = c.doCall(ctx, r, func(ctx context.Context, resp *http.Response) error {
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return c.statusError(r.call, resp, r.secrets)
		}
		// Order by order, so that one order that cannot be read safely is
		// refused alone; see ReadWorkOrdersAnswer.
		var err error
		serverTime, err = streamWorkOrdersAnswer(newCappedReader(resp.Body, c.maxResponse), secrets, yield)
		var ae *APIError
		switch {
		case errors.As(err, &ae):
			ae.StatusCode = resp.StatusCode
			return ae
		case err != nil:
			return c.readError(ctx, r, resp, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return serverTime, nil
}

var _ WorkOrderStreamer = (*HTTPClient)(nil)

// parseUnixSeconds reads a Unix time in seconds from a number or a numeric
// string; 0 when it is neither.
func parseUnixSeconds(raw json.RawMessage) int64 {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1<<62 {
		return int64(f)
	}
	return 0
}

// UploadItem relays one item with uploadPictures, streaming content: memory
// use does not grow with the item's size. When item.Size > 0 the request has
// a Content-Length and content must hold exactly that many bytes. The call
// is bounded by the transfer and idle timeouts, not by WithTimeout, and
// returns on them even when content stalls; a Read of content pending at
// that moment may still complete afterwards (no further Read is made), so
// the caller should Close a stalled source. The caller keeps ownership of
// content.
func (c *HTTPClient) UploadItem(ctx context.Context, creds Credentials, item Item, content io.Reader) error {
	secrets := creds.secrets()
	if item.UUID == "" {
		return &APIError{Call: CallUploadPictures, Kind: KindRefused, Message: "the item has no uuid"}
	}
	if content == nil {
		content = http.NoBody
	}
	payload, err := EncodeUploadPayload(creds, item)
	if err != nil {
		return &APIError{Call: CallUploadPictures, Kind: KindRefused, Message: "cannot encode the item: " + err.Error()}
	}
	t := newTransfer(ctx, c.transferTimeout, c.idleTimeout)
	defer t.stop()
	body, contentType, length, err := newUploadBody(payload, item, content, t)
	if err != nil {
		return &APIError{Call: CallUploadPictures, Kind: KindRefused, Message: "cannot build the upload: " + err.Error()}
	}
	body.start(t)
	defer body.finish()
	r := request{call: CallUploadPictures, method: http.MethodPost, path: c.servicePath(PathUploadPictures), secrets: secrets}
	req, err := c.newRequest(t.ctx, r, io.NopCloser(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.ContentLength = length
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observe(r.call, 0, start)
		if serr := body.content.sourceErr(); serr != nil {
			// The caller's source failed (or lied about its size): say so,
			// rather than blaming the network.
			return &APIError{Call: r.call, Kind: KindTransient, cause: serr,
				Message: sanitizeMessage("reading the content: "+serr.Error(), secrets)}
		}
		return transportError(r.call, t.ctx, err, secrets)
	}
	defer resp.Body.Close()
	var ans struct {
		Status *bool           `json:"status"`
		Error  json.RawMessage `json:"error"`
	}
	err = c.readAnswer(t.ctx, r, resp, &ans)
	c.metrics.observe(r.call, resp.StatusCode, start)
	if err != nil {
		return err
	}
	return checkEnvelope(r.call, resp.StatusCode, ans.Status, "status", ans.Error, secrets)
}

// ReportStatus tells the provider the status of a project with the status
// web service.
func (c *HTTPClient) ReportStatus(ctx context.Context, creds Credentials, workOrderNumber, status string) error {
	secrets := creds.secrets()
	form, err := payloadForm(CallStatus, StatusRequest{Credentials: creds, WorkOrderNumber: workOrderNumber, Status: status})
	if err != nil {
		return err
	}
	var ans struct {
		Status *bool           `json:"status"`
		Error  json.RawMessage `json:"error"`
	}
	r := request{call: CallStatus, method: http.MethodPost, path: c.servicePath(PathStatus), form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return err
	}
	return checkEnvelope(CallStatus, http.StatusOK, ans.Status, "status", ans.Error, secrets)
}

// Push creates or updates orders through the push key, in POSTs of at most
// MaxPushOrders orders and MaxPushBodyBytes bytes. The answer merges the
// per-order results of every POST. On failure it returns the merged answer
// of the POSTs that went through (nil when none did) with the error, so that
// the caller can log what was applied. Pushing no orders sends nothing.
func (c *HTTPClient) Push(ctx context.Context, pushKey string, orders []WorkOrder) (*PushResponse, error) {
	if len(orders) == 0 {
		return &PushResponse{Response: true}, nil
	}
	merged := &PushResponse{Response: true}
	sent := 0
	err := packPush(orders, MaxPushOrders, c.maxPushBody, func(body string) error {
		results, err := c.postPush(ctx, pushKey, body)
		if err != nil {
			return err
		}
		sent++
		merged.Results = append(merged.Results, results...)
		return nil
	})
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) {
			err = &APIError{Call: CallPush, Kind: KindRefused, Message: sanitizeMessage("cannot encode the orders: "+err.Error(), []string{pushKey})}
		}
		if sent == 0 {
			return nil, err
		}
		return merged, err
	}
	return merged, nil
}

// packPush encodes each order once and groups them into url-encoded push
// bodies of at most maxOrders orders and maxBytes bytes, calling post with
// each as soon as it is full, so that only one body is held at a time. A
// push is an upsert, so how the list is split changes nothing but the number
// of requests. One order larger than maxBytes goes alone, and the account
// may refuse it. url.QueryEscape works byte by byte, so the length of a body
// is the sum of the lengths of its escaped pieces.
func packPush(orders []WorkOrder, maxOrders int, maxBytes int64, post func(body string) error) error {
	prefix := FieldWorkOrders + "=" + url.QueryEscape(`{"workOrders":[`)
	suffix := url.QueryEscape(`]}`)
	comma := url.QueryEscape(",")
	var b strings.Builder
	n := 0
	flush := func() error {
		b.WriteString(suffix)
		body := b.String()
		b.Reset()
		n = 0
		return post(body)
	}
	for _, o := range orders {
		j, err := json.Marshal(o)
		if err != nil {
			return err
		}
		e := url.QueryEscape(string(j))
		if n > 0 && (n >= maxOrders || int64(b.Len()+len(comma)+len(e)+len(suffix)) > maxBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		if n == 0 {
			b.WriteString(prefix)
		} else {
			b.WriteString(comma)
		}
		b.WriteString(e)
		n++
	}
	if n > 0 {
		return flush()
	}
	return nil
}

// postPush sends one push body and returns its per-order results.
func (c *HTTPClient) postPush(ctx context.Context, pushKey, body string) ([]PushResult, error) {
	var ans struct {
		Response *bool           `json:"response"`
		Error    json.RawMessage `json:"error"`
		Results  []PushResult    `json:"results"`
	}
	secrets := []string{pushKey}
	r := request{call: CallPush, method: http.MethodPost, path: PathPush, pushKey: pushKey, body: body, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return nil, err
	}
	if err := checkEnvelope(CallPush, http.StatusOK, ans.Response, "response", ans.Error, secrets); err != nil {
		return nil, err
	}
	return ans.Results, nil
}

// Trigger opens the push-key URL with a GET, as a browser bookmark does: the
// account refreshes the link. A wrong key is ErrInvalidCredentials.
func (c *HTTPClient) Trigger(ctx context.Context, pushKey string) error {
	secrets := []string{pushKey}
	var ans struct {
		Response *bool           `json:"response"`
		Error    json.RawMessage `json:"error"`
	}
	r := request{call: CallTrigger, method: http.MethodGet, path: PathPush, pushKey: pushKey, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return err
	}
	return checkEnvelope(CallTrigger, http.StatusOK, ans.Response, "response", ans.Error, secrets)
}

// ListItems reads one page of the item feed (a project-defined extension).
// limit <= 0 lets the account choose the page size.
func (c *HTTPClient) ListItems(ctx context.Context, pushKey, cursor string, limit int) (*ItemFeedResponse, error) {
	secrets := []string{pushKey}
	form, err := payloadForm(CallItems, ItemFeedRequest{PushKey: pushKey, Cursor: cursor, Limit: max(limit, 0)})
	if err != nil {
		return nil, err
	}
	var ans struct {
		ItemFeedResponse
		Error json.RawMessage `json:"error"`
	}
	r := request{call: CallItems, method: http.MethodPost, path: PathItems, form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return nil, err
	}
	if err := checkEnvelope(CallItems, http.StatusOK, presence(ans.Items != nil), "items", ans.Error, secrets); err != nil {
		return nil, err
	}
	out := ans.ItemFeedResponse
	out.Error = ""
	return &out, nil
}

// OpenItem streams an item's content (a project-defined extension). The
// body's reads are bounded by the transfer and idle timeouts and fail with
// *APIError; the caller must Close it. size is the Content-Length, or -1.
// An unknown uuid is ErrNotFound.
func (c *HTTPClient) OpenItem(ctx context.Context, pushKey, uuid string) (io.ReadCloser, int64, error) {
	secrets := []string{pushKey}
	form, err := payloadForm(CallItemContent, ItemContentRequest{PushKey: pushKey, UUID: uuid})
	if err != nil {
		return nil, 0, err
	}
	t := newTransfer(ctx, c.transferTimeout, c.idleTimeout)
	r := request{call: CallItemContent, method: http.MethodPost, path: PathItemContent, form: form, secrets: secrets}
	req, err := c.newRequest(t.ctx, r, strings.NewReader(form.Encode()))
	if err != nil {
		t.stop()
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "*/*")
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.metrics.observe(r.call, 0, start)
		defer t.stop()
		return nil, 0, transportError(r.call, t.ctx, err, secrets)
	}
	c.metrics.observe(r.call, resp.StatusCode, start)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer t.stop()
		defer resp.Body.Close()
		return nil, 0, c.statusError(r.call, resp, secrets)
	}
	t.progress()
	return &downloadBody{rc: resp.Body, t: t, secrets: secrets}, resp.ContentLength, nil
}

// ReportItem records an item's relay result in the vendor account (a
// project-defined extension). pushKey wins over result.PushKey.
func (c *HTTPClient) ReportItem(ctx context.Context, pushKey string, result ItemResultRequest) error {
	secrets := []string{pushKey}
	result.PushKey = pushKey
	form, err := payloadForm(CallItemResult, result)
	if err != nil {
		return err
	}
	var ans struct {
		Status *bool           `json:"status"`
		Error  json.RawMessage `json:"error"`
	}
	r := request{call: CallItemResult, method: http.MethodPost, path: PathItemResult, form: form, secrets: secrets}
	if err := c.doJSON(ctx, r, &ans); err != nil {
		return err
	}
	return checkEnvelope(CallItemResult, http.StatusOK, ans.Status, "status", ans.Error, secrets)
}
