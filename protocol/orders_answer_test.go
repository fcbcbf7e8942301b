package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// A hostile provider (issue #12): each order of a getWorkOrders answer that
// cannot be read safely is refused on its own and the others are kept.

// deepAttr is an unknown attribute nested depth levels below the order,
// whose own object is level 1: {"x":{"x":…1…}}.
func deepAttr(depth int) string {
	return `"x":` + strings.Repeat(`{"x":`, depth-1) + "1" + strings.Repeat("}", depth-1)
}

func orderJSON(number string, more ...string) string {
	parts := append([]string{fmt.Sprintf(`"workOrderNumber":%q,"zip":"78664"`, number)}, more...)
	return "{" + strings.Join(parts, ",") + "}"
}

// paddedOrder is an order of exactly size bytes.
func paddedOrder(number string, size int) string {
	base := orderJSON(number, `"pad":""`)
	return base[:len(base)-2] + strings.Repeat("p", size-len(base)) + `"}`
}

func TestReadWorkOrdersAnswerRefusesAlone(t *testing.T) {
	tests := []struct {
		name    string
		element string
		reason  OrderRefusal // "" when the element is accepted
		number  string       // the refusal's number
		message string
	}{
		{"at the size limit", paddedOrder("S", MaxOrderBytes), "", "", ""},
		{"one byte over", paddedOrder("S", MaxOrderBytes+1), OrderTooLarge, "S", "the order is 256.0 KiB, over the limit of 256 KiB"},
		{"2 MB order", paddedOrder("BIG", 2<<20), OrderTooLarge, "BIG", "the order is 2 MiB, over the limit of 256 KiB"},
		{"2 MB order, number last", `{"pad":"` + strings.Repeat("p", 2<<20) + `","workOrderNumber":"LAST"}`, OrderTooLarge, "LAST", "over the limit"},
		{"2 MB of nesting", `{"workOrderNumber":"N",` + deepAttr(1<<20) + `}`, OrderTooLarge, "N", "over the limit"},
		{"at the depth limit", orderJSON("D", deepAttr(MaxOrderDepth)), "", "", ""},
		{"one level deeper", orderJSON("D", deepAttr(MaxOrderDepth+1)), OrderTooDeep, "D", "deeper than 64 levels"},
		{"thousands of levels", orderJSON("D", deepAttr(5000)), OrderTooDeep, "D", "deeper than 64 levels"},
		{"beyond encoding/json's 10,000", orderJSON("D", deepAttr(20000)), OrderTooDeep, "D", "deeper than 64 levels"},
		{"deep arrays in a task's survey", `{"workOrderNumber":"S","services":[{"serviceName":"a","surveyDynamic":` + strings.Repeat("[", 80) + strings.Repeat("]", 80) + `}]}`, OrderTooDeep, "S", "deeper"},
		{"a number", `5`, OrderInvalid, "", "not a JSON object"},
		{"a string", `"WO-1"`, OrderInvalid, "", "not a JSON object"},
		{"null", `null`, OrderInvalid, "", "not a JSON object"},
		{"an array", `[{"workOrderNumber":"A"}]`, OrderInvalid, "", "not a JSON object"},
		{"zip an object", `{"workOrderNumber":"Z","zip":{"a":1}}`, OrderInvalid, "Z", "zip must be string"},
		{"number a number", `{"workOrderNumber":12}`, OrderInvalid, "", "workOrderNumber must be string"},
		{"options an object", `{"workOrderNumber":"O","options":{"a":{"b":1}}}`, OrderInvalid, "O", "options.a: must be text"},
		{"bad literal", `{"workOrderNumber":"L","x":tru}`, OrderInvalid, "L", "not valid JSON"},
		{"escaped number", `{"workOrderNumber":"A\u0007B","services":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, OrderTooDeep, "A\aB", "deeper"},
		{"number twice", `{"workOrderNumber":"1","workOrderNumber":"2","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, OrderTooDeep, "2", "deeper"},
		{"number in a nested object only", `{"x":{"workOrderNumber":"inner"},"y":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`, OrderTooDeep, "", "deeper"},
		{"odd numbers are the caller's to judge", orderJSON("A/7 ü\t"), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			body := `{"workOrders":[` + orderJSON("before") + `, ` + tt.element + ` ,` + orderJSON("after") + `],"error":"","serverTime":1714567890}`
			resp, err := ReadWorkOrdersAnswer(strings.NewReader(body))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(resp.ServerTime).To(Equal(int64(1714567890)))
			numbers := make([]string, len(resp.WorkOrders))
			for i, w := range resp.WorkOrders {
				numbers[i] = w.WorkOrderNumber
			}
			if tt.reason == "" {
				g.Expect(resp.Refused).To(BeEmpty())
				g.Expect(numbers).To(HaveLen(3))
				return
			}
			g.Expect(numbers).To(Equal([]string{"before", "after"}))
			g.Expect(resp.Refused).To(HaveLen(1))
			ro := resp.Refused[0]
			g.Expect(ro.Index).To(Equal(1))
			g.Expect(ro.Preceding).To(Equal(1))
			g.Expect(ro.Reason).To(Equal(tt.reason))
			g.Expect(ro.WorkOrderNumber).To(Equal(tt.number))
			g.Expect(ro.Message).To(ContainSubstring(tt.message))
			g.Expect(len(ro.Message)).To(BeNumerically("<", 300))
			g.Expect(ro.Message).NotTo(ContainSubstring("ppp"))
		})
	}
}

// TestReadWorkOrdersAnswerEnvelope: what the answer around the orders may
// hold, and what makes it garbage.
func TestReadWorkOrdersAnswerEnvelope(t *testing.T) {
	deepJunk := strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)
	tests := []struct {
		name   string
		body   string
		orders int
		kind   ErrorKind // "" for success
		msg    string
	}{
		{"empty array", `{"workOrders":[]}`, 0, "", ""},
		{"error after the orders", `{"workOrders":[{"workOrderNumber":"1"}],"error":"invalid username or password"}`, 0, KindInvalidCredentials, "invalid username"},
		{"error before the orders", `{"error":"account suspended","workOrders":[{"workOrderNumber":"1"}]}`, 0, KindRefused, "account suspended"},
		{"error null, serverTime a string", `{"error":null,"serverTime":"12","workOrders":[{"workOrderNumber":"1"}]}`, 1, "", ""},
		{"names in another case", `{"WorkOrders":[{"workOrderNumber":"1"}],"ERROR":""}`, 1, "", ""},
		{"escaped name", `{"work\u004frders":[{"workOrderNumber":"1"}]}`, 1, "", ""},
		{"deep unknown member", `{"junk":` + deepJunk + `,"workOrders":[{"workOrderNumber":"1"}]}`, 1, "", ""},
		{"huge error message", `{"workOrders":[],"error":"` + strings.Repeat("e", 1<<20) + `"}`, 0, KindRefused, "too long"},
		{"white space everywhere", " \n{ \"workOrders\" : [ {\"workOrderNumber\":\"1\"} , {\"workOrderNumber\":\"2\"} ] } \n", 2, "", ""},
		{"workOrders twice", `{"workOrders":[],"workOrders":[]}`, 0, KindTransient, "twice"},
		{"workOrders an object", `{"workOrders":{}}`, 0, KindTransient, "not an array"},
		{"workOrders null", `{"workOrders":null}`, 0, KindTransient, `no "workOrders"`},
		{"null", `null`, 0, KindTransient, `no "workOrders"`},
		{"an array", `[]`, 0, KindTransient, "not a JSON object"},
		{"empty", ``, 0, KindTransient, "unexpected end"},
		{"cut in an order", `{"workOrders":[{"workOrderNumber":"1"`, 0, KindTransient, "unexpected end"},
		{"cut in deep nesting", `{"workOrders":[{"x":` + strings.Repeat("[", 50_000), 0, KindTransient, "unexpected end"},
		{"missing comma", `{"workOrders":[{"workOrderNumber":"1"} {"workOrderNumber":"2"}]}`, 0, KindTransient, "expected ','"},
		{"trailing data", `{"workOrders":[]} x`, 0, KindTransient, "data after the answer"},
		{"unbalanced close", `{"workOrders":[{"a":1}}]}`, 0, KindTransient, "not the expected JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			resp, err := ReadWorkOrdersAnswer(strings.NewReader(tt.body))
			if tt.kind == "" {
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(resp.WorkOrders).NotTo(BeNil())
				g.Expect(resp.WorkOrders).To(HaveLen(tt.orders))
				return
			}
			g.Expect(KindOf(err)).To(Equal(tt.kind), "%v", err)
			g.Expect(err.Error()).To(ContainSubstring(tt.msg))
			var ae *APIError
			g.Expect(errors.As(err, &ae)).To(BeTrue())
			g.Expect(ae.Call).To(Equal(CallGetWorkOrders))
		})
	}
}

