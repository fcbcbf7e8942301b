package protocol

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
)

var twoResults = []ItemResult{
	{UUID: "u1", RelayStatus: RelayPublished},
	{UUID: "u2", RelayStatus: RelayFailed, Message: "project closed"},
}

func TestReportItemsRequestAndAnswer(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2" + PathItemResults))
		g.Expect(r.URL.RawQuery).To(BeEmpty(), "the push key travels in the body, never in a URL")
		var req ItemResultsRequest
		readPayload(t, r, &req)
		g.Expect(req).To(Equal(ItemResultsRequest{PushKey: testPushKey, Results: twoResults}))
		// Answers in another order than the request's.
		_ = WriteJSON(w, http.StatusOK, map[string]any{"status": true, "error": "", "results": []any{
			map[string]any{"uuid": "u2", "error": "unknown item " + testPushKey},
			map[string]any{"uuid": "u1", "error": ""},
		}})
	})
	errs, err := c.ReportItems(context.Background(), testPushKey, twoResults)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(errs).To(HaveLen(2))
	g.Expect(errs[0]).To(Succeed())
	g.Expect(errs[1]).To(MatchError(ErrRefused))
	g.Expect(IsPermanent(errs[1])).To(BeTrue())
	g.Expect(errs[1].Error()).To(ContainSubstring("unknown item"))
	g.Expect(errs[1].Error()).NotTo(ContainSubstring(testPushKey), "an item's message is redacted too")
}

// An answer that does not account for each result sent exactly once is
// garbage: no item may be taken as recorded on it.
func TestReportItemsHostileAnswers(t *testing.T) {
	tests := map[string]struct {
		body string
		want error
	}{
		"a uuid left out":           {`{"status":true,"error":"","results":[{"uuid":"u1","error":""}]}`, ErrTransient},
		"a uuid not sent":           {`{"status":true,"error":"","results":[{"uuid":"u1"},{"uuid":"u2"},{"uuid":"u3"}]}`, ErrTransient},
		"a uuid twice":              {`{"status":true,"error":"","results":[{"uuid":"u1"},{"uuid":"u1"},{"uuid":"u2"}]}`, ErrTransient},
		"a uuid in another case":    {`{"status":true,"error":"","results":[{"uuid":"U1"},{"uuid":"u2"}]}`, ErrTransient},
		"no results array":          {`{"status":true,"error":""}`, ErrTransient},
		"results not an array":      {`{"status":true,"error":"","results":{"u1":""}}`, ErrTransient},
		"no status":                 {`{"error":"","results":[{"uuid":"u1"},{"uuid":"u2"}]}`, ErrTransient},
		"not JSON":                  {`<html>`, ErrTransient},
		"status false with a cause": {`{"status":false,"error":"results are off","results":[]}`, ErrRefused},
		"a bad key":                 {`{"status":false,"error":"invalid clientCode","results":[]}`, ErrInvalidCredentials},
		"too large":                 {`{"status":true,"error":"","results":[` + strings.Repeat(`{"uuid":"u1"},`, 1000) + `{}]}`, ErrTransient},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			}, WithMaxResponseBytes(8<<10))
			errs, err := c.ReportItems(context.Background(), testPushKey, twoResults)
			g.Expect(err).To(MatchError(tt.want))
			g.Expect(errs).To(BeNil())
			g.Expect(err.Error()).NotTo(ContainSubstring(testPushKey))
		})
	}
}

func TestReportItemsRefusesBeforeSending(t *testing.T) {
	tests := map[string]struct {
		results []ItemResult
		want    string
	}{
		"too many":     {make([]ItemResult, MaxItemResults+1), "at most 100 results"},
		"no uuid":      {[]ItemResult{{UUID: "u1"}, {}}, "results[1] has no uuid"},
		"a uuid twice": {[]ItemResult{{UUID: "u1"}, {UUID: "u1"}}, "results[1] repeats a uuid"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			calls := 0
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { calls++ })
			_, err := c.ReportItems(context.Background(), testPushKey, tt.results)
			g.Expect(err).To(MatchError(ErrRefused))
			g.Expect(err).To(MatchError(ContainSubstring(tt.want)))
			g.Expect(calls).To(BeZero())
		})
	}
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("no result sends nothing") })
	errs, err := c.ReportItems(context.Background(), testPushKey, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(errs).To(BeEmpty())
}

