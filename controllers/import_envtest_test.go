package controllers_test

// Issue #4: import the provider's projects and keep them current.

import (
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// TestFirstImport: the orders assigned to the vendor become SharedProjects
// and projects CODE::number in the vendor account with every provider field,
// the default work type and the default assignee; overrides a person set on
// a SharedProject before the import win.
func TestFirstImport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g

	rush := order("1001")
	rush.Status = protocol.String("RUSH")
	rush.Extra = map[string]json.RawMessage{"customerRef": json.RawMessage(`"X-1"`)}
	notOurs := order("1999")
	notOurs.AssignedTo = nil
	w.createOrders(rush, order("1002"), order("1003"), notOurs)

	// A person sets overrides for 1002 before the link imports it, with
	// their own field manager.
	override := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: sharev1.SharedProjectName(linkName, "1002"), Namespace: w.ns},
		Spec: sharev1.SharedProjectSpec{
			LinkName: linkName, WorkOrderNumber: "1002",
			WorkType: otherWorkType, AssignTo: crew2,
		},
	}
	g.Expect(w.c.Create(w.ctx, override, client.FieldOwner("a-person"))).To(Succeed())

	w.startOperator()
	link := w.createLink(linkName)
	w.waitImported(linkName, []string{"1001", "1002", "1003"})

	l := w.waitReady(linkName)
	g.Expect(l.Finalizers).To(ContainElement(sharev1.Finalizer))
	g.Expect(l.Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 3, Active: 3}))
	g.Expect(l.Status.LastRefreshTime).NotTo(BeNil())
	g.Expect(l.Status.LastFullImportTime).NotTo(BeNil())
	g.Expect(l.Status.Watermark).To(BeNumerically(">", 0))
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationIdle))
	g.Expect(l.Status.LastError).To(BeEmpty())
	for _, typ := range []string{sharev1.ConditionProviderReady, sharev1.ConditionAccountReady, sharev1.ConditionImported} {
		g.Expect(sharev1.IsConditionTrue(l, typ)).To(BeTrue(), typ)
	}

	// The SharedProjects: named after link and number, labelled, owned by
	// the link, with the order as pulled.
	for _, n := range []string{"1001", "1002", "1003"} {
		p := w.project(g, linkName, n)
		g.Expect(p.Labels).To(HaveKeyWithValue(sharev1.LabelLink, linkName))
		g.Expect(p.OwnerReferences).To(HaveLen(1))
		g.Expect(p.OwnerReferences[0].UID).To(Equal(link.UID))
		g.Expect(p.OwnerReferences[0].Controller).To(Equal(ptr.To(true)))
		g.Expect(p.Spec.LinkName).To(Equal(linkName))
		g.Expect(p.Spec.WorkOrderNumber).To(Equal(n))
		g.Expect(p.Spec.Upstream).NotTo(BeNil())
		g.Expect(p.Spec.Upstream.WorkOrderNumber).To(Equal(n))
		g.Expect(p.Status.Project).To(Equal(projectName(n)))
		g.Expect(p.Status.ClientStatus).To(Equal("Open"))
		g.Expect(p.Status.AppliedHash).NotTo(BeEmpty())
		g.Expect(p.Status.LastAppliedTime).NotTo(BeNil())
	}
	up := w.project(g, linkName, "1001").Spec.Upstream
	g.Expect(up.Address1).To(Equal("1001 Elm St"))
	g.Expect(up.ClientDueDate).To(Equal("2030-04-30"))
	g.Expect(up.Services).To(HaveLen(2))
	g.Expect(up.Attributes).NotTo(BeNil())
	g.Expect(string(up.Attributes.Raw)).To(MatchJSON(`{"customerRef":"X-1"}`))

	// The vendor's project has every provider field, the default work
	// type's reference, description, options and missing tasks, and the
	// default assignee.
	v := w.vendorOrder("1001")
	g.Expect(v.Integration).To(Equal(clientCode))
	g.Expect(v.RemoteNumber).To(Equal("1001"))
	g.Expect(v.AssignedTo).To(Equal(crew1))
	g.Expect(v.Status).To(Equal("Rush"))
	g.Expect(v.ClientStatus).To(Equal("Open"))
	wo := v.WorkOrder
	g.Expect(wo.WorkOrderNumber).To(Equal(projectName("1001")))
	for field, got := range map[string]*string{
		"workOrderInfo": wo.WorkOrderInfo, "address1": wo.Address1, "address2": wo.Address2, "city": wo.City,
		"state": wo.State, "zip": wo.Zip, "country": wo.Country, "dueDate": wo.DueDate, "startDate": wo.StartDate,
		"instructions": wo.Instructions, "clientStatus": wo.ClientStatus, "clientDueDate": wo.ClientDueDate,
		"clientInstructions": wo.ClientInstructions, "source_wo_number": wo.SourceWONumber,
		"source_wo_id": wo.SourceWOID, "source_wo_provider": wo.SourceWOProvider,
		"reference": wo.Reference, "description": wo.Description,
	} {
		want := map[string]string{
			"workOrderInfo": "Lockbox 4321 for 1001", "address1": "1001 Elm St", "address2": "Unit 2",
			"city": "Springfield", "state": "IL", "zip": "62701", "country": "US", "dueDate": "2030-05-01",
			"startDate": "2030-04-01", "instructions": "Cut front and back yard", "clientStatus": "Open",
			"clientDueDate": "2030-04-30", "clientInstructions": "Call the office before leaving",
			"source_wo_number": "SRC-1001", "source_wo_id": "ID-1001", "source_wo_provider": "origin-co",
			// The work type always sets these.
			"reference": "WT-GRASS", "description": "Grass cut per vendor standard",
		}[field]
		g.Expect(got).NotTo(BeNil(), field)
		g.Expect(*got).To(Equal(want), field)
	}
	g.Expect(wo.Options).To(Equal(protocol.Options{"lockbox": "true", "photo_min": "6"}))
	g.Expect(serviceNames(wo.Services)).To(Equal([]string{"Grass Cut", "Trim Hedges", "Before Photos"}))
	g.Expect(protocol.Value(wo.Services[0].Instructions)).To(Equal("provider's grass cut"), "the work type never overwrites a task")
	g.Expect(wo.Services[0].Options).To(Equal(protocol.Options{"height": "3in"}))
	g.Expect(wo.Extra).To(HaveKey("customerRef"))
	g.Expect(string(wo.Extra["customerRef"])).To(Equal(`"X-1"`))

	plain := w.vendorOrder("1003")
	g.Expect(plain.AssignedTo).To(Equal(crew1))
	g.Expect(plain.Status).To(Equal("Assigned"))

	// The overrides of 1002 won, and the person still owns them.
	over := w.vendorOrder("1002")
	g.Expect(over.AssignedTo).To(Equal(crew2))
	g.Expect(protocol.Value(over.WorkOrder.Reference)).To(Equal("WT-SNOW"))
	g.Expect(serviceNames(over.WorkOrder.Services)).To(Equal([]string{"Grass Cut", "Trim Hedges", "Salt Walkways"}))
	p := w.project(g, linkName, "1002")
	g.Expect(p.Spec.WorkType).To(Equal(otherWorkType))
	g.Expect(p.Spec.AssignTo).To(Equal(crew2))
	g.Expect(p.OwnerReferences).To(HaveLen(1))
	g.Expect(managersOf(p)).To(ContainElements("a-person", "share-operator"))

	// The order assigned to nobody was not imported.
	_, err := w.srv.GetOrder(w.ctx, vendorAccount, projectName("1999"))
	g.Expect(err).To(MatchError(accountserver.ErrNotFound))

	// The import is recorded as one event on the link, with its count, and
	// none on each new project.
	g.Eventually(func(g Gomega) {
		g.Expect(w.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonImported))
		g.Expect(w.eventMessages(g, "ShareLink", linkName)).To(ContainElement("imported 3; 3 projects: 3 active"))
	}).Should(Succeed())
	g.Expect(w.eventReasons(g, "SharedProject", sharev1.SharedProjectName(linkName, "1003"))).To(BeEmpty())
}