// TestGetWorkOrdersRefusesAloneOverHTTP: the client reads the answer order
// by order within its response cap, and a hostile order does not fail the
// call.
func TestGetWorkOrdersRefusesAloneOverHTTP(t *testing.T) {
	g := NewWithT(t)
	body := `{"workOrders":[` + orderJSON("1") + `,` + paddedOrder("BIG", 2<<20) + `,` + orderJSON("D", deepAttr(20000)) + `,` + orderJSON("2") + `],"error":""}`
	c := newTestClient(t, answer{body: body}.serve)
	resp, err := c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(2))
	g.Expect(resp.Refused).To(HaveLen(2))
	g.Expect(resp.Refused[0].Reason).To(Equal(OrderTooLarge))
	g.Expect(resp.Refused[1].Reason).To(Equal(OrderTooDeep))

	// The response cap still holds for the answer as a whole.
	c = newTestClient(t, answer{body: body}.serve, WithMaxResponseBytes(1<<20))
	_, err = c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).To(MatchError(ErrTransient))
	g.Expect(err.Error()).To(ContainSubstring("answer larger than 1048576 bytes"))

	// A secret the provider quotes back in a broken answer is redacted.
	c = newTestClient(t, answer{body: `{"workOrders":[],"error":"bad token ` + testCreds.Token + `"}`}.serve)
	_, err = c.GetWorkOrders(context.Background(), testCreds, nil)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).NotTo(ContainSubstring(testCreds.Token))
}

