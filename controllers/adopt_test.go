package controllers

// Adoption of the projects a vendor account already holds: the decision in
// tables, the import's steps with fakes. adopt_envtest_test.go runs it
// through the reference account server.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// holdsNone is the lookup of a vendor account that holds none of the
// link's projects yet.
func holdsNone(context.Context, string, []string) (*protocol.LookupResponse, error) {
	return &protocol.LookupResponse{Projects: []protocol.LookupProject{}}, nil
}

func TestNeedsLookup(t *testing.T) {
	tests := []struct {
		name       string
		status     sharev1.SharedProjectStatus
		vendorHeld string // the annotation; "" for none
		want       bool
	}{
		{"never pushed, recorded before the annotation", sharev1.SharedProjectStatus{}, "", true},
		{"pushed and refused", sharev1.SharedProjectStatus{Project: "ACME::1"}, "", true},
		{"created by the operator", sharev1.SharedProjectStatus{Created: true}, "", false},
		{"adopted", sharev1.SharedProjectStatus{Created: true, Adopted: true}, "", false},
		{"never pushed, looked up at its record: lacked", sharev1.SharedProjectStatus{}, "false", false},
		{"never pushed, looked up at its record: held", sharev1.SharedProjectStatus{}, "true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &sharev1.SharedProject{Status: tt.status}
			if tt.vendorHeld != "" {
				p.Annotations = map[string]string{sharev1.AnnotationVendorHeld: tt.vendorHeld}
			}
			g.Expect(needsLookup(p)).To(Equal(tt.want))
		})
	}
}

func TestAdoptionDecision(t *testing.T) {
	project := func(created bool) *sharev1.SharedProject {
		return &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{WorkOrderNumber: "7"}, Status: sharev1.SharedProjectStatus{Created: created}}
	}
	tests := []struct {
		name        string
		created     bool
		found       bool // the run's lookup found 7 in the vendor account
		transition  string
		wantHeld    bool
		wantReason  string
		wantAdopted bool
		vendorHeld  string // the project's annotation; "" for none
	}{
		{"new, not in the vendor account: imported", false, false, sharev1.ReasonImported, false, sharev1.ReasonImported, false, ""},
		{"new, in the vendor account: adopted", false, true, sharev1.ReasonImported, true, sharev1.ReasonAdopted, true, ""},
		{"created before: an update stays one", true, false, sharev1.ReasonUpdated, true, sharev1.ReasonUpdated, false, ""},
		{"created before, found anyway: not adopted", true, true, "", true, "", false, ""},
		// A crash cut short the run that pushed it: the record's annotation
		// decides, whatever a lookup now finds.
		{"recorded lacking, its push landed: imported, not adopted", false, true, sharev1.ReasonImported, false, sharev1.ReasonImported, false, "false"},
		{"recorded held: adopted again", false, false, sharev1.ReasonImported, true, sharev1.ReasonAdopted, true, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			run := &importRun{}
			if tt.found {
				run.adopted = map[string]bool{"7": true}
			}
			before := project(tt.created)
			if tt.vendorHeld != "" {
				before.Annotations = map[string]string{sharev1.AnnotationVendorHeld: tt.vendorHeld}
			}
			g.Expect(run.heldByVendor(before)).To(Equal(tt.wantHeld))
			p := before.DeepCopy()
			g.Expect(run.adoption(before, p, tt.transition)).To(Equal(tt.wantReason))
			g.Expect(p.Status.Adopted).To(Equal(tt.wantAdopted))
		})
	}
}

