package controllers

// Step tests of import and apply: one reconcile of a link at a time, with
// the fake client, protocol.Fake for both accounts and a fake clock, so
// that the import's logic is checked in milliseconds. The envtest suites
// (import_envtest_test.go) check the same against a real API server and the
// reference accounts.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// importTest is the link "acme" with fake accounts: the provider answers
// what the test sets, the vendor account records each push.
type importTest struct {
	*fakeEnv
	provider, vendor *protocol.Fake

	mu sync.Mutex
	// answer is what the next pulls answer; pullErr, when set, fails them.
	answer  []protocol.WorkOrder
	pullErr error
	// sinces is the timestamp of each pull, nil for a full one.
	sinces []*int64
	// pushes are the orders of each push; refuse, by order number, what the
	// vendor account answers an order it refuses.
	pushes [][]protocol.WorkOrder
	refuse map[string]string
}

func newImportTest(t *testing.T, mutate ...func(*sharev1.ShareLink)) *importTest {
	t.Helper()
	it := &importTest{fakeEnv: newFakeEnv(t), refuse: map[string]string{}}
	it.provider = &protocol.Fake{
		ValidateFunc: func(context.Context, protocol.Credentials, string) error { return nil },
		GetWorkOrdersFunc: func(_ context.Context, _ protocol.Credentials, since *int64) (*protocol.GetWorkOrdersResponse, error) {
			it.mu.Lock()
			defer it.mu.Unlock()
			it.sinces = append(it.sinces, since)
			if it.pullErr != nil {
				return nil, it.pullErr
			}
			return &protocol.GetWorkOrdersResponse{ServerTime: it.clock.Now().Unix(), WorkOrders: slices.Clone(it.answer)}, nil
		},
	}
	it.vendor = &protocol.Fake{
		ListItemsFunc: func(context.Context, string, string, int) (*protocol.ItemFeedResponse, error) {
			return &protocol.ItemFeedResponse{}, nil
		},
		LookupProjectsFunc: holdsNone, // a new vendor account (adopt_test.go)
		PushFunc: func(_ context.Context, key string, orders []protocol.WorkOrder) (*protocol.PushResponse, error) {
			it.mu.Lock()
			defer it.mu.Unlock()
			if key != fakePushKey {
				return nil, protocol.ErrInvalidCredentials
			}
			it.pushes = append(it.pushes, slices.Clone(orders))
			resp := &protocol.PushResponse{Response: true, Error: "success"}
			for _, o := range orders {
				r := protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Project: "ACME::" + o.WorkOrderNumber, Action: protocol.ActionCreated}
				if msg, ok := it.refuse[o.WorkOrderNumber]; ok {
					r = protocol.PushResult{WorkOrderNumber: o.WorkOrderNumber, Error: msg}
				}
				resp.Results = append(resp.Results, r)
			}
			return resp, nil
		},
	}
	it.accounts[fakeProviderURL], it.accounts[fakeVendorURL] = it.provider, it.vendor
	it.createLink("acme", fakeProviderURL, "login", append([]func(*sharev1.ShareLink){func(l *sharev1.ShareLink) {
		l.Spec.DefaultWorkType, l.Spec.DefaultAssignTo = testworld.WorkType, testworld.Crew
	}}, mutate...)...)
	return it
}

// answers sets what the provider answers from now on.
func (it *importTest) answers(orders ...protocol.WorkOrder) {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.answer = orders
}

// reconcile reconciles the link and expects it to go on without an error.
func (it *importTest) reconcile() ctrl.Result {
	it.t.Helper()
	res, err := it.reconcileResult("acme")
	it.g.Expect(err).NotTo(HaveOccurred())
	return res
}

// refresh moves the clock past the refresh interval and reconciles: an
// incremental pull.
func (it *importTest) refresh() {
	it.t.Helper()
	it.clock.Step(sharev1.DefaultInterval + time.Second)
	it.reconcile()
}

