package accountserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// The reference server under hostile clients (issue #12): each test here
// is a request that once cost the server far more than it cost the client,
// or answered something it should not.

// nested is a JSON array nested depth levels deep around 1.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

func (f *fixture) pushURL() string {
	return f.link.VendorURL + protocol.PathPush + "?" + url.Values{protocol.QueryAPIKey: {f.link.PushKey}}.Encode()
}

func (f *fixture) pushRaw(t *testing.T, orders string) rawResponse {
	t.Helper()
	return do(t, formRequest(t, f.pushURL(), url.Values{protocol.FieldWorkOrders: {`{"workOrders":[` + orders + `]}`}}))
}

func adminReq(t testing.TB, ts *TestServer, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.URL+"/admin"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ts.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

const minimalOrder = `"address1":"1 Main","city":"Round Rock","state":"TX","zip":"78664","services":[{"serviceName":"Task"}]`

// TestDeeplyNestedOrders: a push of 20 KB nested 9,000 levels deep once
// made every admin answer that showed it 162 MB (indented JSON: each level
// on a line of its own, indented by its depth). Such input is refused now,
// and what is accepted is answered compactly: no admin answer is more than
// a small multiple of what the client sent.
func TestDeeplyNestedOrders(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	ts := f.ts

	deep := `{"workOrderNumber":"deep",` + minimalOrder + `,"survey":` + nested(9000) + `}`
	g.Expect(len(deep)).To(BeNumerically(">", 18_000))
	resp := f.pushRaw(t, deep)
	answer := do(t, adminReq(t, ts, http.MethodGet, "/accounts/"+vendor+"/orders?deleted=true", ""))
	g.Expect(answer.status).To(Equal(http.StatusOK))
	g.Expect(len(answer.body)).To(BeNumerically("<", 4*len(deep)), "the admin answer of a %d-byte push", len(deep))
	g.Expect(resp.status).To(Equal(http.StatusBadRequest), "%s", resp.body)
	g.Expect(resp.json(t)["error"]).To(ContainSubstring(fmt.Sprintf("nests deeper than %d levels", MaxJSONDepth)))
	g.Expect(count(t, ts, "orders")).To(BeZero())

	// Everywhere an order, an item or a work type comes in, deep JSON is
	// refused the same way; a task's survey counts from the order.
	deepTask := `{"workOrderNumber":"t",` + strings.TrimSuffix(minimalOrder, `[{"serviceName":"Task"}]`) +
		`[{"serviceName":"Task","surveyDynamic":` + nested(MaxJSONDepth) + `}]}`
	g.Expect(f.pushRaw(t, deepTask).status).To(Equal(http.StatusBadRequest))
	for _, req := range []*http.Request{
		adminReq(t, ts, http.MethodPost, "/accounts/"+provider+"/orders", deep),
		adminReq(t, ts, http.MethodPost, "/accounts/"+provider+"/worktypes",
			`{"name":"W","services":[{"serviceName":"x","deep":`+nested(9000)+`}]}`),
		adminReq(t, ts, http.MethodPost, "/accounts/"+provider+"/orders/1001/checkin",
			`{"user":"vendor1","item":{"deep":`+nested(9000)+`}}`),
	} {
		r := do(t, req)
		g.Expect(r.status).To(Equal(http.StatusBadRequest), "%s %s: %s", req.Method, req.URL.Path, r.body)
		g.Expect(string(r.body)).To(ContainSubstring("nests deeper than"))
	}
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	it := protocol.Item{UUID: newUUID(), WorkOrderNumber: "1001", Extra: map[string]json.RawMessage{"deep": json.RawMessage(nested(9000))}}
	up := do(t, multipartRequest(t, f.link.ProviderURL+protocol.PathUploadPictures,
		part{name: "payload", body: uploadPayload(t, f.link.Credentials, it)}, part{name: "file", fileName: "x.jpg", body: []byte("jpeg")}))
	g.Expect(up.status).To(Equal(http.StatusBadRequest), "%s", up.body)
	g.Expect(up.json(t)["error"]).To(ContainSubstring("nests deeper than"))

	// The deepest order accepted: an attribute at level MaxJSONDepth.
	ok := `{"workOrderNumber":"ok",` + minimalOrder + `,"survey":` + nested(MaxJSONDepth-1) + `}`
	resp = f.pushRaw(t, ok)
	g.Expect(resp.status).To(Equal(http.StatusOK), "%s", resp.body)
	for _, path := range []string{"/accounts/" + vendor + "/orders", "/accounts/" + vendor + "/orders/" + url.PathEscape(code+"::ok")} {
		answer := do(t, adminReq(t, ts, http.MethodGet, path, ""))
		g.Expect(answer.status).To(Equal(http.StatusOK))
		// The answer adds the project's own fields (about 600 bytes) to
		// the order, and no indentation.
		g.Expect(len(answer.body)).To(BeNumerically("<", len(ok)+1024), "%s: %s", path, answer.body)
		g.Expect(string(answer.body)).To(ContainSubstring(nested(MaxJSONDepth - 1)))
	}
}

// TestIncrementalTimestampBounds: a timestamp of 9223372037 or more (past
// 2^63 nanoseconds, in 2262) once overflowed the nanoseconds the store
// compares and answered every order. Such timestamps answer what changed
// since now (nothing), and one past the year 9999, or negative, is
// refused.
func TestIncrementalTimestampBounds(t *testing.T) {
	f := newFixture(t)
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	u := f.link.ProviderURL + protocol.PathGetWorkOrders
	pull := func(ts string) rawResponse {
		c := f.link.Credentials
		return do(t, payloadRequest(t, u, fmt.Sprintf(`{"username":%q,"password":%q,"token":%q,"timestamp":%s}`,
			c.Username, c.Password, c.Token, ts)))
	}
	for _, tc := range []struct {
		timestamp string
		status    int
		orders    int
	}{
		// Past 2^63 nanoseconds (the year 2262), within the range: once
		// every order, now what changed since (nothing).
		{`9223372037`, 200, 0},
		{`"9223372037"`, 200, 0},
		{`9.3e9`, 200, 0},
		{`9223372036854775807`, 400, 0},
		{`253402300800`, 400, 0},
		{`-1`, 400, 0},
		{`"-1"`, 400, 0},
		{`-0.5`, 400, 0},
		{`253402300799`, 200, 0}, // 9999-12-31T23:59:59Z: nothing changed since
		{`"253402300799"`, 200, 0},
		{`0`, 200, 1},
		{`null`, 200, 1},
	} {
		t.Run(tc.timestamp, func(t *testing.T) {
			g := NewWithT(t)
			r := pull(tc.timestamp)
			m := r.json(t)
			g.Expect(r.status).To(Equal(tc.status), "%s", r.body)
			g.Expect(m["workOrders"]).To(HaveLen(tc.orders))
			if tc.status == 400 {
				g.Expect(m["error"]).To(Equal("timestamp must be Unix seconds from 0 to 253402300799 (9999-12-31T23:59:59Z), or null"))
			} else {
				g.Expect(m["error"]).To(BeEmpty())
			}
		})
	}
}

func withKDFHook(h func()) Option { return func(c *Config) { c.kdfHook = h } }

// TestPasswordChecksAreCapped: 200 concurrent bad logins once ran 200
// argon2id checks of 19 MiB at once (3.25 GB). Checks now run under a cap,
// and a login that finds the cap full is answered at once: 429 with
// Retry-After in the call's envelope. The hook holds the checks that got a
// slot, so the test does not depend on timing.
func TestPasswordChecksAreCapped(t *testing.T) {
	g := NewWithT(t)
	const slots, logins = 2, 40
	entered := make(chan struct{}, logins)
	release := make(chan struct{})
	var inside, most atomic.Int32
	f := newFixture(t, WithLimits(Limits{PasswordChecks: slots}), withKDFHook(func() {
		n := inside.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		entered <- struct{}{}
		<-release
		inside.Add(-1)
	}))
	creds := f.link.Credentials
	creds.Password = PasswordDigest("wrong")
	validate := func() rawResponse {
		return do(t, payloadRequest(t, f.link.ProviderURL+protocol.PathValidate, protocol.ValidateRequest{Credentials: creds}))
	}

	results := make(chan rawResponse, logins)
	var wg sync.WaitGroup
	for range slots {
		wg.Go(func() { results <- validate() })
	}
	for range slots {
		select {
		case <-entered:
		case <-time.After(30 * time.Second):
			t.Fatal("the first logins never reached the password check")
		}
	}
	// Every slot is held: the other logins are answered while they are.
	start := time.Now()
	for range logins - slots {
		wg.Go(func() { results <- validate() })
	}
	busy := 0
	for range logins - slots {
		select {
		case r := <-results:
			g.Expect(r.status).To(Equal(http.StatusTooManyRequests), "%s", r.body)
			g.Expect(r.header.Get("Retry-After")).To(Equal("1"))
			g.Expect(r.json(t)).To(Equal(map[string]any{"validated": false,
				"error": "too many password checks at once: retry after 1s"}))
			busy++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d logins over the cap answered; the others wait", busy)
		}
	}
	// Loose: prompt means without waiting for a check, not a tight time.
	g.Expect(time.Since(start)).To(BeNumerically("<", 20*time.Second))
	close(release)
	wg.Wait()
	close(results)
	for r := range results {
		g.Expect(r.status).To(Equal(http.StatusUnauthorized))
	}
	g.Expect(busy).To(Equal(logins - slots))
	g.Expect(most.Load()).To(BeNumerically("==", slots))
}

// TestPageLoginSharesTheCap: the account page's Basic login runs the same
// checks under the same cap.
func TestPageLoginSharesTheCap(t *testing.T) {
	g := NewWithT(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	f := newFixture(t, WithLimits(Limits{PasswordChecks: 1}), withKDFHook(func() {
		entered <- struct{}{}
		<-release
	}))
	page := func() rawResponse {
		req, err := http.NewRequest(http.MethodGet, f.link.ProviderURL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("vendor1", "wrong")
		return do(t, req)
	}
	done := make(chan rawResponse, 1)
	go func() { done <- page() }()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first login never reached the password check")
	}
	r := page()
	g.Expect(r.status).To(Equal(http.StatusTooManyRequests))
	g.Expect(r.header.Get("Retry-After")).To(Equal("1"))
	close(release)
	g.Expect((<-done).status).To(Equal(http.StatusUnauthorized))
}

// slowRequest sends a request's head and then its body a byte every
// interval, as a slowloris client does, and reports how the server ended
// it: the status of its answer, or 0 when it closed the connection without
// one. It gives up after wait.
func slowRequest(t *testing.T, ts *TestServer, method, path string, header map[string]string, body string, interval, wait time.Duration) (int, time.Duration) {
	t.Helper()
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, u.Host, len(body))
	for k, v := range header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, v)
	}
	head.WriteString("\r\n")
	start := time.Now()
	if _, err := io.WriteString(conn, head.String()); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-time.After(interval):
			}
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	elapsed := time.Since(start)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s %s: no answer after %s: the server still waits for the body", method, path, wait)
		}
		return 0, elapsed
	}
	resp.Body.Close()
	return resp.StatusCode, elapsed
}