func serviceNames(s []protocol.Service) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i].ServiceName
	}
	return out
}

func managersOf(o metav1.Object) []string {
	var out []string
	for _, m := range o.GetManagedFields() {
		out = append(out, m.Manager)
	}
	return out
}

// TestAutoAdmin: with Auto Admin on, every import sets the shared fields from
// the provider and overwrites the vendor's edits; off, the vendor's edits
// stay while the fields the provider always owns still follow it.
func TestAutoAdmin(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("2001"))
	w.startOperator()
	w.createLink(linkName)
	w.waitImported(linkName, []string{"2001"})

	// On: the vendor edits shared fields, the provider changes the order.
	_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName("2001"), protocol.WorkOrder{
		Instructions: protocol.String("vendor's own instructions"),
		DueDate:      protocol.String("2031-01-01"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	w.editUpstream("2001", protocol.WorkOrder{ClientInstructions: protocol.String("provider update 1")})
	w.refresh(linkName, "on-1")

	v := w.vendorOrder("2001").WorkOrder
	g.Expect(protocol.Value(v.Instructions)).To(Equal("Cut front and back yard"), "Auto Admin overwrites the vendor's instructions")
	g.Expect(protocol.Value(v.DueDate)).To(Equal("2030-05-01"), "Auto Admin overwrites the vendor's due date")
	g.Expect(protocol.Value(v.ClientInstructions)).To(Equal("provider update 1"))
	g.Expect(w.project(g, linkName, "2001").Spec.Upstream.ClientInstructions).To(Equal("provider update 1"))

	// Off.
	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.AutoAdmin = ptr.To(false) })
	w.waitReady(linkName)
	_, err = w.srv.EditOrder(w.ctx, vendorAccount, projectName("2001"), protocol.WorkOrder{
		Instructions: protocol.String("vendor's instructions, kept"),
		DueDate:      protocol.String("2031-02-02"),
	})
	g.Expect(err).NotTo(HaveOccurred())
	w.editUpstream("2001", protocol.WorkOrder{
		Instructions:       protocol.String("provider's new instructions"),
		DueDate:            protocol.String("2030-07-01"),
		ClientStatus:       protocol.String("In Progress"),
		ClientDueDate:      protocol.String("2030-07-02"),
		ClientInstructions: protocol.String("provider update 2"),
		Address1:           protocol.String("1 New Rd"),
		Zip:                protocol.String("62702"),
	})
	w.refresh(linkName, "off-1")

	v = w.vendorOrder("2001").WorkOrder
	g.Expect(protocol.Value(v.Instructions)).To(Equal("vendor's instructions, kept"))
	g.Expect(protocol.Value(v.DueDate)).To(Equal("2031-02-02"))
	g.Expect(protocol.Value(v.ClientStatus)).To(Equal("In Progress"))
	g.Expect(protocol.Value(v.ClientDueDate)).To(Equal("2030-07-02"))
	g.Expect(protocol.Value(v.ClientInstructions)).To(Equal("provider update 2"))
	g.Expect(protocol.Value(v.Address1)).To(Equal("1 New Rd"))
	g.Expect(protocol.Value(v.Zip)).To(Equal("62702"))
	// The SharedProject still records what the provider sent.
	p := w.project(g, linkName, "2001")
	g.Expect(p.Spec.Upstream.Instructions).To(Equal("provider's new instructions"))
	g.Expect(p.Status.ClientStatus).To(Equal("In Progress"))
	applied(g, p)

	// A full import repairs drift only in what the link owns: with Auto
	// Admin off, the vendor's edits stay there too.
	w.fullImport(linkName, "off-full-1")
	v = w.vendorOrder("2001").WorkOrder
	g.Expect(protocol.Value(v.Instructions)).To(Equal("vendor's instructions, kept"))
	g.Expect(protocol.Value(v.DueDate)).To(Equal("2031-02-02"))
	g.Expect(vendorOrders(g, w)).To(HaveLen(1))
}

