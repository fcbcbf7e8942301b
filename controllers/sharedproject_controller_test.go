package controllers

// Step tests of the SharedProject reconciler with the controller-runtime
// fake client: a new project waits for its link before it says it waits.

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestNewProjectWaitsForItsLink(t *testing.T) {
	created := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		age       time.Duration
		state     string
		wantWrite bool
		wantAfter time.Duration
	}{
		{name: "just created, link idle", age: time.Second, state: sharev1.IntegrationIdle, wantAfter: applyGrace - time.Second},
		{name: "link importing", age: time.Minute, state: sharev1.IntegrationRunning, wantAfter: applyGrace},
		{name: "past the grace, link idle", age: applyGrace + time.Second, state: sharev1.IntegrationIdle, wantWrite: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			scheme := runtime.NewScheme()
			g.Expect(sharev1.AddToScheme(scheme)).To(Succeed())
			link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: "ns"},
				Status: sharev1.ShareLinkStatus{IntegrationState: tc.state}}
			p := &sharev1.SharedProject{
				ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Namespace: "ns", Generation: 1, CreationTimestamp: metav1.NewTime(created)},
				Spec:       sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: "1001"},
			}
			c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&sharev1.ShareLink{}, &sharev1.SharedProject{}).
				WithObjects(link, p).Build()
			r := &SharedProjectReconciler{Client: c, Clock: clocktesting.NewFakePassiveClock(created.Add(tc.age))}

			res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.RequeueAfter).To(Equal(tc.wantAfter))
			got := &sharev1.SharedProject{}
			g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(p), got)).To(Succeed())
			ready := meta.FindStatusCondition(got.Status.Conditions, sharev1.ConditionReady)
			if !tc.wantWrite {
				g.Expect(ready).To(BeNil(), "no status write while the link may still apply the project")
				return
			}
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(ready.Message).To(Equal("waiting for the link to apply the project"))
		})
	}
}

func TestNeedsApply(t *testing.T) {
	mk := func(gen, observed int64, created bool) *sharev1.SharedProject {
		return &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Generation: gen},
			Spec:       sharev1.SharedProjectSpec{WorkOrderNumber: "1001", Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "1001"}},
			Status:     sharev1.SharedProjectStatus{ObservedGeneration: observed, Created: created},
		}
	}
	suspended := mk(1, 0, false)
	suspended.Spec.Suspend = true
	noUpstream := mk(1, 0, false)
	noUpstream.Spec.Upstream = nil
	for _, tc := range []struct {
		name    string
		p       *sharev1.SharedProject
		full    bool
		seen    bool
		applied bool
		memGen  int64 // generation the link's memory says it applied; 0: none
		want    bool
	}{
		{name: "new", p: mk(1, 0, false), want: true},
		{name: "up to date", p: mk(1, 1, true), want: false},
		{name: "changed by a person", p: mk(2, 1, true), want: true},
		{name: "applied by this process, cache behind", p: mk(2, 1, true), memGen: 2, want: false},
		{name: "up to date, full import and pulled", p: mk(1, 1, true), full: true, seen: true, want: true},
		{name: "up to date, full import, not pulled", p: mk(1, 1, true), full: true, want: false},
		{name: "already applied in this run", p: mk(1, 0, false), full: true, seen: true, applied: true, want: false},
		{name: "suspended", p: suspended, want: false},
		{name: "no upstream yet", p: noUpstream, want: false},
	} {
		mem := &linkMemory{}
		if tc.memGen > 0 {
			p := tc.p.DeepCopy()
			p.Generation = tc.memGen
			mem.recordApplied(p)
		}
		im := &importRun{linkRun: &linkRun{mem: mem}, plan: importPlan{full: tc.full},
			seen: map[string]bool{"1001": tc.seen}, applied: map[string]bool{"1001": tc.applied}}
		if got := im.needsApply(tc.p); got != tc.want {
			t.Errorf("%s: needsApply = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSettledKeepsWhatCountsNeed(t *testing.T) {
	g := NewWithT(t)
	p := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: "acme-1001", Namespace: "ns", Generation: 3, Labels: map[string]string{"a": "b"}},
		Spec:       sharev1.SharedProjectSpec{LinkName: "acme", WorkOrderNumber: "1001", Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "1001"}},
		Status:     sharev1.SharedProjectStatus{ClientStatus: sharev1.ClientStatusCancelled, ObservedGeneration: 3, Created: true},
	}
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, "no")
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonRefused, "no")
	s := settled(p)
	g.Expect(countProjects([]*sharev1.SharedProject{s})).To(Equal(countProjects([]*sharev1.SharedProject{p})))
	g.Expect(s.Spec.Upstream).To(BeNil(), "the order itself is not kept")
	g.Expect(s.Status.Conditions).To(HaveLen(1))
	g.Expect(s.Labels).To(BeNil())
}
