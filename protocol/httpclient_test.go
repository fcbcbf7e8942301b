package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Recognisable secrets: a test fails if any of them shows in an error.
const (
	testPassword = "hunter2-correct-horse"
	testToken    = "TOKEN-0b9f7c0e-5a1d-4e7b-9c1a"
	testPushKey  = "PUSHKEY-zq8R7x3vB2-abcdef0123"
)

var testCreds = NewCredentials("crew1", testPassword, testToken)

// newTestClient starts an httptest server with handler and a client of it.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *HTTPClient {
	t.Helper()
	srv := newServer(handler)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL+"/v2/", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newServer(h http.HandlerFunc) *httptest.Server { return httptest.NewServer(h) }

// readPayload decodes the payload field of a web-service request the way a
// receiver does.
func readPayload(t *testing.T, r *http.Request, v any) {
	t.Helper()
	if err := DecodePayload(r, MaxFormBytes, v); err != nil {
		t.Errorf("DecodePayload: %v", err)
	}
}

func TestNewClientChecksTheURL(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"https://example.com", ""},
		{"http://example.com/base/", ""},
		{"ftp://example.com", "http or https"},
		{"example.com", "http or https"},
		{"https://", "no host"},
		{"https://user:secretpw@example.com", "user information"},
		{"https://example.com/?apiKey=secretkey", "query"},
		{"https://example.com/?", "query"},
		{"https://example.com/#x", "fragment"},
		{"https://exa mple.com/%zz?secretkey", "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			g := NewWithT(t)
			_, err := NewClient(tt.url)
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			g.Expect(err.Error()).NotTo(ContainSubstring("secret"))
		})
	}
	g := NewWithT(t)
	_, err := NewClient("https://example.com", WithTimeout(-1))
	g.Expect(err).To(HaveOccurred())
	_, err = NewClient("https://example.com", WithMaxResponseBytes(0))
	g.Expect(err).To(HaveOccurred())
}

func TestValidateSendsThePayload(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2/validate"))
		g.Expect(r.URL.RawQuery).To(BeEmpty())
		g.Expect(r.Header.Get("User-Agent")).To(Equal("test-agent"))
		var req ValidateRequest
		readPayload(t, r, &req)
		g.Expect(req).To(Equal(ValidateRequest{Credentials: testCreds, PushKey: testPushKey}))
		_ = WriteJSON(w, http.StatusOK, ValidateResponse{Validated: true})
	}, WithUserAgent("test-agent"))
	g.Expect(c.Validate(context.Background(), testCreds, testPushKey)).To(Succeed())
}

func TestGetWorkOrdersModes(t *testing.T) {
	g := NewWithT(t)
	var raw []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2/getWorkOrders"))
		form, err := DecodeForm(r.Body, MaxFormBytes)
		g.Expect(err).NotTo(HaveOccurred())
		raw = append(raw, form.Get(FieldPayload))
		_, _ = io.WriteString(w, `{"workOrders":[`+simpleOrder+`,{"workOrderNumber":"Gone","clientStatus":"Cancelled"}],"error":"","serverTime":1700000000}`)
	})
	resp, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(2))
	g.Expect(resp.WorkOrders[0].WorkOrderNumber).To(Equal("Simple"))
	g.Expect(resp.WorkOrders[1].IsTombstone()).To(BeTrue())
	g.Expect(resp.ServerTime).To(Equal(int64(1700000000)))

	since := int64(1393278236)
	_, err = c.GetWorkOrders(context.Background(), testCreds, &since)
	g.Expect(err).NotTo(HaveOccurred())

	g.Expect(raw).To(HaveLen(2))
	// Full mode sends an explicit null, as documented.
	g.Expect(raw[0]).To(MatchJSON(`{"username":"crew1","password":"` + testCreds.Password + `","token":"` + testToken + `","timestamp":null}`))
	g.Expect(raw[1]).To(MatchJSON(`{"username":"crew1","password":"` + testCreds.Password + `","token":"` + testToken + `","timestamp":1393278236}`))
}

func TestServiceExtension(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2/status.php"))
		_, _ = io.WriteString(w, `{"status":true,"error":""}`)
	}, WithServiceExtension(".php"))
	g.Expect(c.ReportStatus(context.Background(), testCreds, "7", "Complete")).To(Succeed())
}