// ordersAnswer streams a getWorkOrders answer of n orders made by order(i),
// without holding it: the test measures the reader, not the writer.
func ordersAnswer(n int, order func(i int) WorkOrder) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := newBufferedWriter(pw)
		_, _ = io.WriteString(bw, `{"workOrders":[`)
		for i := range n {
			if i > 0 {
				_, _ = io.WriteString(bw, ",")
			}
			b, err := json.Marshal(order(i))
			if err != nil {
				_ = pw.CloseWithError(err)
				return
			}
			_, _ = bw.Write(b)
		}
		_, _ = io.WriteString(bw, `],"error":"","serverTime":1714567890}`)
		_ = bw.Flush()
		_ = pw.Close()
	}()
	return pr
}

type bufferedWriter struct {
	w   io.Writer
	buf bytes.Buffer
}

func newBufferedWriter(w io.Writer) *bufferedWriter { return &bufferedWriter{w: w} }

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.buf.Write(p)
	if b.buf.Len() >= 64<<10 {
		return len(p), b.Flush()
	}
	return len(p), nil
}

func (b *bufferedWriter) Flush() error {
	_, err := b.w.Write(b.buf.Bytes())
	b.buf.Reset()
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReadFiftyThousandOrders: a full pull of 50,000 detailed orders fits
// the client's default response cap and is read without holding the answer:
// what stays in memory is the decoded orders.
func TestReadFiftyThousandOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000 orders")
	}
	g := NewWithT(t)
	const n = 50_000
	orders := realisticOrders(1)
	order := func(i int) WorkOrder {
		w := orders[0]
		w.WorkOrderNumber = fmt.Sprintf("WO-%06d", i)
		return w
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	body := &countingReader{r: ordersAnswer(n, order)}
	resp, err := ReadWorkOrdersAnswer(newCappedReader(body, DefaultMaxResponseBytes))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(n))
	g.Expect(resp.Refused).To(BeEmpty())
	g.Expect(resp.WorkOrders[n-1].WorkOrderNumber).To(Equal(fmt.Sprintf("WO-%06d", n-1)))
	runtime.GC()
	runtime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("50,000 orders: answer %s (cap %s), decoded orders hold %s",
		byteSize(body.n), byteSize(DefaultMaxResponseBytes), byteSize(held))
	g.Expect(body.n).To(BeNumerically("<", DefaultMaxResponseBytes/2), "50,000 orders must fit the response cap with room")
	// The decoded orders, not the answer: about 2 KiB an order.
	g.Expect(held).To(BeNumerically("<", int64(n)*3<<10))
	runtime.KeepAlive(resp)
}

// TestReadManyCopiesOfOneNumber: 10,000 copies of one number are read as
// they come; which counts is the caller's rule (the last).
func TestReadManyCopiesOfOneNumber(t *testing.T) {
	g := NewWithT(t)
	resp, err := ReadWorkOrdersAnswer(ordersAnswer(10_000, func(i int) WorkOrder {
		return WorkOrder{WorkOrderNumber: "SAME", Zip: String(fmt.Sprint(i))}
	}))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.WorkOrders).To(HaveLen(10_000))
	g.Expect(Value(resp.WorkOrders[9999].Zip)).To(Equal("9999"))
}

func BenchmarkReadWorkOrdersAnswer10k(b *testing.B) {
	data, _ := json.Marshal(GetWorkOrdersResponse{WorkOrders: realisticOrders(10_000)})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := ReadWorkOrdersAnswer(bytes.NewReader(data))
		if err != nil || len(resp.WorkOrders) != 10_000 {
			b.Fatal(err)
		}
	}
}

