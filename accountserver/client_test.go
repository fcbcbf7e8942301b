package accountserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// These tests drive the server with the project's protocol client, as the
// operator will.

// The documented minimal order ("Get Work Orders Service"; "Quick Start
// Exercise #2"), verbatim.
const simpleOrder = `{"workOrders":[{"workOrderNumber":"Simple","address1":"110 East Main Street","city":"Round Rock",
	"state":"TX","zip":"78664","services":[{"serviceName":"Task"}]}]}`

func TestClientPushSimpleTwice(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	var req protocol.PushRequest
	g.Expect(json.Unmarshal([]byte(simpleOrder), &req)).To(Succeed())

	resp, err := v.Push(f.ctx, f.link.PushKey, req.WorkOrders)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results).To(Equal([]protocol.PushResult{{WorkOrderNumber: "Simple", Project: "ACME::Simple", Action: protocol.ActionCreated}}))

	resp, err = v.Push(f.ctx, f.link.PushKey, req.WorkOrders)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results).To(Equal([]protocol.PushResult{{WorkOrderNumber: "Simple", Project: "ACME::Simple", Action: protocol.ActionUpdated}}))

	orders, err := f.ts.ListOrders(f.ctx, vendor, ListOrdersOptions{IncludeDeleted: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(orders).To(HaveLen(1))
	o := orders[0]
	g.Expect(o.Name).To(Equal("ACME::Simple"))
	g.Expect(o.Integration).To(Equal(code))
	g.Expect(o.RemoteNumber).To(Equal("Simple"))
	g.Expect(o.Status).To(Equal("Unassigned"), "no assignedTo: unassigned")
	g.Expect(o.WorkOrder.DueDate).To(HaveValue(Equal(time.Now().UTC().Format(time.DateOnly))), "dueDate defaults to today")
	g.Expect(o.WorkOrder.Services).To(Equal([]protocol.Service{{ServiceName: "Task"}}))
}

func TestClientPushUpdatesExactlyTheFieldsSent(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	g.Expect(f.ts.PutWorkType(f.ctx, vendor, WorkType{
		Name: "Grass Cut", Reference: s("GC"), Options: protocol.Options{"check_in_required": "true"},
		Instructions: s("from the work type"), AssignedTo: s("tech1"),
		Services: []protocol.Service{{ServiceName: "Before Photos"}, {ServiceName: "Task", Instructions: s("never used")}},
	})).To(Succeed())

	first := order("1001")
	first.WorkType = s("Grass Cut")
	first.Instructions = s("provider's")
	first.Extra = map[string]json.RawMessage{"lotSize": json.RawMessage(`"0.25 ac"`)}
	_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{first})
	g.Expect(err).NotTo(HaveOccurred())
	o, err := f.ts.GetOrder(f.ctx, vendor, "ACME::1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.AssignedTo).To(Equal("tech1"), "the work type fills a blank assignedTo")
	g.Expect(o.Status).To(Equal("Assigned"))
	g.Expect(o.WorkOrder.Instructions).To(HaveValue(Equal("provider's")))
	g.Expect(o.WorkOrder.Reference).To(HaveValue(Equal("GC")))
	g.Expect(o.WorkOrder.Options).To(Equal(protocol.Options{"check_in_required": "true"}))
	g.Expect(o.WorkOrder.Services).To(Equal([]protocol.Service{{ServiceName: "Task"}, {ServiceName: "Before Photos"}}))
	g.Expect(o.WorkOrder.Extra).To(HaveKeyWithValue("lotSize", json.RawMessage(`"0.25 ac"`)))

	// An update carries a few fields: only they change; a work type named
	// in an update is not applied again.
	update := protocol.WorkOrder{WorkOrderNumber: "1001", ClientStatus: s("Open"), City: s("Austin"), WorkType: s("Grass Cut"),
		Extra: map[string]json.RawMessage{"gate": json.RawMessage(`1234`)}}
	_, err = v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{update})
	g.Expect(err).NotTo(HaveOccurred())
	o2, err := f.ts.GetOrder(f.ctx, vendor, "ACME::1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o2.WorkOrder.City).To(HaveValue(Equal("Austin")))
	g.Expect(o2.ClientStatus).To(Equal("Open"))
	g.Expect(o2.WorkOrder.Address1).To(Equal(o.WorkOrder.Address1))
	g.Expect(o2.WorkOrder.Instructions).To(HaveValue(Equal("provider's")))
	g.Expect(o2.WorkOrder.Services).To(Equal(o.WorkOrder.Services))
	g.Expect(o2.AssignedTo).To(Equal("tech1"))
	g.Expect(o2.WorkOrder.Extra).To(And(HaveKey("lotSize"), HaveKeyWithValue("gate", json.RawMessage(`1234`))))
	g.Expect(o2.Seq).To(BeNumerically(">", o.Seq))

	// ~all~ and unknown users; one bad order among good ones.
	all := assigned(order("1002"), protocol.AssignAll)
	unknown := assigned(order("1003"), "nobody")
	bad := order("1004")
	bad.DueDate = s("someday")
	resp, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{all, unknown, bad})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results).To(HaveLen(3))
	g.Expect(resp.Results[2].Error).To(ContainSubstring("dueDate"))
	g.Expect(resp.Results[0].Action).To(Equal(protocol.ActionCreated))
	o3, _ := f.ts.GetOrder(f.ctx, vendor, "ACME::1002")
	g.Expect(o3.AssignedTo).To(Equal(protocol.AssignAll))
	g.Expect(o3.Status).To(Equal("Assigned"))
	o4, _ := f.ts.GetOrder(f.ctx, vendor, "ACME::1003")
	g.Expect(o4.AssignedTo).To(BeEmpty(), "an unknown user means unassigned")
	g.Expect(o4.Status).To(Equal("Unassigned"))
	_, err = f.ts.GetOrder(f.ctx, vendor, "ACME::1004")
	g.Expect(err).To(MatchError(ErrNotFound))

	// An order every one of which is refused is a refusal.
	_, err = v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{bad})
	g.Expect(err).To(MatchError(protocol.ErrRefused))
	g.Expect(err.Error()).To(ContainSubstring("dueDate"))
}

