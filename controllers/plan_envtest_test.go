package controllers_test

// Issue #15, item 1: a plan before it applies, through the reference
// account server.

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// waitPlan waits for a plan that satisfies ok and returns the link.
func (w *world) waitPlan(name string, ok func(*sharev1.LinkPlan) bool, within ...any) *sharev1.ShareLink {
	w.t.Helper()
	var l *sharev1.ShareLink
	w.g.Eventually(func(g Gomega) {
		l = getLink(g, w, name)
		g.Expect(l.Status.Plan).NotTo(BeNil(), "Ready: %v", readyOf(l))
		g.Expect(ok(l.Status.Plan)).To(BeTrue(), "plan: %+v", l.Status.Plan)
	}, within...).Should(Succeed())
	return l
}

// vendorWrites counts the calls that write to the vendor account.
func (w *world) vendorWrites() int {
	return w.srv.AccountRequests(vendorAccount, accountserver.CallPush) + w.srv.AccountRequests(vendorAccount, accountserver.CallItemResult) +
		w.srv.AccountRequests(vendorAccount, accountserver.CallItemResults)
}

func planNumbers(p *sharev1.LinkPlan, action string) []string {
	var out []string
	for _, e := range p.Entries {
		if e.Action == action {
			out = append(out, e.Number)
		}
	}
	return out
}

// A new link in Plan mode shows what it would create and adopt and writes
// nothing; switched to Live it imports exactly that.
func TestPlanModeNewLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("5001"), order("5002"), order("5003"), order("5004"))
	// An earlier integration of the vendor's pushed 5004, and the vendor
	// rewrote its instructions.
	earlier := order("5004")
	earlier.AssignedTo, earlier.Instructions = nil, protocol.String("vendor's instructions")
	_, err := w.srv.Push(w.ctx, vendorAccount, w.pushKey, []protocol.WorkOrder{earlier})
	g.Expect(err).NotTo(HaveOccurred())
	w.srv.ResetCounters()
	w.startOperator()
	w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Mode = sharev1.LinkModePlan })

	w.waitPlan(linkName, func(p *sharev1.LinkPlan) bool { return p.Counts.Create == 3 })
	l := w.waitReady(linkName)
	g.Expect(readyOf(l)).To(Equal("True Planned: Plan mode: a full import would create 3, adopt 1 (0 unchanged); nothing applied"))
	plan := l.Status.Plan
	g.Expect(planNumbers(plan, sharev1.PlanCreate)).To(Equal([]string{"5001", "5002", "5003"}))
	g.Expect(planNumbers(plan, sharev1.PlanAdopt)).To(Equal([]string{"5004"}))
	g.Expect(plan.Entries[3].Changes).To(ContainElement(sharev1.PlanFieldChange{
		Field: "instructions", Old: "vendor's instructions", New: "Cut front and back yard"}), "Auto Admin on overwrites an adopted project's shared fields")
	g.Expect(plan.Entries[0].AssignTo).To(Equal(crew1))
	g.Expect(plan.Entries[0].WorkType).To(Equal(workType))
	g.Expect(plan.Trigger).To(Equal(sharev1.PlanTriggerMode))
	g.Expect(plan.Watermark).To(BeNumerically(">", 0))
	g.Consistently(func(g Gomega) {
		g.Expect(w.projects(g, linkName)).To(BeEmpty())
		g.Expect(w.vendorWrites()).To(BeZero())
	}, "1s", "100ms").Should(Succeed())
	g.Expect(vendorOrders(g, w)).To(HaveLen(1))
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)).To(Equal(1))

	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Mode = sharev1.LinkModeLive })
	w.waitImported(linkName, append(planNumbers(plan, sharev1.PlanCreate), planNumbers(plan, sharev1.PlanAdopt)...))
	g.Expect(w.vendorOrder("5001").AssignedTo).To(Equal(crew1))
	g.Expect(w.project(g, linkName, "5004").Status.Adopted).To(BeTrue())
	g.Expect(w.project(g, linkName, "5001").Status.Adopted).To(BeFalse())
	g.Expect(protocol.Value(w.vendorOrder("5004").WorkOrder.Instructions)).To(Equal("Cut front and back yard"))
	l = w.waitReady(linkName)
	g.Expect(l.Status.Plan.AppliedTime).NotTo(BeNil())
}

