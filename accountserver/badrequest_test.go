package accountserver

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// Envelopes of the error answers, without their "error" member.
var (
	envWorkOrders = map[string]any{"workOrders": []any{}}
	envValidate   = map[string]any{"validated": false}
	envStatus     = map[string]any{"status": false}
	envPush       = map[string]any{"response": false}
	envFeed       = map[string]any{"items": []any{}}
	envResults    = map[string]any{"status": false, "results": []any{}}
	envPlain      = map[string]any{}
)

// TestBadRequests is a catalogue of requests the server must refuse: each
// answers its call's envelope with a clear message and a fitting status, and
// writes nothing (the dump of the database and data directory is the same
// before and after).
func TestBadRequests(t *testing.T) {
	f := newFixture(t, WithLimits(Limits{PushOrders: 5, PushBytes: 64 << 10, PayloadBytes: 8 << 10, ItemBytes: 1 << 20}))
	ts := f.ts
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	f.createOrder(t, provider, order("unassigned"))
	_, err := ts.Push(f.ctx, vendor, f.link.PushKey, []protocol.WorkOrder{assigned(order("2001"), "tech1")})
	if err != nil {
		t.Fatal(err)
	}
	// An item QA holds (Auto Relay is off), so it is not in the feed.
	if _, err := ts.UploadItem(f.ctx, vendor, code+"::2001", "tech1", protocol.Item{UUID: uuidOf("held")}, strings.NewReader("jpeg")); err != nil {
		t.Fatal(err)
	}

	base := f.link.ProviderURL
	vbase := f.link.VendorURL
	creds := f.link.Credentials
	badPW := creds
	badPW.Password = PasswordDigest("wrong")
	badToken := creds
	badToken.Token = newUUID()
	unknownUser := creds
	unknownUser.Username = "nobody"
	pushURL := vbase + protocol.PathPush + "?" + url.Values{protocol.QueryAPIKey: {f.link.PushKey}}.Encode()
	pushWorkOrders := func(orders ...any) *http.Request {
		b, _ := json.Marshal(map[string]any{"workOrders": orders})
		return formRequest(t, pushURL, url.Values{protocol.FieldWorkOrders: {string(b)}})
	}
	minimal := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"workOrderNumber": "3001", "address1": "1 Main", "city": "Round Rock", "state": "TX", "zip": "78664",
			"services": []any{map[string]any{"serviceName": "Task"}}}
		mod(m)
		return m
	}
	item := func(mod func(*protocol.Item)) protocol.Item {
		it := protocol.Item{UUID: uuidOf("u-1"), WorkOrderNumber: "1001", FileType: "picture"}
		mod(&it)
		return it
	}
	upload := func(c protocol.Credentials, it protocol.Item, content []byte) *http.Request {
		return multipartRequest(t, base+protocol.PathUploadPictures,
			part{name: "payload", body: uploadPayload(t, c, it)},
			part{name: "file", fileName: "x.jpg", body: content})
	}
	feed := func(payload any) *http.Request { return payloadRequest(t, vbase+protocol.PathItems, payload) }
	results := func(payload any) *http.Request { return payloadRequest(t, vbase+protocol.PathItemResults, payload) }

	tests := []struct {
		name    string
		req     *http.Request
		status  int
		env     map[string]any
		message string
	}{
		{"getWorkOrders: GET", mustRequest(t, http.MethodGet, base+protocol.PathGetWorkOrders, nil),
			405, envWorkOrders, "use POST"},
		{"getWorkOrders: JSON body instead of a form", jsonRequest(t, base+protocol.PathGetWorkOrders, `{"username":"vendor1"}`),
			415, envWorkOrders, "application/x-www-form-urlencoded"},
		{"getWorkOrders: no payload field", formRequest(t, base+protocol.PathGetWorkOrders, url.Values{"other": {"1"}}),
			400, envWorkOrders, `missing form field "payload"`},
		{"getWorkOrders: malformed JSON", payloadRequest(t, base+protocol.PathGetWorkOrders, `{"username": "vendor1",`),
			400, envWorkOrders, "not valid JSON"},
		{"getWorkOrders: timestamp is not a time", payloadRequest(t, base+protocol.PathGetWorkOrders,
			map[string]any{"username": creds.Username, "password": creds.Password, "token": creds.Token, "timestamp": "yesterday"}),
			400, envWorkOrders, "timestamp must be Unix seconds from 0"},
		{"getWorkOrders: negative timestamp", payloadRequest(t, base+protocol.PathGetWorkOrders,
			map[string]any{"username": creds.Username, "password": creds.Password, "token": creds.Token, "timestamp": -5}),
			400, envWorkOrders, "timestamp must be Unix seconds from 0"},
		{"getWorkOrders: wrong password", payloadRequest(t, base+protocol.PathGetWorkOrders, protocol.GetWorkOrdersRequest{Credentials: badPW}),
			401, envWorkOrders, "invalid username or password"},
		{"getWorkOrders: unknown user", payloadRequest(t, base+protocol.PathGetWorkOrders, protocol.GetWorkOrdersRequest{Credentials: unknownUser}),
			401, envWorkOrders, "invalid username or password"},
		{"getWorkOrders: wrong token", payloadRequest(t, base+protocol.PathGetWorkOrders, protocol.GetWorkOrdersRequest{Credentials: badToken}),
			401, envWorkOrders, "invalid username or password"},
		{"getWorkOrders: no credentials", payloadRequest(t, base+protocol.PathGetWorkOrders, `{"timestamp":null}`),
			401, envWorkOrders, "username, password and token are required"},
		{"getWorkOrders: the token of another account", payloadRequest(t, ts.AccountURL(vendor)+protocol.PathGetWorkOrders,
			protocol.GetWorkOrdersRequest{Credentials: creds}),
			401, envWorkOrders, "invalid username or password"},
		{"getWorkOrders: unknown account", payloadRequest(t, ts.AccountURL("nosuch")+protocol.PathGetWorkOrders, protocol.GetWorkOrdersRequest{Credentials: creds}),
			404, envWorkOrders, `unknown account "nosuch"`},
		{"getWorkOrders: body over the limit", payloadRequest(t, base+protocol.PathGetWorkOrders,
			map[string]any{"username": strings.Repeat("x", 9<<10)}),
			413, envWorkOrders, "larger than"},
		{"validate: wrong password", payloadRequest(t, base+protocol.PathValidate, protocol.ValidateRequest{Credentials: badPW}),
			401, envValidate, "invalid username or password"},
		{"status: unknown status", payloadRequest(t, base+protocol.PathStatus, protocol.StatusRequest{Credentials: creds, WorkOrderNumber: "1001", Status: "Finished-ish"}),
			400, envStatus, `unknown status "Finished-ish"`},
		{"status: an order not assigned to the user", payloadRequest(t, base+protocol.PathStatus, protocol.StatusRequest{Credentials: creds, WorkOrderNumber: "unassigned", Status: "Complete"}),
			404, envStatus, `no work order "unassigned" for user "vendor1"`},
		{"status: unknown order", payloadRequest(t, base+protocol.PathStatus, protocol.StatusRequest{Credentials: creds, WorkOrderNumber: "9999", Status: "Complete"}),
			404, envStatus, `no work order "9999"`},
		{"uploadPictures: not multipart", payloadRequest(t, base+protocol.PathUploadPictures, protocol.Item{UUID: "x"}),
			415, envStatus, "multipart/form-data"},
		{"uploadPictures: file part before the payload", multipartRequest(t, base+protocol.PathUploadPictures,
			part{name: "file", fileName: "x.jpg", body: []byte("jpeg")},
			part{name: "payload", body: uploadPayload(t, creds, item(func(*protocol.Item) {}))}),
			400, envStatus, `the "payload" part must come before the "file" part`},
		{"uploadPictures: no file part", multipartRequest(t, base+protocol.PathUploadPictures,
			part{name: "payload", body: uploadPayload(t, creds, item(func(*protocol.Item) {}))}),
			400, envStatus, `missing part "file"`},
		{"uploadPictures: wrong password", upload(badPW, item(func(*protocol.Item) {}), []byte("jpeg")),
			401, envStatus, "invalid username or password"},
		{"uploadPictures: no uuid", upload(creds, item(func(it *protocol.Item) { it.UUID = "" }), []byte("jpeg")),
			400, envStatus, "uuid is required"},
		{"uploadPictures: an order not assigned to the user", upload(creds, item(func(it *protocol.Item) { it.WorkOrderNumber = "unassigned" }), []byte("jpeg")),
			404, envStatus, `no work order "unassigned" for user "vendor1"`},
		{"uploadPictures: content shorter than the declared size", upload(creds, item(func(it *protocol.Item) { it.Size = 10 }), []byte("jpeg")),
			400, envStatus, "item content is 4 bytes, the payload says size 10"},
		{"uploadPictures: a picture without content", upload(creds, item(func(*protocol.Item) {}), nil),
			400, envStatus, "the file part is empty"},
		{"uploadPictures: bad evidence type", upload(creds, item(func(it *protocol.Item) { it.EvidenceType = "sideways" }), []byte("jpeg")),
			400, envStatus, "evidenceType"},
		{"uploadPictures: content over the item limit", upload(creds, item(func(*protocol.Item) {}), bytes.Repeat([]byte("x"), 1<<20+1)),
			413, envStatus, "item content exceeds"},
		{"uploadPictures: a declared size over the item limit", upload(creds, item(func(it *protocol.Item) { it.Size = 2 << 20 }), []byte("jpeg")),
			413, envStatus, "item content exceeds"},
		{"uploadPictures: payload part over the limit", upload(creds, item(func(it *protocol.Item) { it.Notes = strings.Repeat("n", 9<<10) }), []byte("jpeg")),
			413, envStatus, "payload part larger than"},
		{"push GET: wrong key", mustRequest(t, http.MethodGet, vbase+protocol.PathPush+"?apiKey=nope", nil),
			401, envPush, protocol.PushKeyInvalid},
		{"push GET: truncated key", mustRequest(t, http.MethodGet, vbase+protocol.PathPush+"?apiKey="+f.link.PushKey[:20], nil),
			401, envPush, protocol.PushKeyInvalid},
		{"push GET: the key of another account's integration", mustRequest(t, http.MethodGet, base+protocol.PathPush+"?apiKey="+f.link.PushKey, nil),
			401, envPush, protocol.PushKeyInvalid},
		{"push POST: wrong key", formRequest(t, vbase+protocol.PathPush+"?apiKey=nope", url.Values{"workOrders": {`{"workOrders":[]}`}}),
			401, envPush, protocol.PushKeyInvalid},
		{"push: PUT", mustRequest(t, http.MethodPut, pushURL, nil),
			405, envPush, "POST"},
		{"push: no workOrders field", formRequest(t, pushURL, url.Values{"orders": {"[]"}}),
			400, envPush, `missing form field "workOrders"`},
		{"push: malformed JSON", formRequest(t, pushURL, url.Values{"workOrders": {`{"workOrders":[{"workOrderNumber":`}}),
			400, envPush, "not valid JSON"},
		{"push: no workOrders array", formRequest(t, pushURL, url.Values{"workOrders": {`{"orders":[]}`}}),
			400, envPush, `missing "workOrders" array`},
		{"push: an option that is an object", pushWorkOrders(minimal(func(m map[string]any) { m["options"] = map[string]any{"a": map[string]any{}} })),
			400, envPush, "workOrders"},
		{"push: missing address1", pushWorkOrders(minimal(func(m map[string]any) { delete(m, "address1") })),
			400, envPush, "address1 is required"},
		{"push: blank zip", pushWorkOrders(minimal(func(m map[string]any) { m["zip"] = "  " })),
			400, envPush, "zip is required"},
		{"push: no services", pushWorkOrders(minimal(func(m map[string]any) { delete(m, "services") })),
			400, envPush, "services must hold at least one task"},
		{"push: a service without a name", pushWorkOrders(minimal(func(m map[string]any) { m["services"] = []any{map[string]any{"instructions": "x"}} })),
			400, envPush, "services[0].serviceName is required"},
		{"push: no workOrderNumber", pushWorkOrders(minimal(func(m map[string]any) { delete(m, "workOrderNumber") })),
			400, envPush, "workOrderNumber is required"},
		{"push: bad dueDate", pushWorkOrders(minimal(func(m map[string]any) { m["dueDate"] = "next Tuesday" })),
			400, envPush, "dueDate: unrecognised date"},
		{"push: bad clientDueDate", pushWorkOrders(minimal(func(m map[string]any) { m["clientDueDate"] = "2030-13-45" })),
			400, envPush, "clientDueDate"},
		{"push: unknown status", pushWorkOrders(minimal(func(m map[string]any) { m["status"] = "Whatever" })),
			400, envPush, `unknown status "Whatever"`},
		{"push: unknown work type", pushWorkOrders(minimal(func(m map[string]any) { m["workType"] = "Nope" })),
			400, envPush, `unknown work type "Nope"`},
		{"push: an update that blanks a required field", pushWorkOrders(map[string]any{"workOrderNumber": "2001", "city": ""}),
			400, envPush, "city is required"},
		{"push: a number with a control character", pushWorkOrders(minimal(func(m map[string]any) { m["workOrderNumber"] = "30\n01" })),
			400, envPush, "control character"},
		{"push: every order of several refused", pushWorkOrders(minimal(func(m map[string]any) { delete(m, "city") }), minimal(func(m map[string]any) { delete(m, "state") })),
			400, envPush, "every order was refused"},
		{"push: more orders than the limit", pushWorkOrders(minimal(func(map[string]any) {}), minimal(func(map[string]any) {}), minimal(func(map[string]any) {}),
			minimal(func(map[string]any) {}), minimal(func(map[string]any) {}), minimal(func(map[string]any) {})),
			413, envPush, "at most 5 orders"},
		{"push: body over the limit", pushWorkOrders(minimal(func(m map[string]any) { m["instructions"] = strings.Repeat("i", 65<<10) })),
			413, envPush, "larger than"},
		{"items: wrong key", feed(protocol.ItemFeedRequest{PushKey: "nope"}),
			401, envFeed, protocol.PushKeyInvalid},
		{"items: no key", feed(`{}`),
			401, envFeed, protocol.PushKeyInvalid},
		{"items: bad cursor", feed(protocol.ItemFeedRequest{PushKey: f.link.PushKey, Cursor: "../../etc"}),
			400, envFeed, "invalid cursor"},
		{"items: negative limit", feed(protocol.ItemFeedRequest{PushKey: f.link.PushKey, Limit: -1}),
			400, envFeed, "limit must not be negative"},
		{"itemContent: unknown uuid", payloadRequest(t, vbase+protocol.PathItemContent, protocol.ItemContentRequest{PushKey: f.link.PushKey, UUID: uuidOf("nope")}),
			404, envPlain, `unknown item "` + uuidOf("nope") + `"`},
		{"itemContent: an item QA holds", payloadRequest(t, vbase+protocol.PathItemContent, protocol.ItemContentRequest{PushKey: f.link.PushKey, UUID: uuidOf("held")}),
			404, envPlain, `unknown item "` + uuidOf("held") + `"`},
		{"itemContent: a path as uuid", payloadRequest(t, vbase+protocol.PathItemContent, protocol.ItemContentRequest{PushKey: f.link.PushKey, UUID: "../accountserver.db"}),
			404, envPlain, "unknown item"},
		{"itemResult: bad relay status", payloadRequest(t, vbase+protocol.PathItemResult, protocol.ItemResultRequest{PushKey: f.link.PushKey, UUID: uuidOf("held"), RelayStatus: "done"}),
			400, envStatus, `relayStatus must be "published" or "failed"`},
		{"itemResult: an item QA holds", payloadRequest(t, vbase+protocol.PathItemResult, protocol.ItemResultRequest{PushKey: f.link.PushKey, UUID: uuidOf("held"), RelayStatus: "published"}),
			404, envStatus, `unknown item "` + uuidOf("held") + `"`},
		{"itemResults: wrong key", results(protocol.ItemResultsRequest{PushKey: "nope", Results: []protocol.ItemResult{}}),
			401, envResults, protocol.PushKeyInvalid},
		{"itemResults: no results", results(protocol.ItemResultsRequest{PushKey: f.link.PushKey}),
			400, envResults, "results is required"},
		{"itemResults: a result without a uuid", results(protocol.ItemResultsRequest{PushKey: f.link.PushKey, Results: []protocol.ItemResult{{UUID: uuidOf("a"), RelayStatus: "published"}, {RelayStatus: "published"}}}),
			400, envResults, "results[1]: uuid is required"},
		{"itemResults: a uuid twice, in two cases", results(protocol.ItemResultsRequest{PushKey: f.link.PushKey, Results: []protocol.ItemResult{{UUID: uuidOf("a"), RelayStatus: "published"}, {UUID: strings.ToUpper(uuidOf("a")), RelayStatus: "failed"}}}),
			400, envResults, "results[1]: the uuid is in results twice"},
		{"itemResults: too many", results(protocol.ItemResultsRequest{PushKey: f.link.PushKey, Results: manyResults(protocol.MaxItemResults + 1)}),
			413, envResults, "at most 100 results"},
		{"admin: no token", mustRequest(t, http.MethodPost, ts.URL+"/admin/accounts", strings.NewReader(`{"name":"x"}`)),
			401, envPlain, "admin bearer token"},
		{"admin: wrong token", adminRequest(t, ts, "wrong", http.MethodPost, "/admin/accounts", `{"name":"x"}`),
			401, envPlain, "admin bearer token"},
		{"admin: bad account name", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/accounts", `{"name":"../x"}`),
			400, envPlain, "account name"},
		{"admin: existing account", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/accounts", `{"name":"acme"}`),
			409, envPlain, `account "acme" exists`},
		{"admin: unknown role", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/accounts/acme/users", `{"username":"x","role":"Boss","password":"p"}`),
			400, envPlain, `unknown role "Boss"`},
		{"admin: malformed JSON", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/accounts/acme/orders", `{"workOrderNumber":`),
			400, envPlain, "not valid JSON"},
		{"admin: assign to an unknown user", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/accounts/acme/orders/1001/assign", `{"assignedTo":"nobody"}`),
			400, envPlain, `unknown user "nobody"`},
		{"admin: edit an unknown order", adminRequest(t, ts, ts.AdminToken, http.MethodPatch, "/admin/accounts/acme/orders/9999", `{"city":"X"}`),
			404, envPlain, `unknown work order "9999"`},
		{"admin: bad fault", adminRequest(t, ts, ts.AdminToken, http.MethodPost, "/admin/faults", `{"call":"nope","kind":"status"}`),
			400, envPlain, `unknown call "nope"`},
	}
	if len(tests) < 20 {
		t.Fatalf("the catalogue must hold at least 20 requests, it holds %d", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := dump(t, ts)
			resp := do(t, tt.req)
			g.Expect(resp.status).To(Equal(tt.status), "body: %s", resp.body)
			g.Expect(resp.header.Get("Content-Type")).To(HavePrefix("application/json"))
			body := resp.json(t)
			g.Expect(body).To(HaveKeyWithValue("error", ContainSubstring(tt.message)))
			for k, v := range tt.env {
				g.Expect(body).To(HaveKeyWithValue(k, v))
			}
			g.Expect(dump(t, ts)).To(Equal(before), "the request must write nothing")
		})
	}
}