// FuzzReadWorkOrdersAnswer: the order-by-order reader never panics, agrees
// with encoding/json on every answer encoding/json accepts, except that it
// refuses orders over MaxOrderBytes or MaxOrderDepth alone, and every
// message it gives is clean.
func FuzzReadWorkOrdersAnswer(f *testing.F) {
	for _, s := range orderSeeds {
		f.Add([]byte(`{"workOrders":[` + s + `],"error":""}`))
	}
	f.Add([]byte(`{"workOrders":[{"workOrderNumber":"1","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `},{"workOrderNumber":"2"}]}`))
	f.Add([]byte(`{"error":"x","workOrders":[],"serverTime":"1"}`))
	f.Add([]byte(`{"WORKORDERS":[5],"workOrders":null}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := ReadWorkOrdersAnswer(bytes.NewReader(body))
		if err != nil {
			var ae *APIError
			if !errors.As(err, &ae) || ae.Kind.sentinel() == nil {
				t.Fatalf("not a classified *APIError: %v", err)
			}
			checkCleanMessage(t, ae.Message)
		} else {
			for _, ro := range resp.Refused {
				checkCleanMessage(t, ro.Message)
			}
		}
		var old struct {
			WorkOrders []json.RawMessage `json:"workOrders"`
			Error      json.RawMessage   `json:"error"`
		}
		if json.Unmarshal(body, &old) != nil || old.WorkOrders == nil || errorText(old.Error) != "" {
			return
		}
		var want []WorkOrder
		refused := map[int]bool{}
		for i, raw := range old.WorkOrders {
			var w WorkOrder
			if json.Unmarshal(raw, &w) != nil || bytes.TrimSpace(raw)[0] != '{' {
				refused[i] = true
				continue
			}
			want = append(want, w)
		}
		if err != nil {
			if strings.Contains(err.Error(), "twice") {
				return // encoding/json takes the last of two arrays
			}
			t.Fatalf("encoding/json reads the answer, the reader does not: %v", err)
		}
		for _, ro := range resp.Refused {
			if ro.Reason == OrderInvalid && !refused[ro.Index] {
				t.Fatalf("order %d refused as invalid: %s", ro.Index, ro.Message)
			}
			if ro.Reason != OrderInvalid {
				// Refused for its size or depth: not among what is compared.
				var w WorkOrder
				_ = json.Unmarshal(old.WorkOrders[ro.Index], &w)
				for i := range want {
					if a, b := mustJSON(t, want[i]), mustJSON(t, w); a == b {
						want = append(want[:i], want[i+1:]...)
						break
					}
				}
			}
		}
		if got, w := mustJSON(t, resp.WorkOrders), mustJSON(t, want); got != w && (len(want) != 0 || len(resp.WorkOrders) != 0) {
			t.Fatalf("orders differ:\n got %s\nwant %s", got, w)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The scanner's read buffers are pooled between answers: an answer read
// after one that failed halfway sees none of its bytes, the orders of an
// answer keep their values once its buffer reads the next, and answers
// read at once each read their own.
func TestReadWorkOrdersAnswerPooledBuffers(t *testing.T) {
	g := NewWithT(t)
	_, err := ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"1"} {"workOrderNumber":"LEFT-OVER"}]}`))
	g.Expect(err).To(MatchError(ContainSubstring("expected ','")))

	first, err := ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"AAAA","zip":"11111"}]}`))
	g.Expect(err).NotTo(HaveOccurred())
	second, err := ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[{"workOrderNumber":"BBBB","zip":"22222"}]}`))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(first.WorkOrders).To(HaveLen(1))
	g.Expect(first.WorkOrders[0].WorkOrderNumber).To(Equal("AAAA"))
	g.Expect(first.WorkOrders[0].Zip).To(HaveValue(Equal("11111")))
	g.Expect(second.WorkOrders[0].WorkOrderNumber).To(Equal("BBBB"))

	const readers = 8
	errs := make(chan error, readers)
	for i := range readers {
		go func() {
			var orders []string
			for j := range 50 {
				orders = append(orders, orderJSON(fmt.Sprintf("R%d-%d", i, j)))
			}
			resp, err := ReadWorkOrdersAnswer(strings.NewReader(`{"workOrders":[` + strings.Join(orders, ",") + `]}`))
			if err == nil {
				for j, o := range resp.WorkOrders {
					if want := fmt.Sprintf("R%d-%d", i, j); o.WorkOrderNumber != want {
						err = fmt.Errorf("order %d is %q, want %q", j, o.WorkOrderNumber, want)
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range readers {
		g.Expect(<-errs).NotTo(HaveOccurred())
	}
}