// pushed are the order numbers of each push since the first one of index
// from.
func (it *importTest) pushed(from int) [][]string {
	it.mu.Lock()
	defer it.mu.Unlock()
	var out [][]string
	for _, orders := range it.pushes[from:] {
		var numbers []string
		for _, o := range orders {
			numbers = append(numbers, o.WorkOrderNumber)
		}
		out = append(out, numbers)
	}
	return out
}

func (it *importTest) pushCount() int {
	it.mu.Lock()
	defer it.mu.Unlock()
	return len(it.pushes)
}

// lastPushOf is the last order pushed of a number.
func (it *importTest) lastPushOf(number string) protocol.WorkOrder {
	it.t.Helper()
	it.mu.Lock()
	defer it.mu.Unlock()
	for i := len(it.pushes) - 1; i >= 0; i-- {
		for _, o := range it.pushes[i] {
			if o.WorkOrderNumber == number {
				return o
			}
		}
	}
	it.t.Fatalf("order %s was never pushed", number)
	return protocol.WorkOrder{}
}

func (it *importTest) projectOf(number string) *sharev1.SharedProject {
	it.t.Helper()
	return it.project(sharev1.SharedProjectName("acme", number))
}

func (it *importTest) resourceVersions() map[string]string {
	it.t.Helper()
	rv, err := testworld.ResourceVersions(it.ctx, it.c, "ns")
	it.g.Expect(err).NotTo(HaveOccurred())
	return rv
}

func providerOrder(number string) protocol.WorkOrder {
	return fixtures.Order(number, testworld.VendorLogin)
}

func tombstone(number, clientStatus string) protocol.WorkOrder {
	return protocol.WorkOrder{WorkOrderNumber: number, ClientStatus: protocol.String(clientStatus)}
}

// appliedOK says the project is applied as its status shows it, for the
// generation it has.
func appliedOK(g Gomega, p *sharev1.SharedProject) {
	g.Expect(p.Status.Created).To(BeTrue(), "project %s not created", p.Name)
	g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation), "project %s", p.Name)
	g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionApplied)).To(BeTrue(), "project %s: %v", p.Name, p.Status.Conditions)
	g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "project %s: %v", p.Name, p.Status.Conditions)
}

// TestImportFirstPull: the first reconcile pulls every order, records each
// as a SharedProject of the link and pushes them all in one push, with the
// default work type and assignee; the link says so once.
func TestImportFirstPull(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"), providerOrder("1002"))
	res := it.reconcile()
	g.Expect(res.RequeueAfter).To(BeNumerically(">=", sharev1.DefaultInterval), "auto-import wakes the link for the next refresh")

	g.Expect(it.sinces).To(Equal([]*int64{nil}), "one full pull")
	g.Expect(it.pushed(0)).To(Equal([][]string{{"1001", "1002"}}), "one push with both orders")
	first := it.lastPushOf("1001")
	g.Expect(protocol.Value(first.WorkType)).To(Equal(testworld.WorkType))
	g.Expect(protocol.Value(first.AssignedTo)).To(Equal(testworld.Crew))
	g.Expect(protocol.Value(first.Instructions)).To(Equal("Cut front and back yard"))

	g.Expect(it.projects()).To(HaveLen(2))
	for _, n := range []string{"1001", "1002"} {
		p := it.projectOf(n)
		g.Expect(p.Labels).To(HaveKeyWithValue(sharev1.LabelLink, "acme"))
		g.Expect(p.OwnerReferences).To(HaveLen(1))
		g.Expect(p.OwnerReferences[0].UID).To(BeEquivalentTo("uid-acme"))
		g.Expect(p.Spec.LinkName).To(Equal("acme"))
		g.Expect(p.Spec.WorkOrderNumber).To(Equal(n))
		g.Expect(p.Spec.Upstream.Address1).To(Equal(n + " Elm St"))
		g.Expect(p.Generation).To(Equal(int64(1)))
		appliedOK(g, p)
		g.Expect(p.Status.Project).To(Equal("ACME::" + n))
		g.Expect(p.Status.ClientStatus).To(Equal("Open"))
		g.Expect(p.Status.AppliedHash).NotTo(BeEmpty())
		g.Expect(p.Status.LastAppliedTime).NotTo(BeNil())
	}

	l := it.link("acme")
	g.Expect(l.IsReady()).To(BeTrue(), "%v", l.Status.Conditions)
	g.Expect(l.Finalizers).To(ContainElement(sharev1.Finalizer))
	g.Expect(l.Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 2, Active: 2}))
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationIdle))
	g.Expect(l.Status.Watermark).To(Equal(it.clock.Now().Unix()))
	g.Expect(l.Status.LastFullImportTime).NotTo(BeNil())
	g.Expect(l.Status.LastRefreshTime).NotTo(BeNil())
	evs := it.drainEvents()
	g.Expect(evs).To(ContainElement(corev1.EventTypeNormal + " " + sharev1.ReasonImported + " imported 2; 2 projects: 2 active"))
	for _, ev := range evs {
		g.Expect(ev).NotTo(HavePrefix(corev1.EventTypeNormal+" "+sharev1.ReasonImported+" applied"), "a first import is told on the link, not on each project")
	}
}

