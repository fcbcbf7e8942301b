package controllers

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// planOrder is a provider order of the plan's tables.
func planOrder(number string) protocol.WorkOrder {
	s := protocol.String
	return protocol.WorkOrder{
		WorkOrderNumber: number, Address1: s(number + " Elm St"), City: s("Springfield"), State: s("IL"), Zip: s("62701"),
		DueDate: s("2030-05-01"), Description: s("provider's"), ClientStatus: s("Open"), ClientDueDate: s("2030-04-30"),
		Services: []protocol.Service{{ServiceName: "Grass Cut"}},
	}
}

// planWorld is a link, its projects and the vendor's copies, as the plan
// reads them.
type planWorld struct {
	link     sharev1.ShareLinkSpec
	projects map[string]*sharev1.SharedProject
	copies   map[string]protocol.WorkOrder
	// asked are the lookups' numbers, one slice per lookup.
	asked [][]string
}

func newPlanWorld() *planWorld {
	return &planWorld{
		link:     sharev1.ShareLinkSpec{ClientCode: "ACME", DefaultWorkType: "Grass", DefaultAssignTo: "crew1"},
		projects: map[string]*sharev1.SharedProject{},
		copies:   map[string]protocol.WorkOrder{},
	}
}

// imported records w as imported by Live: a SharedProject created in the
// vendor account, whose copy there is what the creation push sent.
func (pw *planWorld) imported(w protocol.WorkOrder, mutate ...func(*sharev1.SharedProject)) {
	up := toUpstream(&w)
	p := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{WorkOrderNumber: w.WorkOrderNumber, Upstream: &up},
		Status: sharev1.SharedProjectStatus{Created: true, ClientStatus: up.ClientStatus}}
	pw.copies[w.WorkOrderNumber] = desiredOrder(applyInput{Link: &pw.link, Project: p, Upstream: &up, AutoAdmin: true})
	for _, m := range mutate {
		m(p)
	}
	pw.projects[w.WorkOrderNumber] = slimProject(p)
}

// stashOf is a provider's answer as the import's pull keeps it.
func stashOf(resp *protocol.GetWorkOrdersResponse) *pullStash {
	s := &pullStash{serverTime: resp.ServerTime}
	s.add(protocol.OrdersPart{WorkOrders: resp.WorkOrders, Refused: resp.Refused})
	return s
}

