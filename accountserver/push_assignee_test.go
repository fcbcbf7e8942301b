package accountserver

import (
	"testing"

	. "github.com/onsi/gomega"

	"github.com/pruvan-share/share-operator/protocol"
)

// TestPushAnswersTheResolvedAssignee: the push answer's per-order result
// says who the project went to when the order carried assignedTo (the
// project-defined extension), so that a client learns that a sub-user it
// named is unknown; an order without assignedTo, or refused, says nothing.
func TestPushAnswersTheResolvedAssignee(t *testing.T) {
	g := NewWithT(t)
	f := newFixture(t)
	v := f.client(t, f.link.VendorURL)
	noZip := assigned(order("6"), "tech1")
	noZip.Zip = nil

	resp, err := v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{
		assigned(order("1"), "tech1"),
		assigned(order("2"), "nobody-here"),
		assigned(order("3"), protocol.AssignAll),
		assigned(order("4"), ""),
		order("5"),
		noZip,
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results).To(HaveLen(6))
	want := []*string{s("tech1"), s(""), s(protocol.AssignAll), s(""), nil, nil}
	for i, r := range resp.Results {
		g.Expect(r.AssignedTo).To(Equal(want[i]), "order %s", r.WorkOrderNumber)
	}
	g.Expect(resp.Results[5].Error).To(ContainSubstring("zip is required"))

	o, err := f.ts.GetOrder(f.ctx, vendor, code+"::2")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(o.AssignedTo).To(BeEmpty(), "an unknown sub-user means unassigned")
	g.Expect(o.Status).To(Equal("Unassigned"))

	// An update that carries assignedTo answers it too.
	resp, err = v.Push(f.ctx, f.link.PushKey, []protocol.WorkOrder{{WorkOrderNumber: "2", AssignedTo: s("tech1")}})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.Results).To(Equal([]protocol.PushResult{{WorkOrderNumber: "2", Project: code + "::2", Action: protocol.ActionUpdated, AssignedTo: s("tech1")}}))
}