func TestReportStatus(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2/status"))
		var req StatusRequest
		readPayload(t, r, &req)
		g.Expect(req).To(Equal(StatusRequest{Credentials: testCreds, WorkOrderNumber: "7", Status: "Complete"}))
		_ = WriteJSON(w, http.StatusOK, StatusResponse{Status: true})
	})
	g.Expect(c.ReportStatus(context.Background(), testCreds, "7", "Complete")).To(Succeed())
}

func TestPushAndTrigger(t *testing.T) {
	g := NewWithT(t)
	var posts atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2/api/"))
		g.Expect(PushKeyFromRequest(r)).To(Equal(testPushKey))
		switch r.Method {
		case http.MethodGet:
			_, _ = io.WriteString(w, `{"response":true,"error":"success"}`)
		case http.MethodPost:
			posts.Add(1)
			orders, err := DecodePushForm(r, MaxFormBytes)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(len(orders)).To(BeNumerically("<=", MaxPushOrders))
			resp := PushResponse{Response: true, Error: "success"}
			for _, o := range orders {
				resp.Results = append(resp.Results, PushResult{WorkOrderNumber: o.WorkOrderNumber, Project: "CODE::" + o.WorkOrderNumber, Action: ActionCreated})
			}
			_ = WriteJSON(w, http.StatusOK, resp)
		}
	})
	g.Expect(c.Trigger(context.Background(), testPushKey)).To(Succeed())

	orders := make([]WorkOrder, 2*MaxPushOrders+1)
	for i := range orders {
		orders[i] = WorkOrder{WorkOrderNumber: fmt.Sprint(i)}
	}
	resp, err := c.Push(context.Background(), testPushKey, orders)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(posts.Load()).To(BeEquivalentTo(3))
	g.Expect(resp.Response).To(BeTrue())
	g.Expect(resp.Results).To(HaveLen(len(orders)))
	g.Expect(resp.Results[2*MaxPushOrders].Project).To(Equal(fmt.Sprintf("CODE::%d", 2*MaxPushOrders)))

	resp, err = c.Push(context.Background(), testPushKey, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Response).To(BeTrue())
	g.Expect(posts.Load()).To(BeEquivalentTo(3))
}

