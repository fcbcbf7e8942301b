package protocol

import (
	"context"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func lookup(c *HTTPClient) error {
	_, err := c.LookupProjects(context.Background(), testPushKey, []string{"7"})
	return err
}

func TestLookupProjectsRequestAndAnswer(t *testing.T) {
	g := NewWithT(t)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		g.Expect(r.URL.Path).To(Equal("/v2" + PathLookup))
		g.Expect(r.URL.RawQuery).To(BeEmpty(), "the push key travels in the body, never in a URL")
		var req LookupRequest
		readPayload(t, r, &req)
		g.Expect(req).To(Equal(LookupRequest{PushKey: testPushKey, WorkOrderNumbers: []string{"7", "8"}}))
		_ = WriteJSON(w, http.StatusOK, map[string]any{"error": "", "projects": []any{
			map[string]any{"workOrderNumber": "7", "project": "ACME::7",
				"workOrder": map[string]any{"workOrderNumber": "ACME::7", "description": "vendor's", "lotSize": "1 ac"}},
		}})
	})
	resp, err := c.LookupProjects(context.Background(), testPushKey, []string{"7", "8"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Found()).To(HaveLen(1))
	p := resp.Found()["7"]
	g.Expect(p.Project).To(Equal("ACME::7"))
	g.Expect(p.WorkOrder.WorkOrderNumber).To(Equal("7"), "the document carries the number asked")
	g.Expect(p.WorkOrder.Description).To(HaveValue(Equal("vendor's")))
	g.Expect(p.WorkOrder.Extra).To(HaveKey("lotSize"))
}

// A broken or hostile vendor account must not make the operator adopt a
// project it did not ask about: such answers are garbage, retried later.
func TestLookupProjectsHostileAnswers(t *testing.T) {
	tests := map[string]struct {
		body string
		want error
	}{
		"a number not asked":      {`{"error":"","projects":[{"workOrderNumber":"99","workOrder":{}}]}`, ErrTransient},
		"a number twice":          {`{"error":"","projects":[{"workOrderNumber":"7"},{"workOrderNumber":"7"}]}`, ErrTransient},
		"no projects array":       {`{"error":""}`, ErrTransient},
		"projects not an array":   {`{"error":"","projects":{"7":{}}}`, ErrTransient},
		"not JSON":                {`<html>`, ErrTransient},
		"an error with 200":       {`{"error":"lookups are off","projects":[]}`, ErrRefused},
		"a bad key in the answer": {`{"error":"invalid clientCode","projects":[]}`, ErrInvalidCredentials},
		"too large":               {`{"error":"","projects":[` + strings.Repeat(`{"workOrderNumber":"7"},`, 1000) + `{}]}`, ErrTransient},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tt.body))
			}, WithMaxResponseBytes(8<<10))
			_, err := c.LookupProjects(context.Background(), testPushKey, []string{"7", "8"})
			g.Expect(err).To(MatchError(tt.want))
			g.Expect(err.Error()).NotTo(ContainSubstring(testPushKey))
		})
	}
}

func TestLookupProjectsLimits(t *testing.T) {
	g := NewWithT(t)
	var calls int
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { calls++ })
	resp, err := c.LookupProjects(context.Background(), testPushKey, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Projects).To(BeEmpty())
	_, err = c.LookupProjects(context.Background(), testPushKey, make([]string, MaxPushOrders+1))
	g.Expect(err).To(MatchError(ErrRefused))
	g.Expect(calls).To(BeZero())
}

func TestFakeLookupProjects(t *testing.T) {
	g := NewWithT(t)
	f := &Fake{}
	_, err := f.LookupProjects(context.Background(), testPushKey, []string{"1"})
	g.Expect(err).To(MatchError(ContainSubstring("LookupProjectsFunc is not set")))
	g.Expect(f.Calls("LookupProjects")).To(Equal(1))
}