// An adopted project is pushed as a created one: Auto Admin, and
// autoAdminFields, decide its shared fields; the remote-owned ones always
// follow the provider; work type and assignee are the vendor's.
func TestAdoptedProjectsPush(t *testing.T) {
	up := toUpstream(ptr.To(providerOrder("7")))
	shared := func(w protocol.WorkOrder) []string {
		var out []string
		for name, set := range map[string]bool{
			"description": w.Description != nil, "reference": w.Reference != nil, "workOrderInfo": w.WorkOrderInfo != nil,
			"options": w.Options != nil, "instructions": w.Instructions != nil, "dueDate": w.DueDate != nil, "tasks": w.Services != nil,
		} {
			if set {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		name      string
		autoAdmin bool
		fields    []sharev1.AutoAdminField
		want      []string
	}{
		{"Auto Admin off: the vendor's shared fields stay", false, nil, nil},
		{"Auto Admin on: every shared field follows", true, nil, []string{"description", "dueDate", "instructions", "options", "reference", "tasks", "workOrderInfo"}},
		{"autoAdminFields: only those listed", true, []sharev1.AutoAdminField{sharev1.AutoAdminInstructions, sharev1.AutoAdminTasks}, []string{"instructions", "tasks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			link := &sharev1.ShareLinkSpec{ClientCode: "ACME", AutoAdmin: ptr.To(tt.autoAdmin), AutoAdminFields: tt.fields,
				DefaultWorkType: "Grass Cut", DefaultAssignTo: "crew1"}
			p := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{WorkOrderNumber: "7", Upstream: &up}}
			run := &importRun{adopted: map[string]bool{"7": true}}
			w := desiredOrder(applyInput{Link: link, Project: p, Upstream: &up, Created: run.heldByVendor(p), AutoAdmin: tt.autoAdmin})
			g.Expect(shared(w)).To(Equal(tt.want))
			g.Expect(w.ClientStatus).To(HaveValue(Equal("Open")))
			g.Expect(w.ClientDueDate).To(HaveValue(Equal("2030-04-30")))
			g.Expect(w.ClientInstructions).To(HaveValue(Equal("Call the office before leaving")))
			g.Expect(w.Address1).To(HaveValue(Equal("7 Elm St")))
			g.Expect(w.WorkType).To(BeNil(), "the vendor's project keeps its work type")
			g.Expect(w.AssignedTo).To(BeNil(), "the vendor's project keeps its assignee")
		})
	}
}

func TestCheckLookupCode(t *testing.T) {
	run := &linkRun{link: &sharev1.ShareLink{Spec: sharev1.ShareLinkSpec{ClientCode: "ACME"}}}
	tests := []struct {
		project string
		want    string // part of the mismatch message; "": none
	}{
		{"ACME::7", ""},
		{"", ""},
		{"GLOBEX::7", `integration "GLOBEX"`},
		{"odd", `integration "odd"`},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			g := NewWithT(t)
			err := checkLookupCode(run, protocol.LookupProject{WorkOrderNumber: "7", Project: tt.project})
			if tt.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			var mismatch *clientCodeMismatchError
			g.Expect(errors.As(err, &mismatch)).To(BeTrue())
			g.Expect(err.Error()).To(ContainSubstring(tt.want))
		})
	}
}

// vendorHolds makes the importTest's vendor account hold projects of these
// numbers, and records each lookup's numbers.
type vendorHolds struct {
	mu      sync.Mutex
	held    map[string]bool
	lookups [][]string
}

func holdProjects(it *importTest, numbers ...string) *vendorHolds {
	v := &vendorHolds{held: map[string]bool{}}
	for _, n := range numbers {
		v.held[n] = true
	}
	it.vendor.LookupProjectsFunc = func(_ context.Context, key string, numbers []string) (*protocol.LookupResponse, error) {
		if key != fakePushKey {
			return nil, protocol.ErrInvalidCredentials
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.lookups = append(v.lookups, slices.Clone(numbers))
		resp := &protocol.LookupResponse{Projects: []protocol.LookupProject{}}
		for _, n := range numbers {
			if v.held[n] {
				resp.Projects = append(resp.Projects, protocol.LookupProject{WorkOrderNumber: n, Project: "ACME::" + n,
					WorkOrder: protocol.WorkOrder{WorkOrderNumber: n, Description: protocol.String("the vendor's")}})
			}
		}
		return resp, nil
	}
	return v
}

func (v *vendorHolds) calls() [][]string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.lookups)
}

