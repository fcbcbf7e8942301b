package controllers

import (
	"context"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// knowingVendor makes the fake vendor account answer, per order that
// names an assignee, how it resolved it: known sub-users and "~all~" as
// they are, any other name as nobody.
func (it *importTest) knowingVendor(known ...string) {
	it.vendor.PushFunc = func(_ context.Context, _ string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
		it.mu.Lock()
		defer it.mu.Unlock()
		it.pushes = append(it.pushes, slices.Clone(orders))
		resp := &protocol.PushResponse{Response: true}
		for _, o := range orders {
			r := protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Project: "ACME::" + o.WorkOrderNumber, Action: protocol.ActionCreated}
			if o.AssignedTo != nil {
				to := *o.AssignedTo
				if to != sharev1.AssignAll && !slices.Contains(known, to) {
					to = ""
				}
				r.AssignedTo = &to
			}
			resp.Results = append(resp.Results, r)
		}
		return resp, nil
	}
}

// TestImportUnknownAssignee: an order routed by a rule to a sub-user the
// vendor account does not know is created unassigned, and that shows on
// the project, on the link and in one Warning event; a known one is
// recorded as assigned. Fixing the rule clears the link's entry.
func TestImportUnknownAssignee(t *testing.T) {
	it := newImportTest(t, func(l *sharev1.ShareLink) {
		l.Spec.AssignRules = []sharev1.AssignRule{
			{States: []sharev1.StateCode{"TX"}, AssignTo: "crew-texas"},
			{States: []sharev1.StateCode{"IL"}, AssignTo: "crew9"},
		}
	})
	g := it.g
	it.knowingVendor("crew-texas", "crew1")
	texas, illinois, ny := providerOrder("1001"), providerOrder("1002"), providerOrder("1003")
	texas.State = protocol.String("TX")
	ny.State = protocol.String("NY")
	it.answers(texas, illinois, ny)
	it.reconcile()

	g.Expect(protocol.Value(it.lastPushOf("1001").AssignedTo)).To(Equal("crew-texas"))
	g.Expect(protocol.Value(it.lastPushOf("1002").AssignedTo)).To(Equal("crew9"))
	g.Expect(protocol.Value(it.lastPushOf("1003").AssignedTo)).To(Equal("crew1"), "defaultAssignTo")

	p := it.projectOf("1001")
	appliedOK(g, p)
	g.Expect(p.Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew-texas", Source: sharev1.AssigneeFromRule, Rule: ptr.To(int32(0))}))
	g.Expect(meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionAssigned)).To(BeNil())
	g.Expect(it.projectOf("1003").Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew1", Source: sharev1.AssigneeFromDefault}))

	p = it.projectOf("1002")
	appliedOK(g, p)
	g.Expect(p.Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew9", Source: sharev1.AssigneeFromRule, Rule: ptr.To(int32(1)), Unknown: true}))
	cond := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionAssigned)
	g.Expect(cond).NotTo(BeNil())
	g.Expect(cond.Status).To(BeEquivalentTo("False"))
	g.Expect(cond.Reason).To(Equal(sharev1.ReasonUnknownAssignee))
	g.Expect(cond.Message).To(ContainSubstring(`"crew9", named by assignRules[1], is not a sub-user of the vendor account: it created ACME::1002 unassigned`))

	link := it.link("acme")
	g.Expect(link.Status.UnknownAssignees).To(HaveLen(1))
	g.Expect(link.Status.UnknownAssignees[0]).To(And(
		HaveField("AssignTo", "crew9"), HaveField("Source", sharev1.AssigneeFromRule), HaveField("Rule", ptr.To(int32(1))),
		HaveField("Projects", int32(1)), HaveField("LastProject", "1002")))
	g.Expect(meta.IsStatusConditionTrue(link.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "the link works: only the assignee is wrong")
	evs := it.drainEvents()
	g.Expect(evs).To(ContainElement(And(HavePrefix("Warning UnknownAssignee"), ContainSubstring(`"crew9", named by assignRules[1]`))))

	// Another Illinois order soon after: counted, not told again.
	more := providerOrder("1004")
	it.answers(more)
	it.refresh()
	g.Expect(it.link("acme").Status.UnknownAssignees[0].Projects).To(Equal(int32(2)))
	g.Expect(it.drainEvents()).NotTo(ContainElement(HavePrefix("Warning UnknownAssignee")), "once per window and sub-user")

	// The rule names a known crew now: the entry goes; the projects it
	// created unassigned keep their record.
	link = it.link("acme")
	link.Spec.AssignRules[1].AssignTo = "crew1"
	g.Expect(it.c.Update(it.ctx, link)).To(Succeed())
	it.reconcile()
	g.Expect(it.link("acme").Status.UnknownAssignees).To(BeEmpty())
	g.Expect(it.projectOf("1002").Status.Assignment.Unknown).To(BeTrue())
	for _, ev := range it.drainEvents() {
		g.Expect(strings.Contains(ev, "s3cret") || strings.Contains(ev, fakePushKey)).To(BeFalse(), ev)
	}
}

// TestImportUnknownDefaultAssignee: the same check covers defaultAssignTo:
// a fallback naming a sub-user the vendor account lacks shows as such, and
// a new defaultAssignTo clears the link's entry.
func TestImportUnknownDefaultAssignee(t *testing.T) {
	it := newImportTest(t, func(l *sharev1.ShareLink) { l.Spec.DefaultAssignTo = "crew-gone" })
	g := it.g
	it.knowingVendor("crew1")
	it.answers(providerOrder("1001"))
	it.reconcile()

	p := it.projectOf("1001")
	appliedOK(g, p)
	g.Expect(p.Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew-gone", Source: sharev1.AssigneeFromDefault, Unknown: true}))
	g.Expect(meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionAssigned).Message).To(ContainSubstring(`"crew-gone", named by defaultAssignTo`))
	link := it.link("acme")
	g.Expect(link.Status.UnknownAssignees).To(ConsistOf(And(HaveField("AssignTo", "crew-gone"), HaveField("Source", sharev1.AssigneeFromDefault), HaveField("Rule", BeNil()))))

	link.Spec.DefaultAssignTo = "crew1"
	g.Expect(it.c.Update(it.ctx, link)).To(Succeed())
	it.answers(providerOrder("1002"))
	it.refresh()
	g.Expect(it.link("acme").Status.UnknownAssignees).To(BeEmpty())
	g.Expect(it.projectOf("1002").Status.Assignment).To(Equal(&sharev1.ProjectAssignment{AssignTo: "crew1", Source: sharev1.AssigneeFromDefault}))
}