func mustRequest(t testing.TB, method, u string, body *strings.Reader) *http.Request {
	t.Helper()
	var req *http.Request
	var err error
	if body == nil {
		req, err = http.NewRequestWithContext(context.Background(), method, u, nil)
	} else {
		req, err = http.NewRequestWithContext(context.Background(), method, u, body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func jsonRequest(t testing.TB, u, body string) *http.Request {
	req := mustRequest(t, http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func adminRequest(t testing.TB, ts *TestServer, token, method, path, body string) *http.Request {
	req := mustRequest(t, method, ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// TestUploadFileNamesCannotEscape sends file names that try to leave the
// data directory: the item is stored under its content hash, and nothing is
// written where the names point.
func TestUploadFileNamesCannotEscape(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	outside := t.TempDir()
	target := filepath.Join(outside, "evil.jpg")
	rel, _ := filepath.Rel(filepath.Join(f.ts.cfg.DataDir, "blobs"), target)
	for i, name := range []string{rel, target, "../../../../../../" + target, `..\..\evil.jpg`, "blobs/../../evil.jpg"} {
		it := protocol.Item{UUID: uuidOf("escape-" + string(rune('a'+i))), WorkOrderNumber: "1001", FileName: name, FileExt: "../../jpg"}
		resp := do(t, multipartRequest(t, f.link.ProviderURL+protocol.PathUploadPictures,
			part{name: "payload", body: uploadPayload(t, f.link.Credentials, it)},
			part{name: "file", fileName: name, body: []byte("content " + name)}))
		g.Expect(resp.status).To(Equal(200), "%s", resp.body)
	}
	_, err := os.Stat(target)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "nothing may be written outside the data directory")
	items, err := f.ts.ListItems(f.ctx, provider, "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(items).To(HaveLen(5))
	for _, it := range items {
		g.Expect(it.SHA256).To(MatchRegexp(`^[0-9a-f]{64}$`))
		p, _ := f.ts.blobs.path(it.SHA256)
		g.Expect(p).To(HavePrefix(filepath.Join(f.ts.cfg.DataDir, "blobs") + string(filepath.Separator)))
		g.Expect(p).To(BeAnExistingFile())
	}
}

// TestRateLimit answers 429 with Retry-After past the per-account budget,
// and counts per account.
func TestRateLimit(t *testing.T) {
	g := NewWithT(t)
	clock := NewManualClock(time.Unix(1_900_000_000, 0))
	f := newFixture(t, WithClock(clock.Now), WithRateLimit(1, 2))
	validate := func(base string) rawResponse {
		return do(t, payloadRequest(t, base+protocol.PathValidate, protocol.ValidateRequest{Credentials: f.link.Credentials}))
	}
	g.Expect(validate(f.link.ProviderURL).status).To(Equal(200))
	g.Expect(validate(f.link.ProviderURL).status).To(Equal(200))
	before := dump(t, f.ts)
	resp := validate(f.link.ProviderURL)
	g.Expect(resp.status).To(Equal(429))
	g.Expect(resp.header.Get("Retry-After")).To(Equal("1"))
	g.Expect(resp.json(t)).To(HaveKeyWithValue("error", ContainSubstring("too many requests")))
	g.Expect(resp.json(t)).To(HaveKeyWithValue("validated", false))
	g.Expect(dump(t, f.ts)).To(Equal(before))
	// Another account has its own budget.
	g.Expect(validate(f.link.VendorURL).status).To(Equal(401))
	clock.Advance(time.Second)
	g.Expect(validate(f.link.ProviderURL).status).To(Equal(200))
}
