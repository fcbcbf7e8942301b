package controllers_test

// Issue #15, item 3: Auto Admin per field.

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// TestAutoAdminFields: a link whose autoAdminFields are [status, dueDate]
// keeps the provider's due date and status current and leaves the vendor's
// description alone; what the remote owns follows the provider, a full
// import changes none of that, and a project whose own autoAdmin is false
// keeps even the listed fields as the vendor left them.
func TestAutoAdminFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("5001"), order("5002"))

	// A person turns Auto Admin off for 5002 before the link imports it.
	override := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: sharev1.SharedProjectName(linkName, "5002"), Namespace: w.ns},
		Spec:       sharev1.SharedProjectSpec{LinkName: linkName, WorkOrderNumber: "5002", AutoAdmin: ptr.To(false)},
	}
	g.Expect(w.c.Create(w.ctx, override, client.FieldOwner("a-person"))).To(Succeed())

	w.startOperator()
	w.createLink(linkName, func(l *sharev1.ShareLink) {
		l.Spec.AutoAdminFields = []sharev1.AutoAdminField{sharev1.AutoAdminStatus, sharev1.AutoAdminDueDate}
	})
	w.waitImported(linkName, []string{"5001", "5002"})
	// At creation every shared field comes from the provider and the work
	// type, listed or not.
	g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.Description)).To(Equal("Grass cut per vendor standard"))
	g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.DueDate)).To(Equal("2030-05-01"))

	// The vendor edits description and due date; the provider edits them
	// too, and the status, instructions and client instructions.
	for _, n := range []string{"5001", "5002"} {
		_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName(n), protocol.WorkOrder{
			Description: protocol.String("vendor's description"),
			DueDate:     protocol.String("2031-01-01"),
		})
		g.Expect(err).NotTo(HaveOccurred())
		w.editUpstream(n, protocol.WorkOrder{
			Description:        protocol.String("provider's description"),
			DueDate:            protocol.String("2030-06-15"),
			Status:             protocol.String("RUSH"),
			Instructions:       protocol.String("provider's new instructions"),
			ClientInstructions: protocol.String("provider update"),
		})
	}
	w.refresh(linkName, "fields-1")

	v := w.vendorOrder("5001")
	g.Expect(protocol.Value(v.WorkOrder.Description)).To(Equal("vendor's description"), "description is not listed: the vendor's stays")
	g.Expect(protocol.Value(v.WorkOrder.Instructions)).To(Equal("Cut front and back yard"), "instructions are not listed: set at creation only")
	g.Expect(protocol.Value(v.WorkOrder.DueDate)).To(Equal("2030-06-15"), "dueDate is listed: it follows the provider")
	g.Expect(v.Status).To(Equal("Rush"), "status is listed: it follows the provider")
	g.Expect(protocol.Value(v.WorkOrder.ClientInstructions)).To(Equal("provider update"), "the remote owns clientInstructions")
	p := w.project(g, linkName, "5001")
	g.Expect(p.Spec.Upstream.Description).To(Equal("provider's description"), "the SharedProject records what the provider sent")
	applied(g, p)

	// The project's own autoAdmin false beats the link's list.
	v = w.vendorOrder("5002")
	g.Expect(protocol.Value(v.WorkOrder.Description)).To(Equal("vendor's description"))
	g.Expect(protocol.Value(v.WorkOrder.DueDate)).To(Equal("2031-01-01"))
	g.Expect(protocol.Value(v.WorkOrder.ClientInstructions)).To(Equal("provider update"))

	// A full import repairs drift only in what the link governs.
	_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName("5001"), protocol.WorkOrder{DueDate: protocol.String("2031-03-03")})
	g.Expect(err).NotTo(HaveOccurred())
	w.fullImport(linkName, "fields-full-1")
	v = w.vendorOrder("5001")
	g.Expect(protocol.Value(v.WorkOrder.DueDate)).To(Equal("2030-06-15"))
	g.Expect(protocol.Value(v.WorkOrder.Description)).To(Equal("vendor's description"))

	// Listing description too hands it back to the provider at the next
	// import of the project.
	w.updateLink(linkName, func(l *sharev1.ShareLink) {
		l.Spec.AutoAdminFields = append(l.Spec.AutoAdminFields, sharev1.AutoAdminDescription)
	})
	w.waitReady(linkName)
	w.fullImport(linkName, "fields-full-2")
	g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.Description)).To(Equal("provider's description"))
	g.Expect(protocol.Value(w.vendorOrder("5002").WorkOrder.Description)).To(Equal("vendor's description"))
	g.Expect(vendorOrders(g, w)).To(HaveLen(2))
}