// A live link switched to Plan with Auto Admin turned on stops writing and
// shows what Auto Admin would overwrite; back in Live, it does.
func TestPlanModeAutoAdminChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("5101"), order("5102"))
	w.startOperator()
	w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AutoAdmin = ptr.To(false) })
	w.waitImported(linkName, []string{"5101", "5102"})
	// The vendor edits a shared field; Auto Admin off keeps the edit.
	_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName("5101"), protocol.WorkOrder{Description: protocol.String("vendor's description")})
	g.Expect(err).NotTo(HaveOccurred())
	w.waitReady(linkName)
	writes := w.vendorWrites()

	w.updateLink(linkName, func(l *sharev1.ShareLink) {
		l.Spec.Mode, l.Spec.AutoAdmin = sharev1.LinkModePlan, ptr.To(true)
	})
	l := w.waitPlan(linkName, func(p *sharev1.LinkPlan) bool { return p.Trigger == sharev1.PlanTriggerMode })
	plan := l.Status.Plan
	// Auto Admin on overwrites the shared fields: the vendor's edit, and
	// what the work type set at creation.
	g.Expect(plan.Counts).To(Equal(sharev1.PlanCounts{Update: 2}), "%+v", plan.Entries)
	g.Expect(plan.Entries[0].Number).To(Equal("5101"))
	g.Expect(plan.Entries[0].Changes).To(Equal([]sharev1.PlanFieldChange{
		{Field: "description", Old: "vendor's description", New: "Provider's description"},
		{Field: "reference", Old: "WT-GRASS", New: "PO-5101"},
		{Field: "options.photo_min", Old: "6"},
	}))
	g.Expect(plan.Entries[1].Changes).To(ContainElement(sharev1.PlanFieldChange{
		Field: "description", Old: "Grass cut per vendor standard", New: "Provider's description"}))
	g.Consistently(func() int { return w.vendorWrites() }, "1s", "100ms").Should(Equal(writes))
	g.Expect(protocol.Value(w.vendorOrder("5101").WorkOrder.Description)).To(Equal("vendor's description"))

	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Mode = sharev1.LinkModeLive })
	g.Eventually(func(g Gomega) {
		for _, n := range []string{"5101", "5102"} {
			g.Expect(protocol.Value(w.vendorOrder(n).WorkOrder.Description)).To(Equal("Provider's description"))
		}
	}).Should(Succeed())
	g.Expect(vendorOrders(g, w)).To(HaveLen(2))
}

// On a live link the annotation shows the drift from the provider, without
// applying it.
func TestPlanAnnotationShowsDrift(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("5201"), order("5202"))
	w.startOperator()
	// No work type: the vendor's projects are the provider's orders, so
	// that the only drift is the provider's change.
	w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AutoImport, l.Spec.DefaultWorkType = ptr.To(false), "" })
	w.fullImport(linkName, "first")
	w.waitImported(linkName, []string{"5201", "5202"})
	w.editUpstream("5202", protocol.WorkOrder{DueDate: protocol.String("2031-07-04")})
	writes := w.vendorWrites()

	w.request(linkName, sharev1.AnnotationPlanRequestedAt, "drift-1", func(l *sharev1.ShareLink) string { return l.Status.LastHandledPlanAt })
	plan := w.link(linkName).Status.Plan
	g.Expect(plan.Trigger).To(Equal(sharev1.PlanTriggerAnnotation))
	g.Expect(plan.RequestedAt).To(Equal("drift-1"))
	g.Expect(plan.Counts).To(Equal(sharev1.PlanCounts{Update: 1, Unchanged: 1}))
	g.Expect(plan.Entries[0].Changes).To(Equal([]sharev1.PlanFieldChange{{Field: "dueDate", Old: "2030-05-01", New: "2031-07-04"}}))
	g.Expect(w.vendorWrites()).To(Equal(writes))
	g.Expect(protocol.Value(w.vendorOrder("5202").WorkOrder.DueDate)).To(Equal("2030-05-01"))
}

