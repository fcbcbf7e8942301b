package controllers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// hostileProvider stands in front of the reference server's provider
// account and adds hostile orders to every getWorkOrders answer: the
// reference server refuses to store them (it bounds nesting at 64 levels),
// but a provider that is not the reference server may send anything. Every
// other call goes through unchanged.
func hostileProvider(t *testing.T, w *world, hostile []string) string {
	t.Helper()
	target, err := url.Parse(w.srv.URL)
	w.g.Expect(err).NotTo(HaveOccurred())
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, protocol.PathGetWorkOrders) || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		var ans struct {
			WorkOrders []json.RawMessage `json:"workOrders"`
			Error      json.RawMessage   `json:"error"`
			ServerTime json.RawMessage   `json:"serverTime"`
		}
		if !decodes(body, &ans) || ans.WorkOrders == nil {
			// An error envelope: pass it on as it came.
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return nil
		}
		var b bytes.Buffer
		b.WriteString(`{"workOrders":[`)
		for i, o := range append(append([]json.RawMessage{}, ans.WorkOrders...), rawAll(hostile)...) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(o)
		}
		b.WriteString(`],"error":""`)
		if ans.ServerTime != nil {
			b.WriteString(`,"serverTime":`)
			b.Write(ans.ServerTime)
		}
		b.WriteByte('}')
		resp.Body = io.NopCloser(&b)
		resp.ContentLength = int64(b.Len())
		resp.Header.Set("Content-Length", strconv.Itoa(b.Len()))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL + "/a/" + providerAccount
}

func decodes(data []byte, v any) bool { return json.Unmarshal(data, v) == nil }

func rawAll(s []string) []json.RawMessage {
	out := make([]json.RawMessage, len(s))
	for i := range s {
		out[i] = json.RawMessage(s[i])
	}
	return out
}

// hostileOrder is a complete order with more attributes.
func hostileOrder(number string, more ...string) string {
	b, _ := json.Marshal(number)
	return `{"workOrderNumber":` + string(b) + `,"address1":"1 Main","city":"Round Rock","state":"TX","zip":"78664",` +
		`"assignedTo":"fieldco","services":[{"serviceName":"Grass Cut"}]` + strings.Join(append([]string{""}, more...), ",") + `}`
}

func occurrences(evs []eventsv1.Event, reason string) (n int32, notes []string) {
	for _, e := range evs {
		if e.Reason != reason {
			continue
		}
		notes = append(notes, e.Note)
		if e.Series != nil {
			n += e.Series.Count
		} else {
			n++
		}
	}
	return n, notes
}

func rawControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0
}

// TestHostileProvider: a provider's answer holds, beside good orders, an
// order nested thousands of levels deep, one beyond encoding/json's 10,000,
// a 2 MB order, numbers with '/', unicode, control characters, over 128
// characters or empty, a number that already carries the link's code, an
// order that grows over the cap as stored, one the API server refuses, one
// that is not an order, and a number sent 2,000 times. The good orders
// import and reach the vendor once; each bad one is refused alone, counted
// in status and told in one event per pull; no spec.upstream exceeds the
// cap; nothing stalls or loops.
func TestHostileProvider(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("6001"), order("6002"))

	deep := func(levels int) string {
		return `"lockbox":` + strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
	}
	var tasks []string
	for i := range 101 {
		tasks = append(tasks, fmt.Sprintf(`{"serviceName":"Task %d"}`, i))
	}
	hostile := []string{
		hostileOrder("DEEP", deep(5000)),
		hostileOrder("DEEPER", deep(20000)),
		hostileOrder("BIG", `"notes":"`+strings.Repeat("n", 2<<20)+`"`),
		hostileOrder("A/7 Ünit 北"),
		hostileOrder("7\x1b[31m\u202eRED"),
		hostileOrder(strings.Repeat("L", 200)),
		hostileOrder(""),
		hostileOrder(clientCode + "::9"),
		hostileOrder("GROWS", `"notes":"`+strings.Repeat("<", 60<<10)+`"`),
		`{"workOrderNumber":"TASKS","address1":"1 Main","city":"Round Rock","state":"TX","zip":"78664","services":[` + strings.Join(tasks, ",") + `]}`,
		`"not an order"`,
	}
	for i := range 2000 {
		hostile = append(hostile, hostileOrder("SAME", fmt.Sprintf(`"copy":%d`, i)))
	}
	const refused = 10 // DEEP, DEEPER, BIG, control, long, empty, ACME::9, GROWS, TASKS, not an order
	providerURL := hostileProvider(t, w, hostile)

	w.startOperator()
	w.createLink(linkName, manualImport, func(l *sharev1.ShareLink) { l.Spec.Provider.URL = providerURL })
	good := []string{"6001", "6002", "A/7 Ünit 北", "SAME"}
	w.waitImported(linkName, good)
	l := w.waitReady(linkName)
	g.Expect(l.Status.RefusedOrders).To(Equal(int32(refused)))
	g.Expect(l.Status.LastError).To(BeEmpty())
	for _, f := range l.Status.RecentFailures {
		g.Expect(rawControl(f.Subject+f.Message)).To(BeFalse(), "%q", f)
	}

	g.Eventually(func(g Gomega) {
		for _, p := range w.projects(g, linkName) {
			b, err := json.Marshal(p.Spec.Upstream)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(len(b)).To(BeNumerically("<=", protocol.MaxOrderBytes), "spec.upstream of %s", p.Name)
		}
		same := w.project(g, linkName, "SAME")
		g.Expect(string(same.Spec.Upstream.Attributes.Raw)).To(ContainSubstring(`"copy":1999`))
		for _, o := range vendorOrders(g, w) {
			g.Expect(o.Name).NotTo(HavePrefix(clientCode + "::" + clientCode + "::"))
		}
	}).Should(Succeed())

	g.Eventually(func(g Gomega) {
		n, notes := occurrences(w.events(g, "ShareLink", linkName), "OrdersRefused")
		g.Expect(n).To(Equal(int32(1)), "%q", notes)
		g.Expect(notes[0]).To(HavePrefix(fmt.Sprintf("refused %d orders: ", refused)))
		g.Expect(notes[0]).To(ContainSubstring(`(first: "DEEP", "DEEPER", "BIG")`))
		g.Expect(notes[0]).To(ContainSubstring("1 number carries the link's code ACME::"))
		g.Expect(notes[0]).To(ContainSubstring("1 refused by the API server"))
		for _, text := range w.eventMessages(g, "ShareLink", linkName) {
			g.Expect(rawControl(text)).To(BeFalse(), "%q", text)
		}
	}).Should(Succeed())

	// Another pull of the same answer: one more event, the same count, no
	// new project, nothing pushed again.
	before := w.resourceVersions(g)
	pushes := w.srv.RequestCounts()[protocol.CallPush]
	w.refresh(linkName, "again")
	g.Eventually(func(g Gomega) {
		n, _ := occurrences(w.events(g, "ShareLink", linkName), "OrdersRefused")
		g.Expect(n).To(Equal(int32(2)))
	}).Should(Succeed())
	g.Expect(w.link(linkName).Status.RefusedOrders).To(Equal(int32(refused)))
	g.Expect(changedKeys(before, w.resourceVersions(g))).To(BeEmpty())
	g.Expect(w.srv.RequestCounts()[protocol.CallPush]).To(Equal(pushes))
	w.waitReady(linkName)
}