func TestPushStopsAtTheFirstFailure(t *testing.T) {
	g := NewWithT(t)
	var posts atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if posts.Add(1) == 2 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"response":true,"error":"","results":[{"workOrderNumber":"x","action":"updated"}]}`)
	})
	resp, err := c.Push(context.Background(), testPushKey, make([]WorkOrder, 3*MaxPushOrders))
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(posts.Load()).To(BeEquivalentTo(2))
	g.Expect(resp).NotTo(BeNil())
	g.Expect(resp.Results).To(HaveLen(1))
}

func TestItemFeed(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/api/items":
			var req ItemFeedRequest
			readPayload(t, r, &req)
			g.Expect(req).To(Equal(ItemFeedRequest{PushKey: testPushKey, Cursor: "c1", Limit: 50}))
			_, _ = io.WriteString(w, `{"items":[{"item":{"uuid":"u1","workOrderNumber":"7","tilt":3},"project":"CODE::7","relayStatus":"published"}],"cursor":"c2","more":true,"error":""}`)
		case "/v2/api/items/result":
			var req ItemResultRequest
			readPayload(t, r, &req)
			g.Expect(req).To(Equal(ItemResultRequest{PushKey: testPushKey, UUID: "u1", RelayStatus: RelayFailed, Message: "nope"}))
			_, _ = io.WriteString(w, `{"status":true,"error":""}`)
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	})
	feed, err := c.ListItems(context.Background(), testPushKey, "c1", 50)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(feed.Cursor).To(Equal("c2"))
	g.Expect(feed.More).To(BeTrue())
	g.Expect(feed.Items).To(HaveLen(1))
	g.Expect(feed.Items[0].Item.Extra).To(HaveKeyWithValue("tilt", json.RawMessage(`3`)))
	g.Expect(feed.Items[0].Project).To(Equal("CODE::7"))

	g.Expect(c.ReportItem(context.Background(), testPushKey, ItemResultRequest{PushKey: "ignored", UUID: "u1", RelayStatus: RelayFailed, Message: "nope"})).To(Succeed())
}

// answer is a canned response of a test server.
type answer struct {
	status int
	header map[string]string
	body   string
}

func (a answer) serve(w http.ResponseWriter, _ *http.Request) {
	for k, v := range a.header {
		w.Header().Set(k, v)
	}
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
	_, _ = io.WriteString(w, a.body)
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		name      string
		ans       answer
		kind      ErrorKind
		sentinel  error
		msg       string
		retry     time.Duration
		permanent bool
	}{
		{"401", answer{status: 401}, KindInvalidCredentials, ErrInvalidCredentials, "Unauthorized", 0, true},
		{"403 with envelope", answer{status: 403, body: `{"error":"invalid username or password"}`}, KindInvalidCredentials, ErrInvalidCredentials, "invalid username or password", 0, true},
		{"400 about the login", answer{status: 400, body: `{"error":"Invalid token"}`}, KindInvalidCredentials, ErrInvalidCredentials, "Invalid token", 0, true},
		{"400", answer{status: 400, body: `{"error":"zip is required"}`}, KindRefused, ErrRefused, "zip is required", 0, true},
		{"413", answer{status: 413}, KindRefused, ErrRefused, "Request Entity Too Large", 0, true},
		{"422 html", answer{status: 422, body: `<html>oops</html>`}, KindRefused, ErrRefused, "Unprocessable Entity", 0, true},
		{"404", answer{status: 404, body: `{"error":"no such item"}`}, KindNotFound, ErrNotFound, "no such item", 0, true},
		{"410", answer{status: 410}, KindNotFound, ErrNotFound, "Gone", 0, true},
		{"429 seconds", answer{status: 429, header: map[string]string{"Retry-After": "120"}}, KindThrottled, ErrThrottled, "Too Many Requests", 2 * time.Minute, false},
		{"429 date", answer{status: 429, header: map[string]string{"Retry-After": "Wed, 01 May 2024 12:00:30 GMT"}}, KindThrottled, ErrThrottled, "Too Many Requests", 30 * time.Second, false},
		{"429 without header", answer{status: 429}, KindThrottled, ErrThrottled, "Too Many Requests", 0, false},
		{"408", answer{status: 408}, KindTransient, ErrTransient, "Request Timeout", 0, false},
		{"500", answer{status: 500, body: "boom"}, KindTransient, ErrTransient, "Internal Server Error", 0, false},
		{"503 retry", answer{status: 503, header: map[string]string{"Retry-After": "7"}}, KindTransient, ErrTransient, "Service Unavailable", 7 * time.Second, false},
		{"501", answer{status: 501}, KindRefused, ErrRefused, "Not Implemented", 0, true},
		{"302", answer{status: 302, header: map[string]string{"Location": "https://elsewhere/?apiKey=" + testPushKey}}, KindRefused, ErrRefused, "unexpected redirect", 0, true},
		{"599", answer{status: 599}, KindTransient, ErrTransient, "unexpected status", 0, false},
		{"garbage 200", answer{body: "<html>hello</html>"}, KindTransient, ErrTransient, "not the expected JSON", 0, false},
		{"empty 200", answer{}, KindTransient, ErrTransient, "not the expected JSON", 0, false},
		{"trailing garbage", answer{body: `{"workOrders":[]} x`}, KindTransient, ErrTransient, "not the expected JSON", 0, false},
		{"no workOrders", answer{body: `{"error":""}`}, KindTransient, ErrTransient, `no "workOrders"`, 0, false},
		{"null workOrders", answer{body: `{"workOrders":null,"error":""}`}, KindTransient, ErrTransient, `no "workOrders"`, 0, false},
		{"JSON null", answer{body: `null`}, KindTransient, ErrTransient, `no "workOrders"`, 0, false},
		{"bad login envelope", answer{body: `{"workOrders":[],"error":"invalid username or password"}`}, KindInvalidCredentials, ErrInvalidCredentials, "invalid username or password", 0, true},
		{"refusal envelope", answer{body: `{"error":"account suspended"}`}, KindRefused, ErrRefused, "account suspended", 0, true},
		{"transient envelope", answer{body: `{"error":"Service temporarily unavailable, try again"}`}, KindTransient, ErrTransient, "temporarily", 0, false},
		{"error as object", answer{body: `{"workOrders":[],"error":{"code":7}}`}, KindRefused, ErrRefused, `{"code":7}`, 0, true},
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := newTestClient(t, tt.ans.serve)
			c.now = func() time.Time { return now }
			_, err := c.GetWorkOrders(context.Background(), testCreds, nil)
			g.Expect(err).To(HaveOccurred())
			var ae *APIError
			g.Expect(errors.As(err, &ae)).To(BeTrue())
			g.Expect(ae.Call).To(Equal(CallGetWorkOrders))
			g.Expect(ae.Kind).To(Equal(tt.kind))
			g.Expect(KindOf(err)).To(Equal(tt.kind))
			g.Expect(err).To(MatchError(tt.sentinel))
			g.Expect(ae.Message).To(ContainSubstring(tt.msg))
			g.Expect(IsPermanent(err)).To(Equal(tt.permanent))
			d, ok := RetryAfter(err)
			g.Expect(d).To(Equal(tt.retry))
			g.Expect(ok).To(Equal(tt.retry > 0))
		})
	}
}

func TestEnvelopesOfEachCall(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		call func(c *HTTPClient) error
		kind ErrorKind // "" for success
	}{
		{"validate ok", `{"validated":true,"error":""}`, validate, ""},
		{"validate false", `{"validated":false,"error":"user is locked"}`, validate, KindInvalidCredentials},
		{"validate false, no text", `{"validated":false}`, validate, KindInvalidCredentials},
		{"validate without field", `{"error":""}`, validate, KindTransient},
		{"validate true with error", `{"validated":true,"error":"odd"}`, validate, KindInvalidCredentials},
		{"trigger ok", `{"response":true,"error":"success"}`, trigger, ""},
		{"trigger ok, error false", `{"response":true,"error":false}`, trigger, ""},
		{"trigger bad key", `{"response":false,"error":"invalid clientCode"}`, trigger, KindInvalidCredentials},
		{"trigger other", `{"response":false,"error":"integration disabled"}`, trigger, KindRefused},
		{"status ok", `{"status":true,"error":""}`, status, ""},
		{"status ok, error null", `{"status":true,"error":null}`, status, ""},
		{"status ok, error 0", `{"status":true,"error":0}`, status, ""},
		{"status false", `{"status":false,"error":"no such project"}`, status, KindRefused},
		{"status false, no text", `{"status":false,"error":""}`, status, KindRefused},
		{"status missing", `{}`, status, KindTransient},
		{"status not a bool", `{"status":"yes"}`, status, KindTransient},
		{"upload ok", `{"status":true,"error":""}`, upload, ""},
		{"upload refused", `{"status":false,"error":"project closed"}`, upload, KindRefused},
		{"upload bad login", `{"status":false,"error":"invalid username or password"}`, upload, KindInvalidCredentials},
		{"push ok", `{"response":true,"error":""}`, push, ""},
		{"push bad key", `{"response":false,"error":"invalid clientCode"}`, push, KindInvalidCredentials},
		{"items ok", `{"items":[],"cursor":"","error":""}`, items, ""},
		{"items missing", `{"cursor":""}`, items, KindTransient},
		{"items error", `{"error":"feed disabled"}`, items, KindRefused},
		{"item result ok", `{"status":true,"error":""}`, itemResult, ""},
		{"item result false", `{"status":false,"error":"unknown relay status"}`, itemResult, KindRefused},
	}
	_ = ctx
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := newTestClient(t, answer{body: tt.body}.serve)
			err := tt.call(c)
			if tt.kind == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(KindOf(err)).To(Equal(tt.kind), "%v", err)
		})
	}
}

func validate(c *HTTPClient) error {
	return c.Validate(context.Background(), testCreds, testPushKey)
}

func getWorkOrders(c *HTTPClient) error {
	_, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	return err
}

func status(c *HTTPClient) error {
	return c.ReportStatus(context.Background(), testCreds, "7", "Complete")
}

func upload(c *HTTPClient) error {
	content := strings.NewReader("jpeg bytes")
	return c.UploadItem(context.Background(), testCreds, Item{UUID: "u1", WorkOrderNumber: "7", Size: int64(content.Len())}, content)
}

func push(c *HTTPClient) error {
	_, err := c.Push(context.Background(), testPushKey, []WorkOrder{{WorkOrderNumber: "7"}})
	return err
}

func trigger(c *HTTPClient) error { return c.Trigger(context.Background(), testPushKey) }

func items(c *HTTPClient) error {
	_, err := c.ListItems(context.Background(), testPushKey, "", 0)
	return err
}

func openItem(c *HTTPClient) error {
	body, _, err := c.OpenItem(context.Background(), testPushKey, "u1")
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

func itemResult(c *HTTPClient) error {
	return c.ReportItem(context.Background(), testPushKey, ItemResultRequest{UUID: "u1", RelayStatus: RelayPublished})
}

// itemResults answers the call's failure or else the item's refusal: an
// account that answers 404 has no itemResults, and the item's own
// itemResult answers for it.
func itemResults(c *HTTPClient) error {
	errs, err := c.ReportItems(context.Background(), testPushKey, []ItemResult{{UUID: "u1", RelayStatus: RelayPublished}})
	if err == nil && len(errs) == 1 {
		err = errs[0]
	}
	return err
}

var allCalls = map[string]func(*HTTPClient) error{
	CallValidate:       validate,
	CallGetWorkOrders:  getWorkOrders,
	CallStatus:         status,
	CallUploadPictures: upload,
	CallPush:           push,
	CallTrigger:        trigger,
	CallItems:          items,
	CallItemContent:    openItem,
	CallItemResult:     itemResult,
	CallItemResults:    itemResults,
	CallLookup:         lookup,
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	g := NewWithT(t)
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
	}, WithHTTPClient(&http.Client{}))
	err := c.Trigger(context.Background(), testPushKey)
	g.Expect(err).To(MatchError(ErrRefused))
	g.Expect(hits.Load()).To(BeZero())
}

func TestTimeout(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	defer close(release)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, WithTimeout(100*time.Millisecond))
	start := time.Now()
	_, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err).To(MatchError(context.DeadlineExceeded))
	g.Expect(err.Error()).To(ContainSubstring("no complete answer within 100ms"))
}

func TestCallerCancellation(t *testing.T) {
	g := NewWithT(t)
	release := make(chan struct{})
	defer close(release)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := c.Validate(ctx, testCreds, "")
	g.Expect(err).To(MatchError(context.Canceled))
	g.Expect(KindOf(err)).To(Equal(KindTransient))
}

func TestBodyCap(t *testing.T) {
	g := NewWithT(t)
	big := `{"workOrders":[` + strings.Repeat(`{"workOrderNumber":"x"},`, 1000) + `{"workOrderNumber":"x"}],"error":""}`
	c := newTestClient(t, answer{body: big}.serve, WithMaxResponseBytes(4096))
	_, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err.Error()).To(ContainSubstring("answer larger than 4096 bytes"))

	// The same answer fits the default limit.
	c = newTestClient(t, answer{body: big}.serve)
	resp, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(1001))
}

func TestTruncatedAnswer(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, `{"workOrders":[`)
	})
	_, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err.Error()).To(ContainSubstring("answer cut short"))
	g.Expect(err).To(MatchError(io.ErrUnexpectedEOF))
}

func TestConnectionRefused(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c, err := NewClient(addr)
	g.Expect(err).NotTo(HaveOccurred())
	err = c.Trigger(context.Background(), testPushKey)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err.Error()).To(HavePrefix("pushKey: "))
	g.Expect(err.Error()).NotTo(ContainSubstring("apiKey"))
}

func TestMetrics(t *testing.T) {
	g := NewWithT(t)
	reg := prometheus.NewPedanticRegistry()
	var fail atomic.Bool
	handler := func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"validated":true,"error":""}`)
	}
	c := newTestClient(t, handler, WithRegisterer(reg))
	// A second client on the same registerer shares the series.
	c2 := newTestClient(t, handler, WithRegisterer(reg))
	g.Expect(c.Validate(context.Background(), testCreds, testPushKey)).To(Succeed())
	g.Expect(c2.Validate(context.Background(), testCreds, testPushKey)).To(Succeed())
	fail.Store(true)
	g.Expect(c.Validate(context.Background(), testCreds, testPushKey)).NotTo(Succeed())

	families, err := reg.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range families {
		byName[mf.GetName()] = mf
	}
	g.Expect(byName).To(HaveKey("share_protocol_requests_total"))
	g.Expect(byName).To(HaveKey("share_protocol_request_duration_seconds"))
	counts := map[string]float64{}
	for _, m := range byName["share_protocol_requests_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		counts[labels["call"]+"/"+labels["code"]] = m.GetCounter().GetValue()
	}
	g.Expect(counts).To(Equal(map[string]float64{"validate/200": 2, "validate/503": 1}))
	hist := byName["share_protocol_request_duration_seconds"].GetMetric()
	g.Expect(hist).To(HaveLen(1))
	g.Expect(hist[0].GetHistogram().GetSampleCount()).To(BeEquivalentTo(3))

	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				g.Expect(l.GetValue()).NotTo(ContainSubstring(testPushKey))
				g.Expect(l.GetValue()).NotTo(ContainSubstring("/"))
			}
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", time.Second, true},
		{"-3", 0, false},
		{"1.5", 0, false},
		{"99999999999", time.Hour, true},
		{"Wed, 01 May 2024 12:01:00 GMT", time.Minute, true},
		{"Wednesday, 01-May-24 12:01:00 GMT", time.Minute, true},
		{"Wed May  1 12:01:00 2024", time.Minute, true},
		{"Wed, 01 May 2024 11:00:00 GMT", time.Second, true},
		{"Thu, 01 May 2025 12:00:00 GMT", time.Hour, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		d, ok := parseRetryAfter(tt.in, now)
		g.Expect(ok).To(Equal(tt.ok), tt.in)
		g.Expect(d).To(Equal(tt.want), tt.in)
	}
}

