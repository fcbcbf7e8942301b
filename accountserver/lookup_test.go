package accountserver

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

func TestLookupAnswersTheIntegrationsLiveProjects(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	_, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{order("1"), order("2"), order("3")})
	g.Expect(err).NotTo(HaveOccurred())
	_, err = f.ts.EditOrder(f.ctx, vendor, "ACME::1", protocol.WorkOrder{Description: protocol.String("the vendor's words")})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.ts.DeleteOrder(f.ctx, vendor, "ACME::3")).To(Succeed())
	// Hand-made, not the integration's: a push of 4 is refused, and the
	// lookup does not answer it either.
	f.createOrder(t, vendor, order("ACME::4"))

	f.ts.ResetCounters()
	resp, err := v.LookupProjects(f.ctx, f.link.PushKey, []string{"1", "2", "3", "4", "5"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(f.ts.Requests(CallLookup)).To(Equal(1))
	found := resp.Found()
	g.Expect(found).To(HaveLen(2), "deleted, foreign and missing projects are not answered")
	g.Expect(found["1"].Project).To(Equal("ACME::1"))
	g.Expect(found["1"].WorkOrder.WorkOrderNumber).To(Equal("1"), "the document carries the number as pushed")
	g.Expect(found["1"].WorkOrder.Description).To(HaveValue(Equal("the vendor's words")))
	g.Expect(found["2"].WorkOrder.City).To(HaveValue(Equal("Round Rock")))

	inProcess, err := f.ts.LookupProjects(f.ctx, vendor, f.link.PushKey, []string{"1", "2", "3", "4", "5"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(inProcess.Projects).To(HaveLen(2))
}

func TestLookupLimits(t *testing.T) {
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)

	t.Run("no number sends nothing", func(t *testing.T) {
		g := NewWithT(t)
		f.ts.ResetCounters()
		resp, err := v.LookupProjects(f.ctx, f.link.PushKey, nil)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.Projects).To(BeEmpty())
		g.Expect(f.ts.Requests(CallLookup)).To(BeZero())
	})
	t.Run("a wrong key is a bad login", func(t *testing.T) {
		g := NewWithT(t)
		_, err := v.LookupProjects(f.ctx, "not-the-key", []string{"1"})
		g.Expect(err).To(MatchError(protocol.ErrInvalidCredentials))
		g.Expect(err.Error()).NotTo(ContainSubstring("not-the-key"))
	})
	t.Run("the client refuses more than a push's count", func(t *testing.T) {
		g := NewWithT(t)
		_, err := v.LookupProjects(f.ctx, f.link.PushKey, numbers(protocol.MaxPushOrders+1))
		g.Expect(err).To(MatchError(protocol.ErrRefused))
	})
	t.Run("the server refuses more than a push's count", func(t *testing.T) {
		g := NewWithT(t)
		r := f.lookupRaw(t, protocol.LookupRequest{PushKey: f.link.PushKey, WorkOrderNumbers: numbers(protocol.MaxPushOrders + 1)})
		g.Expect(r.status).To(Equal(413))
		g.Expect(r.json(t)).To(HaveKeyWithValue("projects", BeEmpty()))
	})
	t.Run("a full lookup is one request", func(t *testing.T) {
		g := NewWithT(t)
		f.ts.ResetCounters()
		resp, err := v.LookupProjects(f.ctx, f.link.PushKey, numbers(protocol.MaxPushOrders))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(resp.Projects).To(BeEmpty())
		g.Expect(f.ts.Requests(CallLookup)).To(Equal(1))
	})
	t.Run("a number that is no number is refused", func(t *testing.T) {
		g := NewWithT(t)
		_, err := v.LookupProjects(f.ctx, f.link.PushKey, []string{"1", " "})
		g.Expect(err).To(MatchError(protocol.ErrRefused))
	})
	t.Run("no numbers array is refused", func(t *testing.T) {
		g := NewWithT(t)
		r := f.lookupRaw(t, protocol.LookupRequest{PushKey: f.link.PushKey})
		g.Expect(r.status).To(Equal(400))
	})
	t.Run("faults hit the lookup", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(f.ts.InjectFault(Fault{Call: CallLookup, Kind: FaultGarbage, Times: 1})).To(Succeed())
		_, err := v.LookupProjects(f.ctx, f.link.PushKey, []string{"1"})
		g.Expect(err).To(MatchError(protocol.ErrTransient))
	})
}

func numbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("N%05d", i)
	}
	return out
}

func (f *fixture) lookupRaw(t *testing.T, req protocol.LookupRequest) rawResponse {
	t.Helper()
	return do(t, payloadRequest(t, f.link.VendorURL+protocol.PathLookup, req))
}

// BenchmarkLookup1000 is the cost of one lookup of a full batch, 1,000
// numbers the vendor account all holds, over HTTP.
func BenchmarkLookup1000(b *testing.B) {
	f := benchFixture(b)
	v := f.client(b, f.link.VendorURL)
	orders := make([]protocol.WorkOrder, protocol.MaxPushOrders)
	asked := make([]string, len(orders))
	for i := range orders {
		orders[i] = benchOrder(i)
		asked[i] = orders[i].WorkOrderNumber
	}
	if _, err := v.Push(f.ctx, f.link.PushKey, orders); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		resp, err := v.LookupProjects(f.ctx, f.link.PushKey, asked)
		if err != nil || len(resp.Projects) != len(asked) {
			b.Fatalf("%v, %v", resp, err)
		}
	}
}