// TestImportUnchangedWritesNothing: an incremental pull that answers the
// orders as they were writes nothing and pushes nothing; a reconcile with
// nothing due does not pull.
func TestImportUnchangedWritesNothing(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"), providerOrder("1002"))
	it.reconcile()
	watermark := it.link("acme").Status.Watermark
	it.takeWrites()
	it.drainEvents()

	it.refresh()
	g.Expect(it.sinces).To(HaveLen(2))
	g.Expect(it.sinces[1]).NotTo(BeNil(), "an incremental pull")
	g.Expect(*it.sinces[1]).To(Equal(watermark-60), "from the watermark less the overlap")
	g.Expect(it.takeWrites()).To(BeEmpty())
	g.Expect(it.pushCount()).To(Equal(1))
	g.Expect(it.drainEvents()).To(BeEmpty())

	it.reconcile()
	g.Expect(it.sinces).To(HaveLen(2), "no refresh due: no pull")
	g.Expect(it.takeWrites()).To(BeEmpty())
}

// TestImportPushesOnlyChangedOrders: with Auto Admin on, a changed shared
// field goes out in a push of that order alone, as an update (no work type
// or assignee); the other projects are not written. With Auto Admin off,
// only what the provider always owns goes out.
func TestImportPushesOnlyChangedOrders(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	orders := []protocol.WorkOrder{providerOrder("1001"), providerOrder("1002"), providerOrder("1003")}
	it.answers(orders...)
	it.reconcile()
	before := it.resourceVersions()
	it.drainEvents()

	orders[1].Instructions = protocol.String("Cut the back yard only")
	it.answers(orders...)
	it.refresh()
	g.Expect(it.pushed(1)).To(Equal([][]string{{"1002"}}))
	update := it.lastPushOf("1002")
	g.Expect(protocol.Value(update.Instructions)).To(Equal("Cut the back yard only"))
	g.Expect(update.WorkType).To(BeNil(), "the work type is set at creation only")
	g.Expect(update.AssignedTo).To(BeNil(), "the assignee is set at creation only")
	g.Expect(testworld.Changed(before, it.resourceVersions())).To(ConsistOf(sharev1.SharedProjectName("acme", "1002")))
	p := it.projectOf("1002")
	g.Expect(p.Generation).To(Equal(int64(2)))
	appliedOK(g, p)
	g.Expect(it.drainEvents()).To(ContainElement(HavePrefix(corev1.EventTypeNormal + " " + sharev1.ReasonUpdated + " applied to ACME::1002")))

	// Auto Admin off: the provider's change of a shared field stays out;
	// its client instructions go.
	l := it.link("acme")
	l.Spec.AutoAdmin = ptr.To(false)
	g.Expect(it.c.Update(it.ctx, l)).To(Succeed())
	orders[2].Instructions = protocol.String("provider's new instructions")
	orders[2].ClientInstructions = protocol.String("Gate code 1234")
	it.answers(orders...)
	it.refresh()
	g.Expect(it.pushed(2)).To(Equal([][]string{{"1003"}}))
	off := it.lastPushOf("1003")
	g.Expect(off.Instructions).To(BeNil())
	g.Expect(protocol.Value(off.ClientInstructions)).To(Equal("Gate code 1234"))
	g.Expect(protocol.Value(off.Address1)).To(Equal("1003 Elm St"))
}

