package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/health"
	"github.com/pruvan-share/share-operator/protocol"
)

// gitopsHealth is what kstatus and Argo CD's check make of a link.
func gitopsHealth(g Gomega, l *sharev1.ShareLink) (kstatus, argo string) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(l)
	g.Expect(err).NotTo(HaveOccurred())
	obj := &unstructured.Unstructured{Object: m}
	kstatus, _, err = health.KStatus(obj)
	g.Expect(err).NotTo(HaveOccurred())
	argo, _, err = health.Argo(health.ShareLinkScript, obj)
	g.Expect(err).NotTo(HaveOccurred())
	return kstatus, argo
}

func planMode(l *sharev1.ShareLink) { l.Spec.Mode = sharev1.LinkModePlan }

// A link in Plan mode pulls once, writes its plan and nothing else, and
// reads Ready (Planned); back in Live it applies with a full import at once.
func TestPlanModeStep(t *testing.T) {
	it := newImportTest(t, planMode)
	g := it.g
	it.answers(providerOrder("1001"), providerOrder("1002"))
	res := it.reconcile()
	g.Expect(res.RequeueAfter).To(BeNumerically(">", 0))

	l := it.link("acme")
	p := l.Status.Plan
	g.Expect(p).NotTo(BeNil())
	g.Expect(p.Counts).To(Equal(sharev1.PlanCounts{Create: 2}))
	g.Expect(p.Trigger).To(Equal(sharev1.PlanTriggerMode))
	g.Expect(p.Generation).To(Equal(l.Generation))
	g.Expect(p.Watermark).To(Equal(it.clock.Now().Unix()))
	g.Expect(p.Entries).To(HaveLen(2))
	g.Expect(p.Entries[0].AssignTo).To(Equal("crew1"))
	ready := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
	g.Expect(ready.Reason).To(Equal(sharev1.ReasonPlanned))
	g.Expect(ready.Message).To(Equal("Plan mode: a full import would create 2 (0 unchanged); nothing applied"))
	g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionPlanned)).To(BeTrue())
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReconciling)).To(BeNil())
	g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
	kstatus, argo := gitopsHealth(g, l)
	g.Expect(kstatus).To(Equal(health.Current), "kstatus: a link in Plan mode is as its spec asks")
	g.Expect(argo).To(Equal(health.Healthy))
	g.Expect(it.pushCount()).To(BeZero())
	g.Expect(it.projects()).To(BeEmpty())
	g.Expect(it.provider.Calls("GetWorkOrders")).To(Equal(1))
	g.Expect(it.vendor.Calls("LookupProjects")).To(Equal(1))

	// Nothing asks for another plan: no call.
	it.clock.Step(time.Hour)
	it.reconcile()
	g.Expect(it.provider.Calls("GetWorkOrders")).To(Equal(1))

	// kubectl share plan on a link in Plan mode: one plan answers it, and
	// stays the plan that Live applies.
	l = it.link("acme")
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationPlanRequestedAt, "again")
	g.Expect(it.c.Update(it.ctx, l)).To(Succeed())
	it.reconcile()
	it.reconcile()
	g.Expect(it.provider.Calls("GetWorkOrders")).To(Equal(2))
	l = it.link("acme")
	g.Expect(l.Status.LastHandledPlanAt).To(Equal("again"))
	g.Expect(l.Status.Plan.Trigger).To(Equal(sharev1.PlanTriggerMode))
	g.Expect(l.Status.Plan.RequestedAt).To(Equal("again"))

	// Live applies what the plan showed, with a full import at once.
	l = it.link("acme")
	l.Spec.Mode = sharev1.LinkModeLive
	g.Expect(it.c.Update(it.ctx, l)).To(Succeed())
	it.reconcile()
	g.Expect(it.pushed(0)).To(Equal([][]string{{"1001", "1002"}}))
	g.Expect(it.sinces[len(it.sinces)-1]).To(BeNil(), "a full pull")
	l = it.link("acme")
	g.Expect(l.Status.Plan.AppliedTime).NotTo(BeNil())
	g.Expect(l.Status.Projects.Total).To(BeEquivalentTo(2))
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReady).Reason).To(Equal(sharev1.ReasonSucceeded))
}

// A plan whose pull fails says so on Planned, and Ready with it, in Plan
// mode; the next try runs with backoff.
func TestPlanModePullFails(t *testing.T) {
	it := newImportTest(t, planMode)
	it.pullErr = &protocol.APIError{Call: protocol.CallGetWorkOrders, Kind: protocol.KindTransient, Message: "503"}
	_, err := it.reconcileResult("acme")
	it.g.Expect(err).To(HaveOccurred())
	l := it.link("acme")
	planned := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionPlanned)
	it.g.Expect(planned.Status).To(Equal(metav1.ConditionFalse))
	it.g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReady).Status).To(Equal(metav1.ConditionFalse))
	it.g.Expect(l.Status.Plan).To(BeNil())
}