// TestSlowBodiesAreCut: a body sent a byte a second once held a connection
// and a goroutine for ever. Reads of a body now wait at most
// BodyIdleTimeout for the client, and a body must average MinBodyRate; a
// body that does not is answered 408 (or its connection closed). Both the
// protocol calls and the admin API are covered. A large body sent steadily
// passes, however long it takes in all.
func TestSlowBodiesAreCut(t *testing.T) {
	f := newFixture(t, WithLimits(Limits{BodyIdleTimeout: 300 * time.Millisecond, MinBodyRate: 1 << 10}))
	ts := f.ts
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	pushPath := strings.TrimPrefix(f.pushURL(), ts.URL)
	form := url.Values{protocol.FieldWorkOrders: {`{"workOrders":[{"workOrderNumber":"1",` + minimalOrder + `}]}`}}.Encode()
	formHeader := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	adminHeader := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + ts.AdminToken}
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		body     string
		interval time.Duration
	}{
		// Idle: a byte a second is three idle timeouts between bytes.
		{"push, a byte a second", http.MethodPost, pushPath, formHeader, form, time.Second},
		// Rate: a byte every 50 ms is never idle for long, but 20 bytes/s is
		// far below the minimum rate.
		{"push, 20 bytes a second", http.MethodPost, pushPath, formHeader, form, 50 * time.Millisecond},
		{"validate, a byte a second", http.MethodPost, strings.TrimPrefix(f.link.ProviderURL, ts.URL) + protocol.PathValidate,
			formHeader, "payload=" + strings.Repeat("x", 200), time.Second},
		{"admin, a byte a second", http.MethodPost, "/admin/accounts", adminHeader, `{"name":"slowco"}` + strings.Repeat(" ", 100), time.Second},
		{"admin, 20 bytes a second", http.MethodPost, "/admin/accounts/" + provider + "/orders", adminHeader,
			`{"workOrderNumber":"2",` + minimalOrder + `}`, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			before := dump(t, ts)
			status, elapsed := slowRequest(t, ts, tc.method, tc.path, tc.header, tc.body, tc.interval, 15*time.Second)
			g.Expect(status).To(Equal(http.StatusRequestTimeout))
			g.Expect(elapsed).To(BeNumerically("<", 10*time.Second))
			g.Expect(dump(t, ts)).To(Equal(before), "a cut request writes nothing")
		})
	}

	t.Run("upload, content stalls", func(t *testing.T) {
		g := NewWithT(t)
		it := protocol.Item{UUID: newUUID(), WorkOrderNumber: "1001"}
		payload, err := protocol.EncodeUploadPayload(f.link.Credentials, it)
		g.Expect(err).NotTo(HaveOccurred())
		const boundary = "b0undary"
		body := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"payload\"\r\n\r\n" + string(payload) +
			"\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n\r\n"
		// The head and the payload part arrive at once; the content trickles.
		req := "POST " + strings.TrimPrefix(f.link.ProviderURL, ts.URL) + protocol.PathUploadPictures + " HTTP/1.1\r\n" +
			"Host: x\r\nContent-Type: multipart/form-data; boundary=" + boundary + "\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)+1000) + "\r\n\r\n" + body
		u, _ := url.Parse(ts.URL)
		conn, err := net.Dial("tcp", u.Host)
		g.Expect(err).NotTo(HaveOccurred())
		defer conn.Close()
		_, err = io.WriteString(conn, req)
		g.Expect(err).NotTo(HaveOccurred())
		go func() {
			for range 1000 {
				time.Sleep(time.Second)
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(http.StatusRequestTimeout))
		} else {
			var ne net.Error
			g.Expect(errors.As(err, &ne) && ne.Timeout()).To(BeFalse(), "no answer: the server still waits for the content")
		}
		g.Expect(count(t, ts, "items")).To(BeZero())
	})

	t.Run("a large upload sent steadily passes", func(t *testing.T) {
		g := NewWithT(t)
		// Idle pauses shorter than the idle timeout, the whole longer than
		// it: a deadline on the whole body would cut this upload.
		big := newFixture(t, WithLimits(Limits{BodyIdleTimeout: 2 * time.Second, MinBodyRate: 64 << 10}))
		big.createOrder(t, provider, assigned(order("1001"), "vendor1"))
		const size = 24 << 20
		src := &pausingReader{left: size, every: 4 << 20, pause: 500 * time.Millisecond}
		c := big.client(t, big.link.ProviderURL, protocol.WithTimeout(time.Minute), protocol.WithTransferTimeout(5*time.Minute))
		start := time.Now()
		err := c.UploadItem(context.Background(), big.link.Credentials, protocol.Item{UUID: newUUID(), WorkOrderNumber: "1001", Size: size}, src)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(time.Since(start)).To(BeNumerically(">", 2*time.Second))
		items, err := big.ts.ListItems(context.Background(), provider, "1001")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(items).To(HaveLen(1))
		g.Expect(items[0].Size).To(BeNumerically("==", size))
	})
}