func TestClientFullAndIncrementalPulls(t *testing.T) {
	g := NewWithT(t)
	clock := NewManualClock(time.Date(2030, 3, 1, 8, 0, 0, 0, time.UTC))
	f := newFixture(t, WithClock(clock.Now))
	f.must(t, func() error {
		_, err := f.ts.CreateUser(f.ctx, provider, NewUser{Username: "vendor2", Password: "pw2"})
		return err
	})
	p := f.client(t, f.link.ProviderURL)
	creds := f.link.Credentials

	f.createOrder(t, provider, assigned(order("a"), "vendor1"))
	f.createOrder(t, provider, assigned(order("b"), "vendor1"))
	f.createOrder(t, provider, assigned(order("mine-too"), protocol.AssignAll))
	f.createOrder(t, provider, assigned(order("theirs"), "vendor2"))
	f.createOrder(t, provider, order("nobodys"))

	full, err := p.GetWorkOrders(f.ctx, creds, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(full.WorkOrders)).To(ConsistOf("a:live", "b:live", "mine-too:live"))
	g.Expect(full.ServerTime).To(Equal(clock.Now().Unix()))

	clock.Advance(10 * time.Second)
	since := full.ServerTime
	inc, err := p.GetWorkOrders(f.ctx, creds, &since)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(inc.WorkOrders)).To(ConsistOf("a:live", "b:live", "mine-too:live"),
		"changes in the second of serverTime come again: the overlap is harmless")

	since = inc.ServerTime
	clock.Advance(10 * time.Second)
	_, err = f.ts.EditOrder(f.ctx, provider, "b", protocol.WorkOrder{Instructions: s("new")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.EditOrder(f.ctx, provider, "theirs", protocol.WorkOrder{Instructions: s("new")})
	g.Expect(err).NotTo(HaveOccurred())
	inc, err = p.GetWorkOrders(f.ctx, creds, &since)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(inc.WorkOrders)).To(ConsistOf("b:live"))
	g.Expect(inc.WorkOrders[0].Instructions).To(HaveValue(Equal("new")))

	// A new assignment is a change for the new assignee.
	since = inc.ServerTime + 1
	clock.Advance(10 * time.Second)
	_, err = f.ts.AssignOrder(f.ctx, provider, "nobodys", "vendor1")
	g.Expect(err).NotTo(HaveOccurred())
	inc, err = p.GetWorkOrders(f.ctx, creds, &since)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(inc.WorkOrders)).To(ConsistOf("nobodys:live"))
	g.Expect(inc.WorkOrders[0].Status).To(HaveValue(Equal("Assigned")))

	// vendor2 sees only its own and ~all~.
	other, err := p.GetWorkOrders(f.ctx, f.ts.Credentials(t, provider, "vendor2", "pw2"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(other.WorkOrders)).To(ConsistOf("theirs:live", "mine-too:live"))
}

