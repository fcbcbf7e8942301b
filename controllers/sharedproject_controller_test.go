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