// pausingReader yields left bytes, pausing for pause after every every
// bytes.
type pausingReader struct {
	left, every, since int64
	pause              time.Duration
}

func (r *pausingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if r.since >= r.every {
		time.Sleep(r.pause)
		r.since = 0
	}
	n := int64(len(p))
	n = min(n, r.left, r.every-r.since)
	for i := range n {
		p[i] = byte(i)
	}
	r.left -= n
	r.since += n
	return int(n), nil
}

// TestWrongMethods: every route answers a method it does not serve with
// 405 and an Allow header naming those it does, in its own error style.
func TestWrongMethods(t *testing.T) {
	f := newFixture(t)
	ts := f.ts
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	it, err := ts.UploadItem(f.ctx, provider, "1001", "vendor1", protocol.Item{}, strings.NewReader("jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	p := "/a/" + provider
	v := "/a/" + vendor
	ad := "/admin/accounts/" + provider
	for _, tc := range []struct {
		method, path, allow string
		json                bool
	}{
		{http.MethodGet, p + protocol.PathGetWorkOrders, "POST", true},
		{http.MethodPut, p + protocol.PathValidate, "POST", true},
		{http.MethodGet, p + protocol.PathUploadPictures, "POST", true},
		{http.MethodDelete, p + protocol.PathStatus, "POST", true},
		{http.MethodPut, v + "/api/?apiKey=" + f.link.PushKey, "GET, HEAD, POST", true},
		{http.MethodDelete, v + "/api?apiKey=" + f.link.PushKey, "GET, HEAD, POST", true},
		{http.MethodGet, v + protocol.PathItems, "POST", true},
		{http.MethodGet, v + protocol.PathItemContent, "POST", true},
		{http.MethodGet, v + protocol.PathItemResult, "POST", true},
		{http.MethodGet, v + protocol.PathItemResults, "POST", true},
		{http.MethodPost, "/healthz", "GET, HEAD", false},
		{http.MethodPost, p, "GET, HEAD", false},
		{http.MethodPost, p + "/", "GET, HEAD", false},
		{http.MethodPost, p + "/projects/1001", "GET, HEAD", false},
		{http.MethodPost, p + "/projects/1001/", "GET, HEAD", false},
		{http.MethodPost, p + "/projects/1001/items/" + it.UUID, "GET, HEAD", false},
		{http.MethodDelete, "/admin/accounts", "GET, HEAD, POST", true},
		{http.MethodDelete, ad, "GET, HEAD", true},
		{http.MethodPut, ad + "/users", "GET, HEAD, POST", true},
		{http.MethodPut, ad + "/worktypes", "GET, HEAD, POST", true},
		{http.MethodPut, ad + "/integrations", "GET, HEAD, POST", true},
		{http.MethodPost, "/admin/accounts/" + vendor + "/integrations/" + code, "GET, HEAD, PATCH", true},
		{http.MethodPut, ad + "/orders", "GET, HEAD, POST", true},
		{http.MethodPost, ad + "/orders/1001", "DELETE, GET, HEAD, PATCH", true},
		{http.MethodGet, ad + "/orders/1001/assign", "POST", true},
		{http.MethodGet, ad + "/orders/1001/unassign", "POST", true},
		{http.MethodGet, ad + "/orders/1001/publish", "POST", true},
		{http.MethodPut, ad + "/orders/1001/items", "GET, HEAD, POST", true},
		{http.MethodGet, ad + "/orders/1001/checkin", "POST", true},
		{http.MethodPost, ad + "/items", "GET, HEAD", true},
		{http.MethodDelete, ad + "/items/" + it.UUID + "/content", "GET, HEAD", true},
		{http.MethodPut, ad + "/hooks", "GET, HEAD, POST", true},
		{http.MethodGet, ad + "/hooks/1", "DELETE", true},
		{http.MethodPut, "/admin/faults", "DELETE, GET, HEAD, POST", true},
		{http.MethodPost, "/admin/counters", "DELETE, GET, HEAD", true},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			g := NewWithT(t)
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, nil)
			g.Expect(err).NotTo(HaveOccurred())
			if strings.HasPrefix(tc.path, "/admin/") {
				req.Header.Set("Authorization", "Bearer "+ts.AdminToken)
			}
			r := do(t, req)
			g.Expect(r.status).To(Equal(http.StatusMethodNotAllowed), "%s", r.body)
			g.Expect(r.header.Get("Allow")).To(Equal(tc.allow))
			if tc.json {
				g.Expect(r.json(t)["error"]).NotTo(BeEmpty())
			}
		})
	}
}