func TestClientValidateAndStatus(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	p := f.client(t, f.link.ProviderURL)
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))

	g.Expect(p.Validate(f.ctx, f.link.Credentials, f.link.PushKey)).To(Succeed())
	bad := f.link.Credentials
	bad.Password = PasswordDigest("nope")
	err := p.Validate(f.ctx, bad, "")
	g.Expect(err).To(MatchError(protocol.ErrInvalidCredentials))
	g.Expect(err.Error()).NotTo(ContainSubstring(bad.Password))

	g.Expect(p.ReportStatus(f.ctx, f.link.Credentials, "1001", "complete")).To(Succeed())
	o, err := f.ts.GetOrder(f.ctx, provider, "1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.Status).To(Equal("Complete"))
	g.Expect(count(t, f.ts, "status_reports")).To(Equal(1))
	g.Expect(p.ReportStatus(f.ctx, f.link.Credentials, "nope", "Complete")).To(MatchError(protocol.ErrNotFound))
	g.Expect(p.ReportStatus(f.ctx, f.link.Credentials, "1001", "Sleeping")).To(MatchError(protocol.ErrRefused))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestClientUploadIsIdempotent(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	p := f.client(t, f.link.ProviderURL)
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	f.createOrder(t, provider, assigned(order("other"), "someone-else"))

	content := randomBytes(300 << 10)
	it := protocol.Item{UUID: newUUID(), WorkOrderNumber: "1001", ServiceName: "Task", EvidenceType: "before",
		FileName: "IMG_1.jpg", FileExt: "jpg", FileType: "picture", Size: int64(len(content)), GPSLatitude: 30.5, GPSLongitude: -97.6,
		Extra: map[string]json.RawMessage{"deviceModel": json.RawMessage(`"Pixel"`)}}
	g.Expect(p.UploadItem(f.ctx, f.link.Credentials, it, bytes.NewReader(content))).To(Succeed())
	g.Expect(p.UploadItem(f.ctx, f.link.Credentials, it, bytes.NewReader(content))).To(Succeed(), "a second upload of a uuid is a success")
	// Even with other content: the uuid decides.
	it.Size = 3
	g.Expect(p.UploadItem(f.ctx, f.link.Credentials, it, strings.NewReader("abc"))).To(Succeed())

	items, err := f.ts.ListItems(f.ctx, provider, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(items).To(HaveLen(1))
	g.Expect(items[0].UploadedBy).To(Equal("vendor1"))
	g.Expect(items[0].Size).To(Equal(int64(len(content))))
	g.Expect(items[0].Meta.GPSLatitude).To(Equal(30.5))
	g.Expect(items[0].Meta.Extra).To(HaveKey("deviceModel"))
	g.Expect(items[0].Meta.Extra).NotTo(HaveKey("password"))
	rc, err := f.ts.ReadItem(f.ctx, provider, it.UUID)
	g.Expect(err).NotTo(HaveOccurred())
	got, _ := io.ReadAll(rc)
	rc.Close()
	g.Expect(bytes.Equal(got, content)).To(BeTrue())

	// A check-in travels as an item without content.
	ci := protocol.Item{UUID: newUUID(), WorkOrderNumber: "1001", FileType: protocol.FileTypeCheckIn, CheckInID: "4711", CreatedBy: "tech"}
	g.Expect(p.UploadItem(f.ctx, f.link.Credentials, ci, nil)).To(Succeed())
	got2, err := f.ts.GetItem(f.ctx, provider, ci.UUID)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got2.CheckIn).To(BeTrue())
	g.Expect(got2.Meta.CheckInID).To(Equal("4711"))

	// Not assigned to this user: refused.
	err = p.UploadItem(f.ctx, f.link.Credentials, protocol.Item{UUID: newUUID(), WorkOrderNumber: "other", Size: 1}, strings.NewReader("x"))
	g.Expect(err).To(MatchError(protocol.ErrNotFound))
}

func TestClientItemFeedFollowsQA(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{assigned(order("1001"), "tech1"), assigned(order("1002"), "tech1")})
	g.Expect(err).NotTo(HaveOccurred())
	content := randomBytes(70 << 10)
	upload := func(project string) string {
		it, err := f.ts.UploadItem(f.ctx, vendor, project, "tech1", protocol.Item{EvidenceType: "after"}, bytes.NewReader(content))
		g.Expect(err).NotTo(HaveOccurred())
		return it.UUID
	}
	first := upload("ACME::1001")
	upload("ACME::1002")

	// Back-office QA: nothing relays until staff publish.
	page, err := v.ListItems(f.ctx, f.link.PushKey, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(BeEmpty())
	_, _, err = v.OpenItem(f.ctx, f.link.PushKey, first)
	g.Expect(err).To(MatchError(protocol.ErrNotFound))
	held, _ := f.ts.GetItem(f.ctx, vendor, first)
	g.Expect(held.RelayStatus).To(Equal(protocol.RelayPendingQA))

	n, err := f.ts.PublishItems(f.ctx, vendor, "ACME::1001")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(1))
	page, err = v.ListItems(f.ctx, f.link.PushKey, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(HaveLen(1))
	fi := page.Items[0]
	g.Expect(fi.Project).To(Equal("ACME::1001"))
	g.Expect(fi.Item.WorkOrderNumber).To(Equal("1001"), "the feed speaks the integration's numbering")
	g.Expect(fi.Item.UUID).To(Equal(first))
	g.Expect(fi.Item.Size).To(Equal(int64(len(content))))
	g.Expect(fi.RelayStatus).To(Equal(protocol.RelayPendingQA))
	cursor := page.Cursor

	body, size, err := v.OpenItem(f.ctx, f.link.PushKey, first)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(size).To(Equal(int64(len(content))))
	got, err := io.ReadAll(body)
	body.Close()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(bytes.Equal(got, content)).To(BeTrue())

	g.Expect(v.ReportItem(f.ctx, f.link.PushKey, protocol.ItemResultRequest{UUID: first, RelayStatus: protocol.RelayPublished})).To(Succeed())
	done, _ := f.ts.GetItem(f.ctx, vendor, first)
	g.Expect(done.RelayStatus).To(Equal(protocol.RelayPublished))

	// Auto Relay: items go to the feed on arrival, after the cursor.
	_, err = f.ts.SetAutoRelay(f.ctx, vendor, code, true)
	g.Expect(err).NotTo(HaveOccurred())
	third := upload("ACME::1002")
	page, err = v.ListItems(f.ctx, f.link.PushKey, cursor, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(HaveLen(1))
	g.Expect(page.Items[0].Item.UUID).To(Equal(third))

	// A failed relay shows on the item; publishing again retries it.
	g.Expect(v.ReportItem(f.ctx, f.link.PushKey, protocol.ItemResultRequest{UUID: third, RelayStatus: protocol.RelayFailed, Message: "provider said 500"})).To(Succeed())
	failed, _ := f.ts.GetItem(f.ctx, vendor, third)
	g.Expect(failed.RelayStatus).To(Equal(protocol.RelayFailed))
	g.Expect(failed.RelayMessage).To(Equal("provider said 500"))
	n, err = f.ts.PublishItems(f.ctx, vendor, "ACME::1002")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(2), "the held item and the failed one")
	page, err = v.ListItems(f.ctx, f.link.PushKey, page.Cursor, 1)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(HaveLen(1))
	g.Expect(page.More).To(BeTrue())
	page, err = v.ListItems(f.ctx, f.link.PushKey, page.Cursor, 1)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(HaveLen(1))
	g.Expect(page.Items[0].Item.UUID).To(Equal(third))
	g.Expect(page.Items[0].RelayStatus).To(Equal(protocol.RelayPendingQA))
	g.Expect(page.More).To(BeFalse())
	last := page.Cursor
	page, err = v.ListItems(f.ctx, f.link.PushKey, last, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(page.Items).To(BeEmpty())
	g.Expect(page.Cursor).To(Equal(last), "an empty page keeps the cursor")
}

func TestClientTrigger(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	g.Expect(v.Trigger(f.ctx, f.link.PushKey)).To(Succeed())
	g.Expect(v.Trigger(f.ctx, f.link.PushKey)).To(Succeed())
	err := v.Trigger(f.ctx, f.link.PushKey[:len(f.link.PushKey)-1])
	g.Expect(err).To(MatchError(protocol.ErrInvalidCredentials))
	g.Expect(err.Error()).NotTo(ContainSubstring(f.link.PushKey[:20]))
	in, err := f.ts.Integration(f.ctx, vendor, code)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(in.Triggers).To(Equal(int64(2)))
	g.Expect(in.LastTriggeredAt).NotTo(BeNil())
	g.Expect(f.ts.Requests(CallTrigger)).To(Equal(3))

	// Re-creating the integration makes a new key; the old one stops working.
	in2, err := f.ts.CreateIntegration(f.ctx, vendor, NewIntegration{Code: code, Recreate: true})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(in2.PushKey).NotTo(Equal(f.link.PushKey))
	g.Expect(len(in2.PushKey)).To(BeNumerically(">=", 22), "at least 128 bits, base64url")
	g.Expect(v.Trigger(f.ctx, f.link.PushKey)).To(MatchError(protocol.ErrInvalidCredentials))
	g.Expect(v.Trigger(f.ctx, in2.PushKey)).To(Succeed())
}

func TestClientSeesFaults(t *testing.T) {
	f := newFixture(t)
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	p := f.client(t, f.link.ProviderURL, protocol.WithTimeout(time.Second))
	pull := func() error { _, err := p.GetWorkOrders(f.ctx, f.link.Credentials, nil); return err }
	tests := []struct {
		name       string
		fault      Fault
		want       error
		retryAfter time.Duration
	}{
		{"503 with Retry-After", Fault{Kind: FaultStatus, Status: 503, RetryAfter: 7 * time.Second}, protocol.ErrTransient, 7 * time.Second},
		{"429 with Retry-After", Fault{Kind: FaultStatus, Status: 429, RetryAfter: 3 * time.Second}, protocol.ErrThrottled, 3 * time.Second},
		{"500", Fault{Kind: FaultStatus, Status: 500}, protocol.ErrTransient, 0},
		{"401", Fault{Kind: FaultStatus, Status: 401}, protocol.ErrInvalidCredentials, 0},
		{"truncated body", Fault{Kind: FaultTruncate}, protocol.ErrTransient, 0},
		{"garbage body", Fault{Kind: FaultGarbage}, protocol.ErrTransient, 0},
		{"dropped connection", Fault{Kind: FaultDrop}, protocol.ErrTransient, 0},
		{"latency past the client's timeout", Fault{Kind: FaultLatency, Latency: 3 * time.Second}, protocol.ErrTransient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f.ts.ResetCounters()
			tt.fault.Call, tt.fault.Times = CallGetWorkOrders, 2
			g.Expect(f.ts.InjectFault(tt.fault)).To(Succeed())
			for range 2 {
				err := pull()
				g.Expect(err).To(MatchError(tt.want))
				if tt.retryAfter > 0 {
					d, ok := protocol.RetryAfter(err)
					g.Expect(ok).To(BeTrue())
					g.Expect(d).To(Equal(tt.retryAfter))
				}
			}
			g.Expect(pull()).To(Succeed(), "the fault hits only Times requests")
			g.Expect(f.ts.Requests(CallGetWorkOrders)).To(Equal(3))
			g.Expect(f.ts.AccountRequests(provider, CallGetWorkOrders)).To(Equal(3))
			g.Expect(f.ts.Faults()).To(BeEmpty())
		})
	}

	t.Run("latency under the timeout only slows", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(f.ts.InjectFault(Fault{Call: CallAny, Kind: FaultLatency, Latency: 200 * time.Millisecond})).To(Succeed())
		defer f.ts.ClearFaults()
		start := time.Now()
		g.Expect(pull()).To(Succeed())
		g.Expect(time.Since(start)).To(BeNumerically(">=", 200*time.Millisecond))
	})

	t.Run("until cleared, and only for the account named", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(f.ts.InjectFault(Fault{Call: CallAny, Account: provider, Kind: FaultStatus})).To(Succeed())
		for range 3 {
			g.Expect(pull()).To(MatchError(protocol.ErrTransient))
		}
		v := f.client(t, f.link.VendorURL)
		g.Expect(v.Trigger(f.ctx, f.link.PushKey)).To(Succeed())
		f.ts.ClearFaults()
		g.Expect(pull()).To(Succeed())
	})

	t.Run("a truncated download fails while reading", func(t *testing.T) {
		g := NewWithT(t)
		v := f.client(t, f.link.VendorURL)
		_, err := f.ts.SetAutoRelay(f.ctx, vendor, code, true)
		g.Expect(err).NotTo(HaveOccurred())
		_, err = v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{assigned(order("9"), "tech1")})
		g.Expect(err).NotTo(HaveOccurred())
		it, err := f.ts.UploadItem(f.ctx, vendor, "ACME::9", "tech1", protocol.Item{}, bytes.NewReader(randomBytes(1<<20)))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(f.ts.InjectFault(Fault{Call: CallItemContent, Kind: FaultTruncate, Times: 1})).To(Succeed())
		body, size, err := v.OpenItem(f.ctx, f.link.PushKey, it.UUID)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(size).To(Equal(int64(1 << 20)))
		_, err = io.ReadAll(body)
		body.Close()
		g.Expect(err).To(MatchError(protocol.ErrTransient))
		body, _, err = v.OpenItem(f.ctx, f.link.PushKey, it.UUID)
		g.Expect(err).NotTo(HaveOccurred())
		got, err := io.ReadAll(body)
		body.Close()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(HaveLen(1 << 20))
	})

	t.Run("faults hit the push and the feed too", func(t *testing.T) {
		g := NewWithT(t)
		v := f.client(t, f.link.VendorURL)
		for _, call := range []string{CallPush, CallItems, CallItemResult, CallValidate, CallStatus, CallUploadPictures} {
			g.Expect(f.ts.InjectFault(Fault{Call: call, Kind: FaultStatus, Status: 429, RetryAfter: time.Second, Times: 1})).To(Succeed())
		}
		_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{order("x")})
		g.Expect(err).To(MatchError(protocol.ErrThrottled))
		_, err = v.ListItems(f.ctx, f.link.PushKey, "", 0)
		g.Expect(err).To(MatchError(protocol.ErrThrottled))
		g.Expect(v.ReportItem(f.ctx, f.link.PushKey, protocol.ItemResultRequest{UUID: uuidOf("x"), RelayStatus: "published"})).To(MatchError(protocol.ErrThrottled))
		g.Expect(p.Validate(f.ctx, f.link.Credentials, "")).To(MatchError(protocol.ErrThrottled))
		g.Expect(p.ReportStatus(f.ctx, f.link.Credentials, "1001", "Complete")).To(MatchError(protocol.ErrThrottled))
		err = p.UploadItem(f.ctx, f.link.Credentials, protocol.Item{UUID: uuidOf("t"), WorkOrderNumber: "1001", Size: 1}, strings.NewReader("x"))
		g.Expect(err).To(MatchError(protocol.ErrThrottled))
		_, err = f.ts.GetItem(f.ctx, provider, "t")
		g.Expect(err).To(MatchError(ErrNotFound), "a faulted call is not acted on")
	})
}