func (pw *planWorld) plan(g Gomega, resp *protocol.GetWorkOrdersResponse) *sharev1.LinkPlan {
	pl := newPlanner(&pw.link, pw.projects)
	_, err := pl.planAll(stashOf(resp), func(numbers []string) (map[string]protocol.WorkOrder, error) {
		pw.asked = append(pw.asked, numbers)
		out := map[string]protocol.WorkOrder{}
		for _, n := range numbers {
			if c, ok := pw.copies[n]; ok {
				out[n] = c
			}
		}
		return out, nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	counts, entries, truncated := pl.result()
	return &sharev1.LinkPlan{Counts: counts, Entries: entries, Truncated: truncated}
}

func entryOf(p *sharev1.LinkPlan, number string) *sharev1.PlanEntry {
	for i := range p.Entries {
		if p.Entries[i].Number == number {
			return &p.Entries[i]
		}
	}
	return nil
}

// Each of a full import's decisions, as the plan shows it.
func TestPlanDecisions(t *testing.T) {
	g := NewWithT(t)
	pw := newPlanWorld()
	changed := planOrder("4")
	changed.DueDate, changed.ClientInstructions = protocol.String("2030-06-15"), protocol.String("call first")
	for _, n := range []string{"3", "4", "5", "7", "8"} {
		pw.imported(planOrder(n), func(p *sharev1.SharedProject) { p.Spec.Suspend = n == "8" })
	}
	adoptable := planOrder("2")
	adoptable.Description = protocol.String("vendor's")
	pw.copies["2"] = adoptable
	// 10 has a SharedProject the import never pushed (a person set its
	// overrides first, or a crash lost the push's record): the vendor
	// holds it, so the import adopts it.
	pw.imported(planOrder("10"), func(p *sharev1.SharedProject) { p.Status.Created = false })
	resp := &protocol.GetWorkOrdersResponse{WorkOrders: []protocol.WorkOrder{
		planOrder("1"), planOrder("2"), planOrder("3"), changed, planOrder("10"),
		tombstone("5", "Cancelled"), tombstone("6", "Deleted"), planOrder("8"), planOrder("ACME::9"),
	}}
	plan := pw.plan(g, resp)

	g.Expect(plan.Counts).To(Equal(sharev1.PlanCounts{Create: 1, Update: 1, Cancel: 2, Adopt: 2, Unchanged: 2, Refused: 1}))
	g.Expect(pw.asked).To(Equal([][]string{{"1", "2", "3", "4", "5", "7", "8", "10"}}), "one lookup; 6 was never imported, ACME::9 is refused")
	g.Expect(*entryOf(plan, "10")).To(Equal(sharev1.PlanEntry{Number: "10", Action: sharev1.PlanAdopt}), "its push changes nothing the vendor holds")
	g.Expect(*entryOf(plan, "1")).To(Equal(sharev1.PlanEntry{Number: "1", Action: sharev1.PlanCreate, AssignTo: "crew1", WorkType: "Grass"}))
	g.Expect(entryOf(plan, "2").Action).To(Equal(sharev1.PlanAdopt))
	g.Expect(entryOf(plan, "2").Changes).To(ContainElement(change("description", "vendor's", "provider's")), "Auto Admin on: the adoption overwrites")
	g.Expect(entryOf(plan, "3")).To(BeNil(), "unchanged orders are only counted")
	g.Expect(entryOf(plan, "4").Changes).To(Equal([]sharev1.PlanFieldChange{
		change("clientInstructions", "", "call first"), change("dueDate", "2030-05-01", "2030-06-15")}))
	g.Expect(*entryOf(plan, "5")).To(Equal(sharev1.PlanEntry{Number: "5", Action: sharev1.PlanCancel,
		Changes: []sharev1.PlanFieldChange{change("clientStatus", "Open", "Cancelled")}}))
	g.Expect(entryOf(plan, "7").Action).To(Equal(sharev1.PlanCancel), "missing from a full answer")
	g.Expect(entryOf(plan, "ACME::9").Action).To(Equal(sharev1.PlanRefuse))
	g.Expect(entryOf(plan, "ACME::9").Reason).To(ContainSubstring("already carries the link's code"))
	g.Expect(plan.Entries[0].Number).To(Equal("1"), "entries by number")
}

// Auto Admin off: an update carries only what the remote owns, and an
// adoption leaves the vendor's shared fields alone.
func TestPlanAutoAdminOff(t *testing.T) {
	g := NewWithT(t)
	pw := newPlanWorld()
	pw.link.AutoAdmin = ptr.To(false)
	pw.imported(planOrder("4"))
	adoptable := planOrder("2")
	adoptable.Description = protocol.String("vendor's")
	pw.copies["2"] = adoptable
	changed := planOrder("4")
	changed.DueDate, changed.ClientInstructions = protocol.String("2030-06-15"), protocol.String("call first")
	plan := pw.plan(g, &protocol.GetWorkOrdersResponse{WorkOrders: []protocol.WorkOrder{planOrder("2"), changed}})
	g.Expect(entryOf(plan, "4").Changes).To(Equal([]sharev1.PlanFieldChange{change("clientInstructions", "", "call first")}))
	g.Expect(*entryOf(plan, "2")).To(Equal(sharev1.PlanEntry{Number: "2", Action: sharev1.PlanAdopt}))
}

// An answer that refused an order whose number could not be read cancels
// no project for being missing, as the import does.
func TestPlanUnnamedRefusal(t *testing.T) {
	g := NewWithT(t)
	pw := newPlanWorld()
	pw.imported(planOrder("7"))
	plan := pw.plan(g, &protocol.GetWorkOrdersResponse{Refused: []protocol.RefusedOrder{{Message: "not an object"}}})
	g.Expect(plan.Counts).To(Equal(sharev1.PlanCounts{Refused: 1}))
	g.Expect(pw.asked).To(BeEmpty())
}

// A large answer: one lookup per MaxPushOrders orders, the first 50
// entries by number, the rest counted.
func TestPlanManyOrders(t *testing.T) {
	g := NewWithT(t)
	pw := newPlanWorld()
	var orders []protocol.WorkOrder
	for i := range 2500 {
		orders = append(orders, planOrder(fmt.Sprint(10000+i)))
	}
	plan := pw.plan(g, &protocol.GetWorkOrdersResponse{WorkOrders: orders})
	g.Expect(pw.asked).To(HaveLen(3))
	g.Expect(plan.Counts.Create).To(BeEquivalentTo(2500))
	g.Expect(plan.Entries).To(HaveLen(sharev1.MaxPlanEntries))
	g.Expect(plan.Entries[0].Number).To(Equal("10000"))
	g.Expect(plan.Entries[49].Number).To(Equal("10049"))
	g.Expect(plan.Truncated).To(BeEquivalentTo(2450))
}

// maxPlanBytes is the bound of a plan in status, as JSON: the worst case
// of the bounds plan_types.go sets, every character escaped to six bytes.
const maxPlanBytes = 600 << 10

// The worst plan the bounds allow stays under maxPlanBytes, far below
// etcd's 1.5 MiB, whatever the number of orders.
func TestPlanSizeBound(t *testing.T) {
	g := NewWithT(t)
	worst := strings.Repeat("\x01", 1000) // escaped as \u0001: six bytes each
	var entries []sharev1.PlanEntry
	for range sharev1.MaxPlanEntries {
		var all []sharev1.PlanFieldChange
		for range 20 {
			all = append(all, change(worst, worst, worst))
		}
		changes, more := boundChanges(all)
		entries = append(entries, sharev1.PlanEntry{
			Number: cutText(worst, sharev1.MaxPlanNumberLength), Action: sharev1.PlanUpdate,
			AssignTo: strings.Repeat("a", 64), AssignRule: ptr.To[int32](99), WorkType: cutText(worst, 128),
			Reason: cutText(worst, sharev1.MaxPlanReasonLength), Changes: changes, MoreChanges: more,
		})
	}
	plan := sharev1.LinkPlan{ComputedTime: metav1.Now(), Watermark: 1 << 40, Generation: 1 << 40,
		Trigger: sharev1.PlanTriggerAnnotation, RequestedAt: strings.Repeat("\x01", sharev1.MaxRequestedAtLength),
		AppliedTime: ptr.To(metav1.Now()), Counts: sharev1.PlanCounts{Create: 1 << 30, Update: 1 << 30},
		Entries: entries, Truncated: 1 << 30}
	b, err := json.Marshal(plan)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("the worst plan is %d bytes of JSON (bound %d)", len(b), maxPlanBytes)
	g.Expect(len(b)).To(BeNumerically("<=", maxPlanBytes))
}