// goLeaks are what answers must not quote: Go's type names and the words of
// its decoders.
var goLeaks = []string{"Go ", "go value", "struct", "main.", "accountserver.", "protocol.", "strconv", "json:", "json.",
	"map[", "[]", "interface", "int64", "float64", "reflect", "unmarshal", "Unmarshal", "RawMessage"}

// TestErrorTextsNameNoGoTypes: decoding errors once answered texts such as
// "cannot unmarshal string into Go struct field WorkOrder.services of type
// []protocol.Service". Every answer now says what is wrong in the
// protocol's words.
func TestErrorTextsNameNoGoTypes(t *testing.T) {
	f := newFixture(t)
	ts := f.ts
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	creds := f.link.Credentials
	login := fmt.Sprintf(`"username":%q,"password":%q,"token":%q`, creds.Username, creds.Password, creds.Token)
	base := f.link.ProviderURL
	vbase := f.link.VendorURL
	key := fmt.Sprintf(`"pushKey":%q`, f.link.PushKey)
	push := func(orders string) *http.Request {
		return formRequest(t, f.pushURL(), url.Values{protocol.FieldWorkOrders: {orders}})
	}
	upload := func(payload string) *http.Request {
		return multipartRequest(t, base+protocol.PathUploadPictures,
			part{name: "payload", body: []byte(payload)}, part{name: "file", fileName: "x.jpg", body: []byte("jpeg")})
	}
	admin := func(method, path, body string) *http.Request { return adminReq(t, ts, method, path, body) }
	ad := "/accounts/" + provider
	for _, tc := range []struct {
		name string
		req  *http.Request
		want string
	}{
		{"push: services a text", push(`{"workOrders":[{"workOrderNumber":"1","services":"x"}]}`), "services must be a list"},
		{"push: a task a text", push(`{"workOrders":[{"workOrderNumber":"1","services":["x"]}]}`), "workOrders: each of services must be an object"},
		{"push: task name a number", push(`{"workOrders":[{"workOrderNumber":"1","services":[{"serviceName":5}]}]}`), "workOrders: services.serviceName must be text"},
		{"push: number a number", push(`{"workOrders":[{"workOrderNumber":1001}]}`), "workOrderNumber must be text"},
		{"push: zip a list", push(`{"workOrders":[{"workOrderNumber":"1","zip":[1]}]}`), "zip must be text"},
		{"push: options a text", push(`{"workOrders":[{"workOrderNumber":"1","options":"x"}]}`), "options must be an object"},
		{"push: an option an object", push(`{"workOrders":[{"workOrderNumber":"1","options":{"a":{}}}]}`), "options.a: must be text, a number or a boolean"},
		{"push: task options a list", push(`{"workOrders":[{"workOrderNumber":"1","services":[{"serviceName":"x","options":[]}]}]}`), "options must be an object"},
		{"push: workOrders an object", push(`{"workOrders":{}}`), "workOrders must be a list"},
		{"push: an order a number", push(`{"workOrders":[5]}`), "must be an object"},
		{"push: not JSON", push(`{"workOrders":[`), "not valid JSON"},
		{"push: an array", push(`[1]`), "must be an object"},
		{"getWorkOrders: username a number", payloadRequest(t, base+protocol.PathGetWorkOrders, `{"username":5}`), "username must be text"},
		{"getWorkOrders: payload a list", payloadRequest(t, base+protocol.PathGetWorkOrders, `[]`), "must be an object"},
		{"getWorkOrders: timestamp an object", payloadRequest(t, base+protocol.PathGetWorkOrders, `{`+login+`,"timestamp":{}}`), "timestamp must be"},
		{"getWorkOrders: timestamp text", payloadRequest(t, base+protocol.PathGetWorkOrders, `{`+login+`,"timestamp":"soon"}`), "timestamp must be"},
		{"validate: token a bool", payloadRequest(t, base+protocol.PathValidate, `{"token":true}`), "token must be text"},
		{"status: number a list", payloadRequest(t, base+protocol.PathStatus, `{`+login+`,"workOrderNumber":[1]}`), "workOrderNumber must be text"},
		{"upload: uuid a number", upload(`{` + login + `,"uuid":5}`), "uuid must be text"},
		{"upload: size a text", upload(`{` + login + `,"uuid":"` + newUUID() + `","size":"big"}`), "size must be a number"},
		{"upload: size a fraction", upload(`{` + login + `,"uuid":"` + newUUID() + `","size":1.5}`), "size must be a whole number"},
		{"upload: size too large", upload(`{` + login + `,"uuid":"` + newUUID() + `","size":1e30}`), "size must be a whole number"},
		{"upload: gps a text", upload(`{` + login + `,"uuid":"` + newUUID() + `","gpsLatitude":"north"}`), "gpsLatitude must be a number"},
		{"items: limit a text", payloadRequest(t, vbase+protocol.PathItems, `{`+key+`,"limit":"ten"}`), "limit must be a number"},
		{"items: limit huge", payloadRequest(t, vbase+protocol.PathItems, `{`+key+`,"limit":1e30}`), "limit must be a whole number"},
		{"itemContent: uuid a list", payloadRequest(t, vbase+protocol.PathItemContent, `{`+key+`,"uuid":[]}`), "uuid must be text"},
		{"itemResult: status a number", payloadRequest(t, vbase+protocol.PathItemResult, `{`+key+`,"relayStatus":5}`), "relayStatus must be text"},
		{"itemResults: results an object", payloadRequest(t, vbase+protocol.PathItemResults, `{`+key+`,"results":{}}`), "results must be a list"},
		{"itemResults: a result a text", payloadRequest(t, vbase+protocol.PathItemResults, `{`+key+`,"results":["x"]}`), "must be an object"},
		{"itemResults: a status a number", payloadRequest(t, vbase+protocol.PathItemResults, `{`+key+`,"results":[{"uuid":"x","relayStatus":5}]}`), "relayStatus must be text"},
		{"admin: account name a number", admin(http.MethodPost, "/accounts", `{"name":5}`), "name must be text"},
		{"admin: body a list", admin(http.MethodPost, "/accounts", `[]`), "must be an object"},
		{"admin: body not JSON", admin(http.MethodPost, "/accounts", `{"name":`), "not valid JSON"},
		{"admin: two bodies", admin(http.MethodPost, "/accounts", `{"name":"a"} {"name":"b"}`), "one JSON value"},
		{"admin: order services a text", admin(http.MethodPost, ad+"/orders", `{"workOrderNumber":"9","services":"x"}`), "services must be a list"},
		{"admin: edit options a text", admin(http.MethodPatch, ad+"/orders/1001", `{"options":"x"}`), "options must be an object"},
		{"admin: role a number", admin(http.MethodPost, ad+"/users", `{"username":"u","role":5}`), "role must be text"},
		{"admin: autoRelay a text", admin(http.MethodPatch, "/accounts/"+vendor+"/integrations/"+code, `{"autoRelay":"yes"}`), "autoRelay must be true or false"},
		{"admin: latency a text", admin(http.MethodPost, "/faults", `{"call":"validate","kind":"latency","latency":"soon"}`), "latency must be a duration such as 250ms"},
		{"admin: times a fraction", admin(http.MethodPost, "/faults", `{"call":"validate","kind":"drop","times":1.5}`), "times must be a whole number in range"},
		{"admin: worktype tasks a text", admin(http.MethodPost, ad+"/worktypes", `{"name":"W","services":"x"}`), "services must be a list"},
		{"admin: checkin item a text", admin(http.MethodPost, ad+"/orders/1001/checkin", `{"item":"x"}`), "item must be an object"},
		{"admin: hook id a word", admin(http.MethodDelete, ad+"/hooks/first", ``), `unknown hook "first"`},
		{"admin: hook url a number", admin(http.MethodPost, ad+"/hooks", `{"username":"vendor1","url":5}`), "url must be text"},
		{"admin: due date", admin(http.MethodPatch, ad+"/orders/1001", `{"dueDate":"99999-01-01"}`), "dueDate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := do(t, tc.req)
			g.Expect(r.status).To(BeNumerically(">=", 400), "%s", r.body)
			g.Expect(r.status).To(BeNumerically("<", 500), "%s", r.body)
			msg, _ := r.json(t)["error"].(string)
			t.Log(msg)
			g.Expect(msg).To(ContainSubstring(tc.want))
			for _, leak := range goLeaks {
				g.Expect(msg).NotTo(ContainSubstring(leak))
			}
		})
	}
}