// A plan of 10,000 orders, each already in the vendor account as an
// earlier integration left it: one pull and one lookup per 1,000 orders,
// 10,000 adoptions with their field changes, and a status far below
// etcd's limit.
func TestPlanOfTenThousandOrders(t *testing.T) {
	t.Parallel()
	const orders = 10000
	w := newWorld(t)
	g := w.g
	start := time.Now()
	numbers := w.seedBulk(80000, orders)
	w.seedVendor(numbers)
	t.Logf("seeded %d provider orders and their vendor projects in %s", orders, time.Since(start))
	w.srv.ResetCounters()
	w.startOperator(func(c *controllers.Config) { c.CallTimeout = 2 * time.Minute })
	start = time.Now()
	w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Mode = sharev1.LinkModePlan })
	l := w.waitPlan(linkName, func(p *sharev1.LinkPlan) bool { return p.Counts.Adopt == orders }, bulkTimeout, 250*time.Millisecond)
	t.Logf("planned %d orders in %s", orders, time.Since(start))

	plan := l.Status.Plan
	g.Expect(plan.Entries).To(HaveLen(sharev1.MaxPlanEntries))
	g.Expect(plan.Truncated).To(BeEquivalentTo(orders - sharev1.MaxPlanEntries))
	slices.SortFunc(numbers, func(a, b string) int { return cmp.Or(len(a)-len(b), strings.Compare(a, b)) })
	g.Expect(plan.Entries[0].Number).To(Equal(numbers[0]))
	g.Expect(plan.Entries[0].Changes).To(ContainElement(sharev1.PlanFieldChange{Field: "dueDate", Old: "2029-01-01", New: "2030-05-01"}))
	pulls := w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)
	lookups := w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)
	planBytes, err := json.Marshal(plan)
	g.Expect(err).NotTo(HaveOccurred())
	linkBytes, err := json.Marshal(l)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("plan of %d orders: %d getWorkOrders, %d lookups; status.plan %d bytes, the whole link %d bytes (bound of a plan %d)",
		orders, pulls, lookups, len(planBytes), len(linkBytes), 600<<10)
	g.Expect(pulls).To(Equal(1))
	g.Expect(lookups).To(Equal(orders / protocol.MaxPushOrders))
	g.Expect(len(planBytes)).To(BeNumerically("<=", 600<<10))
	g.Expect(len(linkBytes)).To(BeNumerically("<", 1536<<10))
	g.Expect(w.vendorWrites()).To(BeZero())
	g.Expect(w.projects(g, linkName)).To(BeEmpty())
}

// seedVendor pushes the provider's orders of those numbers to the vendor
// account through the link's integration, as an earlier integration would
// have left them: another due date and instructions.
func (w *world) seedVendor(numbers []string) {
	w.t.Helper()
	for start := 0; start < len(numbers); start += protocol.MaxPushOrders {
		var batch []protocol.WorkOrder
		for _, n := range numbers[start:min(start+protocol.MaxPushOrders, len(numbers))] {
			o := order(n)
			o.AssignedTo, o.DueDate, o.Instructions = nil, protocol.String("2029-01-01"), protocol.String("earlier integration's")
			batch = append(batch, o)
		}
		resp, err := w.srv.Push(w.ctx, vendorAccount, w.pushKey, batch)
		w.g.Expect(err).NotTo(HaveOccurred())
		for _, r := range resp.Results {
			w.g.Expect(r.Error).To(BeEmpty(), r.WorkOrderNumber)
		}
	}
}