// fallbackAccount is an account without itemResults: it answers the batch
// path with notFound, and itemResult for each uuid (404 for "gone").
type fallbackAccount struct {
	mu       sync.Mutex
	batch    int
	each     []string
	notFound int
}

func (a *fallbackAccount) serve(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		switch r.URL.Path {
		case "/v2" + PathItemResults:
			a.batch++
			w.WriteHeader(a.notFound)
		case "/v2" + PathItemResult:
			var req ItemResultRequest
			readPayload(t, r, &req)
			a.each = append(a.each, req.UUID)
			switch req.UUID {
			case "gone":
				_ = WriteJSON(w, http.StatusNotFound, map[string]any{"status": false, "error": "unknown item"})
			case "down":
				_ = WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": false, "error": "down"})
			default:
				_ = WriteJSON(w, http.StatusOK, map[string]any{"status": true, "error": ""})
			}
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	}
}

// An account that answers the batch path 404 (or 501) does not have it:
// the client reports item by item, then and for the rest of its life. A
// refused item is that item's answer; a failure of the account fails the
// whole report.
func TestReportItemsFallsBackItemByItem(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusNotImplemented} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			g := NewWithT(t)
			a := &fallbackAccount{notFound: status}
			c := newTestClient(t, a.serve(t))
			results := []ItemResult{{UUID: "u1", RelayStatus: RelayPublished}, {UUID: "gone", RelayStatus: RelayPublished}, {UUID: "u3", RelayStatus: RelayFailed}}
			errs, err := c.ReportItems(context.Background(), testPushKey, results)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(errs).To(HaveLen(3))
			g.Expect(errs[0]).To(Succeed())
			g.Expect(errs[1]).To(MatchError(ErrNotFound))
			g.Expect(errs[2]).To(Succeed())
			g.Expect(a.batch).To(Equal(1))
			g.Expect(a.each).To(Equal([]string{"u1", "gone", "u3"}))

			_, err = c.ReportItems(context.Background(), testPushKey, []ItemResult{{UUID: "down", RelayStatus: RelayPublished}, {UUID: "u5"}})
			g.Expect(err).To(MatchError(ErrTransient), "a failure of the account fails the report")
			g.Expect(a.batch).To(Equal(1), "the client remembers the account has no itemResults")
			g.Expect(a.each).To(Equal([]string{"u1", "gone", "u3", "down"}))
		})
	}
}

// Another failure of the batch call is the call's: no fallback.
func TestReportItemsNoFallbackOnOtherFailures(t *testing.T) {
	g := NewWithT(t)
	a := &fallbackAccount{notFound: http.StatusBadGateway}
	c := newTestClient(t, a.serve(t))
	_, err := c.ReportItems(context.Background(), testPushKey, twoResults)
	g.Expect(err).To(MatchError(ErrTransient))
	_, err = c.ReportItems(context.Background(), testPushKey, twoResults)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(a.batch).To(Equal(2))
	g.Expect(a.each).To(BeEmpty())
}

// The Fake without ReportItemsFunc reports through ReportItemFunc, as the
// client does with an account without the call.
func TestFakeReportItems(t *testing.T) {
	g := NewWithT(t)
	var seen []string
	f := &Fake{ReportItemFunc: func(_ context.Context, key string, r ItemResultRequest) error {
		g.Expect(key).To(Equal(testPushKey))
		g.Expect(r.PushKey).To(Equal(testPushKey))
		seen = append(seen, r.UUID)
		if r.UUID == "u2" {
			return &APIError{Call: CallItemResult, Kind: KindNotFound, Message: "unknown item"}
		}
		return nil
	}}
	errs, err := f.ReportItems(context.Background(), testPushKey, twoResults)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(errs[0]).To(Succeed())
	g.Expect(errs[1]).To(MatchError(ErrNotFound))
	g.Expect(seen).To(Equal([]string{"u1", "u2"}))
	g.Expect(f.Calls("ReportItems")).To(Equal(1))
	g.Expect(f.Calls("ReportItem")).To(Equal(2))

	down := errors.New("connection refused")
	f.ReportItemsFunc = func(context.Context, string, []ItemResult) ([]error, error) { return nil, down }
	_, err = f.ReportItems(context.Background(), testPushKey, twoResults)
	g.Expect(err).To(MatchError(down))
}