// TestItemUUIDForm: an item's uuid is a UUID in its canonical text form
// (8-4-4-4-12 hexadecimal digits). Anything else is refused with 400 and
// stores nothing; upper-case digits are accepted and stored in lower case,
// so that one UUID is one item.
func TestItemUUIDForm(t *testing.T) {
	f := newFixture(t)
	ts := f.ts
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	const good = "4b0d6c3e-9f1a-4c2b-8d7e-0123456789ab"
	for _, tc := range []struct {
		uuid string
		want string // "" accepted
	}{
		{"", "uuid is required"},
		{"photo-1", "canonical form"},
		{"../accountserver.db", "canonical form"},
		{"4b0d6c3e9f1a4c2b8d7e0123456789ab", "canonical form"},
		{"{" + good + "}", "canonical form"},
		{"urn:uuid:" + good, "canonical form"},
		{good + " ", "canonical form"},
		{" " + good, "canonical form"},
		{good[:35] + "g", "canonical form"},
		{good + "0", "canonical form"},
		{strings.Replace(good, "-", "_", 1), "canonical form"},
		{"<script>" + good[8:], "canonical form"},
		{strings.Repeat("a", 1000), "canonical form"},
		{good, ""},
		{"00000000-0000-0000-0000-000000000000", ""},
		{strings.ToUpper("5B0D6C3E-9F1A-4C2B-8D7E-0123456789AB"), ""},
	} {
		name := tc.uuid
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			before := count(t, ts, "items")
			it := protocol.Item{UUID: tc.uuid, WorkOrderNumber: "1001"}
			r := do(t, multipartRequest(t, f.link.ProviderURL+protocol.PathUploadPictures,
				part{name: "payload", body: uploadPayload(t, f.link.Credentials, it)}, part{name: "file", fileName: "x.jpg", body: []byte("jpeg")}))
			if tc.want != "" {
				g.Expect(r.status).To(Equal(http.StatusBadRequest), "%s", r.body)
				msg := r.json(t)["error"].(string)
				g.Expect(msg).To(ContainSubstring(tc.want))
				g.Expect(len(msg)).To(BeNumerically("<", 200), "the message does not quote a long uuid")
				g.Expect(count(t, ts, "items")).To(Equal(before))
				// In-process and admin uploads check the same form; an
				// empty uuid there means "make one".
				if tc.uuid != "" {
					_, err := ts.UploadItem(f.ctx, provider, "1001", "vendor1", protocol.Item{UUID: tc.uuid}, strings.NewReader("x"))
					g.Expect(err).To(MatchError(ErrInvalid))
					_, err = ts.CheckIn(f.ctx, provider, "1001", "vendor1", protocol.Item{UUID: tc.uuid})
					g.Expect(err).To(MatchError(ContainSubstring(tc.want)))
				}
				return
			}
			g.Expect(r.status).To(Equal(http.StatusOK), "%s", r.body)
			got, err := ts.GetItem(f.ctx, provider, strings.ToLower(tc.uuid))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.UUID).To(Equal(strings.ToLower(tc.uuid)))
			g.Expect(got.Meta.UUID).To(Equal(strings.ToLower(tc.uuid)))
			// The same UUID in the other case is the same item.
			again := protocol.Item{UUID: strings.ToUpper(tc.uuid), WorkOrderNumber: "1001"}
			r = do(t, multipartRequest(t, f.link.ProviderURL+protocol.PathUploadPictures,
				part{name: "payload", body: uploadPayload(t, f.link.Credentials, again)}, part{name: "file", fileName: "x.jpg", body: []byte("other")}))
			g.Expect(r.status).To(Equal(http.StatusOK), "%s", r.body)
			g.Expect(count(t, ts, "items")).To(Equal(before + 1))
			_, err = ts.GetItem(f.ctx, provider, strings.ToUpper(tc.uuid))
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}