func TestPushSplitsLargeBodies(t *testing.T) {
	g := NewWithT(t)
	var sizes []int64
	var numbers []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		sizes = append(sizes, r.ContentLength)
		orders, err := DecodePushForm(r, MaxFormBytes)
		g.Expect(err).NotTo(HaveOccurred())
		for _, o := range orders {
			numbers = append(numbers, o.WorkOrderNumber)
		}
		_, _ = io.WriteString(w, `{"response":true,"error":"success"}`)
	})
	const limit = 64 << 10
	c.maxPushBody = limit
	// 60 orders of some 5 KB each, url-encoded: 300 KB in all.
	text := strings.Repeat("lorem ipsum & co. ", 250)
	orders := make([]WorkOrder, 60)
	want := make([]string, len(orders))
	for i := range orders {
		want[i] = fmt.Sprint(i)
		orders[i] = WorkOrder{WorkOrderNumber: want[i], Instructions: &text}
	}
	// One order over the limit goes alone.
	huge := strings.Repeat("x", limit)
	orders = append(orders, WorkOrder{WorkOrderNumber: "huge", Instructions: &huge})
	want = append(want, "huge")

	_, err := c.Push(context.Background(), testPushKey, orders)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(numbers).To(Equal(want))
	g.Expect(len(sizes)).To(BeNumerically(">=", 5))
	for _, n := range sizes[:len(sizes)-1] {
		g.Expect(n).To(BeNumerically("<=", limit))
		g.Expect(n).To(BeNumerically(">", limit/2))
	}
	g.Expect(sizes[len(sizes)-1]).To(BeNumerically(">", limit))
}

func TestPackPushMatchesTheEncoder(t *testing.T) {
	g := NewWithT(t)
	orders := []WorkOrder{{WorkOrderNumber: "a&b"}, {WorkOrderNumber: "ü", Extra: map[string]json.RawMessage{"x": json.RawMessage(`[1, 2]`)}}}
	var bodies []string
	g.Expect(packPush(orders, 10, 1<<20, func(b string) error { bodies = append(bodies, b); return nil })).To(Succeed())
	want, _ := json.Marshal(PushRequest{WorkOrders: orders})
	g.Expect(bodies).To(Equal([]string{url.Values{FieldWorkOrders: {string(want)}}.Encode()}))

	bodies = nil
	g.Expect(packPush(orders, 1, 1<<20, func(b string) error { bodies = append(bodies, b); return nil })).To(Succeed())
	g.Expect(bodies).To(HaveLen(2))
}