func TestIsolation(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	ctx := context.Background()
	// A second link: provider "globex" to vendor "fieldco" with code GLX.
	l2 := f.ts.SeedLink(t, "globex", vendor, "GLX", LinkOptions{Username: "vendor1", AutoRelay: true})
	f.createOrder(t, provider, assigned(order("1001"), "vendor1"))
	f.createOrder(t, "globex", assigned(order("1001"), "vendor1"))
	f.createOrder(t, "globex", assigned(order("g-only"), "vendor1"))

	// The same username in two accounts: each login sees its own account.
	p1 := f.client(t, f.link.ProviderURL)
	p2 := f.client(t, l2.ProviderURL)
	r1, err := p1.GetWorkOrders(ctx, f.link.Credentials, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(r1.WorkOrders)).To(ConsistOf("1001:live"))
	r2, err := p2.GetWorkOrders(ctx, l2.Credentials, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(summary(r2.WorkOrders)).To(ConsistOf("1001:live", "g-only:live"))
	// Credentials of one account do not open the other.
	_, err = p2.GetWorkOrders(ctx, f.link.Credentials, nil)
	g.Expect(err).To(MatchError(protocol.ErrInvalidCredentials))

	// Each push key touches only its integration's projects.
	v := f.client(t, f.link.VendorURL)
	_, err = v.Push(ctx, f.link.PushKey, []protocol.WorkOrder{assigned(order("1001"), "tech1")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = v.Push(ctx, l2.PushKey, []protocol.WorkOrder{assigned(order("1001"), "tech1")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = v.Push(ctx, l2.PushKey, []protocol.WorkOrder{{WorkOrderNumber: "1001", City: s("Globex City")}})
	g.Expect(err).NotTo(HaveOccurred())
	acme, _ := f.ts.GetOrder(ctx, vendor, "ACME::1001")
	glx, _ := f.ts.GetOrder(ctx, vendor, "GLX::1001")
	g.Expect(acme.WorkOrder.City).To(HaveValue(Equal("Round Rock")))
	g.Expect(glx.WorkOrder.City).To(HaveValue(Equal("Globex City")))
	// A push key is not valid at another account's URL.
	p1push := f.client(t, f.link.ProviderURL)
	_, err = p1push.Push(ctx, f.link.PushKey, []protocol.WorkOrder{order("x")})
	g.Expect(err).To(MatchError(protocol.ErrInvalidCredentials))

	// The feed of one integration never shows another's items.
	_, err = f.ts.UploadItem(ctx, vendor, "GLX::1001", "tech1", protocol.Item{UUID: uuidOf("glx-photo")}, strings.NewReader("x"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.UploadItem(ctx, vendor, "ACME::1001", "tech1", protocol.Item{UUID: uuidOf("acme-photo")}, strings.NewReader("y"))
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.PublishItems(ctx, vendor, "ACME::1001")
	g.Expect(err).NotTo(HaveOccurred())
	acmeFeed, err := v.ListItems(ctx, f.link.PushKey, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	glxFeed, err := v.ListItems(ctx, l2.PushKey, "", 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(acmeFeed.Items).To(HaveLen(1))
	g.Expect(acmeFeed.Items[0].Item.UUID).To(Equal(uuidOf("acme-photo")))
	g.Expect(glxFeed.Items).To(HaveLen(1))
	g.Expect(glxFeed.Items[0].Item.UUID).To(Equal(uuidOf("glx-photo")))
	_, _, err = v.OpenItem(ctx, l2.PushKey, uuidOf("acme-photo"))
	g.Expect(err).To(MatchError(protocol.ErrNotFound))
	g.Expect(v.ReportItem(ctx, l2.PushKey, protocol.ItemResultRequest{UUID: uuidOf("acme-photo"), RelayStatus: "published"})).To(MatchError(protocol.ErrNotFound))

	// The same uuid may exist once per account: the relayed copy of a photo.
	g.Expect(p1.UploadItem(ctx, f.link.Credentials, protocol.Item{UUID: uuidOf("acme-photo"), WorkOrderNumber: "1001", Size: 1}, strings.NewReader("y"))).To(Succeed())
	_, err = f.ts.GetItem(ctx, provider, uuidOf("acme-photo"))
	g.Expect(err).NotTo(HaveOccurred())
}

func TestErrorsCarryNoSecrets(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	bad := f.link.Credentials
	bad.Password = PasswordDigest("x")
	resp := do(t, payloadRequest(t, f.link.ProviderURL+protocol.PathGetWorkOrders, protocol.GetWorkOrdersRequest{Credentials: bad}))
	g.Expect(string(resp.body)).NotTo(ContainSubstring(bad.Password))
	g.Expect(string(resp.body)).NotTo(ContainSubstring(bad.Token))
	resp = do(t, mustRequest(t, "GET", f.link.VendorURL+"/api/?apiKey="+f.link.PushKey+"x", nil))
	g.Expect(string(resp.body)).NotTo(ContainSubstring(f.link.PushKey))
	g.Expect(errors.Is(errBadLogin, ErrUnauthorized)).To(BeTrue())
}