// TestUnassignDeleteReassign: an order the provider unassigns becomes
// Cancelled in the vendor account, a deleted one Deleted, a reassigned one
// active again, and the vendor account never holds an order twice.
func TestUnassignDeleteReassign(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("3001"), order("3002"), order("3003"))
	w.startOperator()
	w.createLink(linkName)
	numbers := []string{"3001", "3002", "3003"}
	w.waitImported(linkName, numbers)

	check := func(counts sharev1.ProjectCounts, want map[string]string) {
		t.Helper()
		for n, status := range want {
			v := w.vendorOrder(n)
			g.Expect(v.ClientStatus).To(Equal(status), "vendor project %s", n)
			g.Expect(v.Deleted).To(BeFalse(), "the vendor's project %s stays", n)
			p := w.project(g, linkName, n)
			g.Expect(p.Status.ClientStatus).To(Equal(status), "SharedProject %s", n)
			g.Expect(p.Spec.Upstream.ClientStatus).To(Equal(status), "SharedProject %s", n)
			applied(g, p)
		}
		g.Expect(vendorOrders(g, w)).To(HaveLen(3))
		g.Expect(w.projects(g, linkName)).To(HaveLen(3))
		g.Expect(w.link(linkName).Status.Projects).To(Equal(counts))
	}

	_, err := w.srv.UnassignOrder(w.ctx, providerAccount, "3001")
	g.Expect(err).NotTo(HaveOccurred())
	w.refresh(linkName, "unassign")
	check(sharev1.ProjectCounts{Total: 3, Active: 2, Cancelled: 1},
		map[string]string{"3001": sharev1.ClientStatusCancelled, "3002": "Open", "3003": "Open"})
	// Only the client status changed: the rest is as the vendor has it.
	g.Expect(w.vendorOrder("3001").AssignedTo).To(Equal(crew1))
	g.Expect(protocol.Value(w.vendorOrder("3001").WorkOrder.Instructions)).To(Equal("Cut front and back yard"))

	g.Expect(w.srv.DeleteOrder(w.ctx, providerAccount, "3002")).To(Succeed())
	w.refresh(linkName, "delete")
	check(sharev1.ProjectCounts{Total: 3, Active: 1, Cancelled: 1, Deleted: 1},
		map[string]string{"3001": sharev1.ClientStatusCancelled, "3002": sharev1.ClientStatusDeleted, "3003": "Open"})

	_, err = w.srv.AssignOrder(w.ctx, providerAccount, "3001", vendorLogin)
	g.Expect(err).NotTo(HaveOccurred())
	w.refresh(linkName, "reassign")
	check(sharev1.ProjectCounts{Total: 3, Active: 2, Deleted: 1},
		map[string]string{"3001": "Open", "3002": sharev1.ClientStatusDeleted, "3003": "Open"})

	// A full import changes none of it.
	w.fullImport(linkName, "full")
	check(sharev1.ProjectCounts{Total: 3, Active: 2, Deleted: 1},
		map[string]string{"3001": "Open", "3002": sharev1.ClientStatusDeleted, "3003": "Open"})

	g.Eventually(func(g Gomega) {
		reasons := w.eventReasons(g, "SharedProject", sharev1.SharedProjectName(linkName, "3001"))
		g.Expect(reasons).To(ContainElements(sharev1.ReasonCancelled, sharev1.ReasonReactivated))
		g.Expect(w.eventReasons(g, "SharedProject", sharev1.SharedProjectName(linkName, "3002"))).To(ContainElement(sharev1.ReasonDeleted))
	}).Should(Succeed())
}