// TestImportCancelledAndDeleted: an order the provider unassigned (a
// tombstone, or missing from a full import) cancels its project, a deleted
// one deletes it; only the client status is pushed, and the project keeps
// the order as it was.
func TestImportCancelledAndDeleted(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"), providerOrder("1002"), providerOrder("1003"))
	it.reconcile()
	it.drainEvents()

	it.answers(tombstone("1001", sharev1.ClientStatusCancelled), tombstone("1002", sharev1.ClientStatusDeleted))
	it.refresh()
	g.Expect(it.pushed(1)).To(Equal([][]string{{"1001", "1002"}}))
	g.Expect(it.lastPushOf("1001")).To(Equal(protocol.WorkOrder{WorkOrderNumber: "1001", ClientStatus: protocol.String(sharev1.ClientStatusCancelled)}))
	g.Expect(it.lastPushOf("1002")).To(Equal(protocol.WorkOrder{WorkOrderNumber: "1002", ClientStatus: protocol.String(sharev1.ClientStatusDeleted)}))
	for n, status := range map[string]string{"1001": sharev1.ClientStatusCancelled, "1002": sharev1.ClientStatusDeleted} {
		p := it.projectOf(n)
		appliedOK(g, p)
		g.Expect(p.Spec.Upstream.ClientStatus).To(Equal(status))
		g.Expect(p.Spec.Upstream.Address1).To(Equal(n+" Elm St"), "the order as it was stays")
		g.Expect(p.Status.ClientStatus).To(Equal(status))
	}
	evs := it.drainEvents()
	g.Expect(evs).To(ContainElement(HavePrefix(corev1.EventTypeNormal + " " + sharev1.ReasonCancelled + " applied to ACME::1001 (Cancelled by the provider)")))
	g.Expect(evs).To(ContainElement(HavePrefix(corev1.EventTypeNormal + " " + sharev1.ReasonDeleted + " applied to ACME::1002 (Deleted by the provider)")))
	g.Expect(it.link("acme").Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 3, Active: 1, Cancelled: 1, Deleted: 1}))

	// A full import that lacks 1003 cancels it.
	it.answers()
	l := it.link("acme")
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationFullImportRequestedAt, "full-1")
	g.Expect(it.c.Update(it.ctx, l)).To(Succeed())
	it.reconcile()
	g.Expect(it.sinces[len(it.sinces)-1]).To(BeNil(), "a full pull")
	g.Expect(it.projectOf("1003").Status.ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
	g.Expect(it.lastPushOf("1003")).To(Equal(protocol.WorkOrder{WorkOrderNumber: "1003", ClientStatus: protocol.String(sharev1.ClientStatusCancelled)}))
	l = it.link("acme")
	g.Expect(l.Status.LastHandledFullImportAt).To(Equal("full-1"))
	g.Expect(l.Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 3, Cancelled: 2, Deleted: 1}))
}

// TestImportReassignedIsActiveAgain: an order reassigned after it was
// cancelled turns its own project active again: no second project, one
// push of the order.
func TestImportReassignedIsActiveAgain(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"))
	it.reconcile()
	uid := it.projectOf("1001").UID
	it.answers(tombstone("1001", sharev1.ClientStatusCancelled))
	it.refresh()
	g.Expect(it.projectOf("1001").Status.ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
	it.drainEvents()

	it.answers(providerOrder("1001"))
	it.refresh()
	g.Expect(it.pushed(2)).To(Equal([][]string{{"1001"}}), "one push of the order")
	g.Expect(protocol.Value(it.lastPushOf("1001").ClientStatus)).To(Equal("Open"))
	g.Expect(it.projects()).To(HaveLen(1), "no second project")
	p := it.projectOf("1001")
	g.Expect(p.UID).To(Equal(uid))
	appliedOK(g, p)
	g.Expect(p.Status.ClientStatus).To(Equal("Open"))
	g.Expect(it.drainEvents()).To(ContainElement(HavePrefix(corev1.EventTypeNormal + " " + sharev1.ReasonReactivated + " applied to ACME::1001")))
	g.Expect(it.link("acme").Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 1, Active: 1}))
}