// On a live link the annotation computes the plan before the import runs:
// the drift shows, then the import applies it as it would have.
func TestPlanAnnotationOnLiveLink(t *testing.T) {
	it := newImportTest(t)
	g := it.g
	it.answers(providerOrder("1001"))
	it.reconcile()
	g.Expect(it.pushCount()).To(Equal(1))

	held := it.lastPushOf("1001")
	it.vendor.LookupProjectsFunc = func(_ context.Context, _ string, numbers []string) (*protocol.LookupResponse, error) {
		return &protocol.LookupResponse{Projects: []protocol.LookupProject{{WorkOrderNumber: "1001", Project: "ACME::1001", WorkOrder: held}}}, nil
	}
	changed := providerOrder("1001")
	changed.DueDate = protocol.String("2031-02-02")
	it.answers(changed)
	l := it.link("acme")
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationPlanRequestedAt, "drift-1")
	g.Expect(it.c.Update(it.ctx, l)).To(Succeed())
	it.reconcile()

	l = it.link("acme")
	g.Expect(l.Status.LastHandledPlanAt).To(Equal("drift-1"))
	p := l.Status.Plan
	g.Expect(p.Trigger).To(Equal(sharev1.PlanTriggerAnnotation))
	g.Expect(p.RequestedAt).To(Equal("drift-1"))
	g.Expect(p.Counts).To(Equal(sharev1.PlanCounts{Update: 1}))
	g.Expect(p.Entries[0].Changes).To(Equal([]sharev1.PlanFieldChange{{Field: "dueDate", Old: "2030-05-01", New: "2031-02-02"}}))
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionReady).Reason).To(Equal(sharev1.ReasonSucceeded), "a live link stays Live")
}

func TestPlanDue(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fresh := &sharev1.LinkPlan{ComputedTime: metav1.NewTime(now.Add(-time.Minute)), Trigger: sharev1.PlanTriggerMode, Generation: 2}
	for _, tc := range []struct {
		name string
		link func(*sharev1.ShareLink)
		want planRequest
	}{
		{"a live link without a request", func(*sharev1.ShareLink) {}, planRequest{}},
		{"a live link asked", func(l *sharev1.ShareLink) {
			l.Annotations = map[string]string{sharev1.AnnotationPlanRequestedAt: "a"}
		}, planRequest{due: true, trigger: sharev1.PlanTriggerAnnotation, requestedAt: "a"}},
		{"a request handled", func(l *sharev1.ShareLink) {
			l.Annotations = map[string]string{sharev1.AnnotationPlanRequestedAt: "a"}
			l.Status.LastHandledPlanAt = "a"
		}, planRequest{}},
		{"Plan mode, no plan yet", planMode, planRequest{due: true, trigger: sharev1.PlanTriggerMode}},
		{"Plan mode, a fresh plan", func(l *sharev1.ShareLink) { planMode(l); l.Status.Plan = fresh }, planRequest{trigger: sharev1.PlanTriggerMode}},
		{"Plan mode, the spec changed", func(l *sharev1.ShareLink) {
			planMode(l)
			l.Status.Plan, l.Generation = fresh, 3
		}, planRequest{due: true, trigger: sharev1.PlanTriggerMode}},
		{"Plan mode, a plan applied before", func(l *sharev1.ShareLink) {
			planMode(l)
			p := *fresh
			p.AppliedTime = &p.ComputedTime
			l.Status.Plan = &p
		}, planRequest{due: true, trigger: sharev1.PlanTriggerMode}},
		{"Plan mode, a full-import period old", func(l *sharev1.ShareLink) {
			planMode(l)
			p := *fresh
			p.ComputedTime = metav1.NewTime(now.Add(-25 * time.Hour))
			l.Status.Plan = &p
		}, planRequest{due: true, trigger: sharev1.PlanTriggerMode}},
		{"Plan mode, the annotation asks", func(l *sharev1.ShareLink) {
			planMode(l)
			l.Status.Plan = fresh
			l.Annotations = map[string]string{sharev1.AnnotationPlanRequestedAt: "a"}
		}, planRequest{due: true, trigger: sharev1.PlanTriggerMode, requestedAt: "a"}},
		{"Plan mode, the bookmark asks for a refresh", func(l *sharev1.ShareLink) {
			planMode(l)
			l.Status.Plan = fresh
			l.Annotations = map[string]string{sharev1.AnnotationRefreshRequestedAt: "r"}
		}, planRequest{due: true, trigger: sharev1.PlanTriggerMode, refreshAt: "r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
			tc.link(l)
			NewWithT(t).Expect(planDue(l, now)).To(Equal(tc.want))
		})
	}
}

// The relay pauses in Plan mode, which writes to neither account: the
// items wait in the vendor's feed until the link is Live again.
func TestRelayPausesInPlanMode(t *testing.T) {
	g := NewWithT(t)
	l := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Generation: 1}}
	sharev1.SetCondition(l, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonPlanned, "Plan mode")
	l.Status.Conditions[0].ObservedGeneration = 1
	g.Expect(relayActive(l)).To(BeTrue())
	planMode(l)
	g.Expect(relayActive(l)).To(BeFalse())
}

func TestPlanSummary(t *testing.T) {
	for _, tc := range []struct {
		plan *sharev1.LinkPlan
		want string
	}{
		{nil, "no plan computed yet"},
		{&sharev1.LinkPlan{Counts: sharev1.PlanCounts{Unchanged: 12}}, "a full import would change nothing (12 unchanged)"},
		{&sharev1.LinkPlan{Counts: sharev1.PlanCounts{Create: 3, Update: 1, Cancel: 2, Delete: 1, Adopt: 4, Refused: 1, Unchanged: 5}},
			"a full import would create 3, update 1, cancel 2, delete 1, adopt 4, refuse 1 (5 unchanged); nothing applied"},
	} {
		NewWithT(t).Expect(planSummary(tc.plan)).To(Equal(tc.want))
	}
}