// TestImportAdoptsHeldProjects: the first import looks the new orders up
// once, pushes the one the vendor account holds as an update that leaves
// its shared fields alone (Auto Admin off), counts and tells it adopted;
// a later refresh looks nothing up.
func TestImportAdoptsHeldProjects(t *testing.T) {
	it := newImportTest(t, func(l *sharev1.ShareLink) { l.Spec.AutoAdmin = ptr.To(false) })
	g := it.g
	holds := holdProjects(it, "1001")
	it.answers(providerOrder("1001"), providerOrder("1002"))
	it.reconcile()

	g.Expect(holds.calls()).To(Equal([][]string{{"1001", "1002"}}), "one lookup of the new orders")
	adopted, created := it.lastPushOf("1001"), it.lastPushOf("1002")
	g.Expect(adopted.Description).To(BeNil())
	g.Expect(adopted.Instructions).To(BeNil())
	g.Expect(adopted.Services).To(BeNil())
	g.Expect(adopted.WorkType).To(BeNil())
	g.Expect(adopted.AssignedTo).To(BeNil())
	g.Expect(adopted.ClientInstructions).To(HaveValue(Equal("Call the office before leaving")))
	g.Expect(adopted.Address1).To(HaveValue(Equal("1001 Elm St")))
	g.Expect(created.Instructions).To(HaveValue(Equal("Cut front and back yard")), "a project the vendor lacks is created whole")

	p := it.projectOf("1001")
	appliedOK(g, p)
	g.Expect(p.Status.Adopted).To(BeTrue())
	g.Expect(it.projectOf("1002").Status.Adopted).To(BeFalse())
	l := it.link("acme")
	g.Expect(l.Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 2, Active: 2, Adopted: 1}))
	g.Expect(it.drainEvents()).To(ContainElement(corev1.EventTypeNormal + " " + sharev1.ReasonImported +
		" adopted 1, imported 1; 2 projects: 2 active, 1 adopted"))

	it.refresh()
	it.clock.Step(sharev1.DefaultFullImportInterval)
	it.reconcile()
	g.Expect(holds.calls()).To(HaveLen(1), "refreshes and full imports of created projects look nothing up")
	g.Expect(it.link("acme").Status.Projects.Adopted).To(Equal(int32(1)))
}

// TestImportAdoptedUnderAutoAdminIsUpdated: with Auto Admin on, an adopted
// project is updated as any created one.
func TestImportAdoptedUnderAutoAdminIsUpdated(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	holdProjects(it, "1001")
	it.answers(providerOrder("1001"))
	it.reconcile()
	w := it.lastPushOf("1001")
	g.Expect(w.Instructions).To(HaveValue(Equal("Cut front and back yard")))
	g.Expect(w.Description).To(HaveValue(Equal("Provider's description")))
	g.Expect(w.AssignedTo).To(BeNil(), "the assignee is set at creation only")
	g.Expect(it.projectOf("1001").Status.Adopted).To(BeTrue())
}

// TestImportAdoptionSurvivesAFailedPush: a push that fails after the
// lookup leaves the project not created, but recorded with what the lookup
// found (AnnotationVendorHeld); the next run adopts it from that record,
// with no second lookup: no overwrite.
func TestImportAdoptionSurvivesAFailedPush(t *testing.T) {
	it := newImportTest(t, func(l *sharev1.ShareLink) { l.Spec.AutoAdmin = ptr.To(false) })
	g := it.g
	holds := holdProjects(it, "1001")
	push := it.vendor.PushFunc
	failed := false
	it.vendor.PushFunc = func(ctx context.Context, key string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
		if !failed {
			failed = true
			return nil, &protocol.APIError{Call: protocol.CallPush, Kind: protocol.KindTransient, Message: "connection reset"}
		}
		return push(ctx, key, orders)
	}
	it.answers(providerOrder("1001"))
	_, err := it.reconcileResult("acme")
	g.Expect(err).To(HaveOccurred())
	g.Expect(it.projectOf("1001").Status.Created).To(BeFalse())
	g.Expect(it.projectOf("1001").Annotations).To(HaveKeyWithValue(sharev1.AnnotationVendorHeld, "true"))

	it.reconcile()
	g.Expect(holds.calls()).To(HaveLen(1), "the record keeps what the lookup found")
	g.Expect(it.lastPushOf("1001").Description).To(BeNil())
	g.Expect(it.projectOf("1001").Status.Adopted).To(BeTrue())
}

// TestImportLookupCost: one lookup per protocol.MaxPushOrders new orders.
func TestImportLookupCost(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	holds := holdProjects(it, "N00007", "N01500")
	orders := make([]protocol.WorkOrder, 2*protocol.MaxPushOrders+1)
	for i := range orders {
		orders[i] = providerOrder(fmt.Sprintf("N%05d", i))
	}
	it.answers(orders...)
	it.reconcile()
	calls := holds.calls()
	sizes := make([]int, len(calls))
	asked := 0
	for i, c := range calls {
		sizes[i] = len(c)
		asked += len(c)
	}
	t.Logf("first import of %d orders: %d lookups %v", len(orders), len(calls), sizes)
	g.Expect(calls).To(HaveLen(3), "2,001 new orders: 3 lookups")
	g.Expect(asked).To(Equal(len(orders)), "each new order asked once")
	g.Expect(it.link("acme").Status.Projects.Adopted).To(Equal(int32(2)))
}