// TestImportRefusedPush: an order the vendor account refuses marks its
// project failed (Stalled, Refused) and is named on the link, while the
// others apply; it is not pushed again until something changes.
func TestImportRefusedPush(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.refuse["1002"] = "work type Snow Removal does not exist"
	it.answers(providerOrder("1001"), providerOrder("1002"))
	it.reconcile()

	appliedOK(g, it.projectOf("1001"))
	p := it.projectOf("1002")
	g.Expect(p.Status.Created).To(BeFalse())
	g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
	applied := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionApplied)
	g.Expect(applied).NotTo(BeNil())
	g.Expect(applied.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(applied.Reason).To(Equal(sharev1.ReasonRefused))
	g.Expect(applied.Message).To(ContainSubstring("work type Snow Removal does not exist"))
	g.Expect(sharev1.IsConditionTrue(p, sharev1.ConditionStalled)).To(BeTrue())
	g.Expect(sharev1.IsConditionTrue(p, sharev1.ConditionReady)).To(BeFalse())
	g.Expect(it.drainEvents()).To(ContainElement(HavePrefix(corev1.EventTypeWarning + " " + sharev1.ReasonApplyFailed + " the vendor account refused the order")))

	l := it.link("acme")
	g.Expect(l.Status.Projects.Total).To(Equal(int32(2)))
	g.Expect(l.Status.Projects.Failed).To(Equal(int32(1)))
	subjects := []string{}
	for _, f := range l.Status.RecentFailures {
		if f.Reason == sharev1.ReasonRefused {
			subjects = append(subjects, f.Subject)
		}
	}
	g.Expect(subjects).To(Equal([]string{"1002"}))

	pushes := it.pushCount()
	it.refresh()
	g.Expect(it.pushCount()).To(Equal(pushes), "an unchanged refused order is not pushed again")
}

// TestImportThrottledPull: a pull the provider throttles requeues the link
// after its Retry-After, with no error for the rate limiter; until then the
// account is not called again, and afterwards the import goes on.
func TestImportThrottledPull(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"))
	it.pullErr = &protocol.APIError{Call: protocol.CallGetWorkOrders, StatusCode: 429, Kind: protocol.KindThrottled,
		RetryAfter: 30 * time.Second, Message: "too many requests"}
	res := it.reconcile()
	g.Expect(res.RequeueAfter).To(Equal(30 * time.Second))
	g.Expect(it.sinces).To(HaveLen(1))
	g.Expect(it.projects()).To(BeEmpty())
	g.Expect(it.pushCount()).To(BeZero())
	l := it.link("acme")
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationPending))
	imported := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionImported)
	g.Expect(imported).NotTo(BeNil())
	g.Expect(imported.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(imported.Reason).To(Equal(sharev1.ReasonThrottled))
	g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionStalled)).To(BeFalse(), "throttling needs no person")

	// Ten seconds on, the account's pause holds: no call, requeued for
	// the rest of it.
	it.clock.Step(10 * time.Second)
	res = it.reconcile()
	g.Expect(it.sinces).To(HaveLen(1), "no call while the account asked to wait")
	g.Expect(res.RequeueAfter).To(BeNumerically("~", 20*time.Second, time.Second))

	it.pullErr = nil
	it.clock.Step(21 * time.Second)
	it.reconcile()
	g.Expect(it.sinces).To(HaveLen(2))
	g.Expect(it.pushed(0)).To(Equal([][]string{{"1001"}}))
	appliedOK(g, it.projectOf("1001"))
	l = it.link("acme")
	g.Expect(l.IsReady()).To(BeTrue(), "%v", l.Status.Conditions)
	g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationIdle))
	g.Expect(strings.Join(it.drainEvents(), "\n")).To(ContainSubstring(sharev1.ReasonImported + " imported 1"))
}