// TestRequestAnnotations: the refresh and full-import annotations each run
// once per new value and are acknowledged in status; the same value again
// runs nothing.
func TestRequestAnnotations(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(4001, 3)
	w.createLink(linkName, manualImport)
	w.startOperator()
	w.waitImported(linkName, numbers)
	l := w.waitReady(linkName)
	g.Expect(l.Status.LastHandledFullImportAt).To(Equal("initial"))
	g.Expect(l.Status.LastHandledRefreshAt).To(BeEmpty())
	firstFull := l.Status.LastFullImportTime
	g.Expect(firstFull).NotTo(BeNil())
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(1))

	calls := func() int { return w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders) }
	pushes := func() int { return w.srv.AccountRequests(vendorAccount, accountserver.CallPush) }
	w.srv.ResetCounters()

	// A refresh with nothing new pulls once and pushes nothing, and the
	// link is idle again after it.
	w.refresh(linkName, "r1")
	g.Expect(calls()).To(Equal(1))
	g.Expect(pushes()).To(Equal(0))
	idle := func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationIdle))
		g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReconciling)).To(BeNil())
		g.Expect(l.IsReady()).To(BeTrue(), "Ready: %v", readyOf(l))
	}
	idle(g)

	// The same value again, after the annotation was removed, or beside an
	// unrelated change, runs nothing.
	w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, "")
	w.annotate(linkName, "example.com/unrelated", "x")
	w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, "r1")
	g.Consistently(calls, "2s").Should(Equal(1))
	g.Expect(w.link(linkName).Status.LastHandledRefreshAt).To(Equal("r1"))

	// A new value runs again and picks up a change.
	w.editUpstream("4002", protocol.WorkOrder{ClientInstructions: protocol.String("changed")})
	w.refresh(linkName, "r2")
	g.Expect(calls()).To(Equal(2))
	g.Expect(pushes()).To(Equal(1))
	g.Expect(protocol.Value(w.vendorOrder("4002").WorkOrder.ClientInstructions)).To(Equal("changed"))

	// A full import pulls everything and repairs drift in the vendor
	// account (Auto Admin is on).
	_, err := w.srv.EditOrder(w.ctx, vendorAccount, projectName("4001"), protocol.WorkOrder{Instructions: protocol.String("drift")})
	g.Expect(err).NotTo(HaveOccurred())
	w.fullImport(linkName, "f1")
	g.Expect(calls()).To(Equal(3))
	g.Expect(pushes()).To(Equal(2))
	g.Expect(protocol.Value(w.vendorOrder("4001").WorkOrder.Instructions)).To(Equal("Cut front and back yard"))
	idle(g)
	l = w.link(linkName)
	g.Expect(l.Status.LastFullImportTime.Time).To(BeTemporally(">=", firstFull.Time))
	g.Expect(l.Status.LastHandledRefreshAt).To(Equal("r2"))

	w.annotate(linkName, sharev1.AnnotationFullImportRequestedAt, "")
	w.annotate(linkName, sharev1.AnnotationFullImportRequestedAt, "f1")
	g.Consistently(calls, "2s").Should(Equal(3))
	g.Expect(pushes()).To(Equal(2))
	g.Expect(w.link(linkName).Status.LastHandledFullImportAt).To(Equal("f1"))
	g.Expect(vendorOrders(g, w)).To(HaveLen(3))
}
