package controllers_test

// Issue #15, item 2: adopt what is already there.

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// vendorsEdit is what the vendor made of the shared fields of the projects
// an earlier integration pushed.
var vendorsEdit = protocol.WorkOrder{
	Description:   protocol.String("vendor's description"),
	Reference:     protocol.String("V-REF"),
	WorkOrderInfo: protocol.String("vendor's info"),
	Options:       protocol.Options{"gate": "code 1234"},
	Instructions:  protocol.String("vendor's instructions"),
	DueDate:       protocol.String("2031-01-01"),
	Services:      []protocol.Service{{ServiceName: "Vendor's Task"}},
}

// seedEarlierIntegration gives the vendor account the projects an earlier
// integration pushed for these numbers, with an older copy of what the
// provider owns, and the vendor's edits of the shared fields.
func (w *world) seedEarlierIntegration(numbers ...string) {
	w.t.Helper()
	var orders []protocol.WorkOrder
	for _, n := range numbers {
		o := order(n)
		o.AssignedTo = protocol.String(crew1)
		o.ClientInstructions = protocol.String("the earlier integration's")
		o.ClientDueDate = protocol.String("2029-01-01")
		o.Address1 = protocol.String("old address")
		orders = append(orders, o)
	}
	resp, err := w.srv.Push(w.ctx, vendorAccount, w.pushKey, orders)
	w.g.Expect(err).NotTo(HaveOccurred())
	for _, r := range resp.Results {
		w.g.Expect(r.Error).To(BeEmpty())
	}
	for _, n := range numbers {
		_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName(n), vendorsEdit)
		w.g.Expect(err).NotTo(HaveOccurred())
	}
}

// TestAdoptExistingProjects: a vendor account already holds two of the
// link's three orders, as an earlier integration left them and the vendor
// edited them. The first import makes a SharedProject of each, adopts the
// two (status, count, event), and pushes no duplicate; with Auto Admin off
// the vendor's shared fields stay and the remote-owned ones follow the
// provider; with Auto Admin on they are updated as any update. It costs one
// lookup, and later refreshes none.
func TestAdoptExistingProjects(t *testing.T) {
	t.Parallel()
	for _, autoAdmin := range []bool{false, true} {
		t.Run("autoAdmin="+map[bool]string{false: "false", true: "true"}[autoAdmin], func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			g := w.g
			numbers := []string{"6001", "6002", "6003"}
			w.createOrders(order("6001"), order("6002"), order("6003"))
			w.seedEarlierIntegration("6001", "6002")
			edited := map[string]protocol.WorkOrder{"6001": w.vendorOrder("6001").WorkOrder, "6002": w.vendorOrder("6002").WorkOrder}
			lookups := w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)

			w.startOperator()
			w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AutoAdmin = ptr.To(autoAdmin) })
			w.waitImported(linkName, numbers)

			for _, n := range []string{"6001", "6002"} {
				v := w.vendorOrder(n).WorkOrder
				if autoAdmin {
					g.Expect(protocol.Value(v.Description)).To(Equal("Provider's description"), n)
					g.Expect(protocol.Value(v.Instructions)).To(Equal("Cut front and back yard"), n)
					g.Expect(protocol.Value(v.DueDate)).To(Equal("2030-05-01"), n)
				} else {
					g.Expect(protocol.Value(v.Description)).To(Equal("vendor's description"), n)
					g.Expect(protocol.Value(v.Reference)).To(Equal("V-REF"), n)
					g.Expect(protocol.Value(v.WorkOrderInfo)).To(Equal("vendor's info"), n)
					g.Expect(v.Options).To(HaveKeyWithValue("gate", "code 1234"), n)
					g.Expect(protocol.Value(v.Instructions)).To(Equal("vendor's instructions"), n)
					g.Expect(protocol.Value(v.DueDate)).To(Equal("2031-01-01"), n)
					was := edited[n]
					g.Expect(v.Options).To(Equal(was.Options), n)
					g.Expect(v.Services).To(Equal(was.Services), "%s: the tasks as the vendor left them", n)
					g.Expect(v.Status).To(Equal(was.Status), n)
				}
				g.Expect(protocol.Value(v.ClientInstructions)).To(Equal("Call the office before leaving"), "%s: the remote owns it", n)
				g.Expect(protocol.Value(v.ClientDueDate)).To(Equal("2030-04-30"), n)
				g.Expect(protocol.Value(v.Address1)).To(Equal(n+" Elm St"), n)
				p := w.project(g, linkName, n)
				g.Expect(p.Status.Adopted).To(BeTrue(), n)
			}
			g.Expect(w.project(g, linkName, "6003").Status.Adopted).To(BeFalse())
			g.Expect(w.vendorOrder("6003").AssignedTo).To(Equal(crew1), "a created project gets the link's assignee")
			g.Expect(vendorOrders(g, w)).To(HaveLen(3), "no duplicate project")

			g.Eventually(func(g Gomega) {
				g.Expect(getLink(g, w, linkName).Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 3, Active: 3, Adopted: 2}))
				g.Expect(w.eventMessages(g, "ShareLink", linkName)).To(ContainElement(HavePrefix("adopted 2, imported 1; 3 projects: 3 active, 2 adopted")))
			}).Should(Succeed())
			first := w.srv.AccountRequests(vendorAccount, accountserver.CallLookup) - lookups
			g.Expect(first).To(Equal(1), "one lookup for up to 1,000 new orders")

			w.refresh(linkName, "adopt-1")
			w.fullImport(linkName, "adopt-full-1")
			later := w.srv.AccountRequests(vendorAccount, accountserver.CallLookup) - lookups - first
			g.Expect(later).To(BeZero(), "later imports look nothing up")
			t.Logf("lookups: %d on the first import of %d orders (%d adopted), %d on a refresh and a full import",
				first, len(numbers), 2, later)
			g.Expect(strings.Join(w.eventReasons(g, "SharedProject", sharev1.SharedProjectName(linkName, "6001")), ",")).
				NotTo(ContainSubstring(sharev1.ReasonAdopted), "adoption is told on the link, once")
		})
	}
}
