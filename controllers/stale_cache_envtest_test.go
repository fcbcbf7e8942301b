package controllers_test

// The reconcilers read SharedProjects from the manager's cache, which may not
// yet have seen the operator's own latest writes. These tests drive the
// reconcilers directly against the real API server, with a client whose
// reads return what a lagging cache would, and check that nothing is sent
// twice and nothing written is lost.

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
)

// laggingClient reads SharedProjects through lag, which turns what the API
// server holds into what a lagging cache would still show.
func (w *world) laggingClient(lag func(*sharev1.SharedProject)) client.Client {
	w.t.Helper()
	direct, err := client.NewWithWatch(w.env.Config, client.Options{Scheme: w.env.Scheme})
	w.g.Expect(err).NotTo(HaveOccurred())
	return interceptor.NewClient(direct, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := c.Get(ctx, key, obj, opts...); err != nil {
				return err
			}
			if p, ok := obj.(*sharev1.SharedProject); ok {
				lag(p)
			}
			return nil
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if err := c.List(ctx, list, opts...); err != nil {
				return err
			}
			if ps, ok := list.(*sharev1.SharedProjectList); ok {
				for i := range ps.Items {
					lag(&ps.Items[i])
				}
			}
			return nil
		},
	})
}

// withoutStatus is a project as a cache shows it when it has seen the
// project's creation (or spec change) but not yet the status write that
// followed.
func withoutStatus(p *sharev1.SharedProject) { p.Status = sharev1.SharedProjectStatus{} }

// TestLaggingCacheLinkPushesOnce: a link reconcile that follows the import at
// once, while the cache has not yet seen the projects' status writes, must
// not push them again nor announce them as imported again.
func TestLaggingCacheLinkPushesOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(9101, 3)
	w.createLink(linkName, manualImport)

	recorder := events.NewFakeRecorder(100)
	lagging := false
	lagClient := w.laggingClient(func(p *sharev1.SharedProject) {
		if lagging {
			withoutStatus(p)
		}
	})
	r := &controllers.ShareLinkReconciler{
		Client:      lagClient,
		APIReader:   w.c,
		Recorder:    recorder,
		Accounts:    controllers.NewAccounts(controllers.HTTPClientFactory(), 20, 40, clock.RealClock{}),
		Clock:       clock.RealClock{},
		Overlap:     time.Minute,
		CallTimeout: 3 * time.Second,
	}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: linkName}}
	_, err := r.Reconcile(w.ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	w.waitImported(linkName, numbers)
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(1))
	imported := len(recorder.Events)

	// The projects' events wake the link at once; its cache lags.
	lagging = true
	_, err = r.Reconcile(w.ctx, req)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(1), "projects pushed again")
	g.Expect(recorder.Events).To(HaveLen(imported), "events again")
	lagging = false
	ps := w.projects(g, linkName)
	for i := range ps {
		applied(g, &ps[i])
	}
}

// TestLaggingCacheProjectKeepsApplied: the SharedProject reconciler, acting
// on a cached copy older than the link's status write, must not wipe the
// Applied and Ready conditions the link wrote.
func TestLaggingCacheProjectKeepsApplied(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createLink(linkName, manualImport)
	p := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: sharev1.SharedProjectName(linkName, "9201"), Namespace: w.ns},
		Spec:       sharev1.SharedProjectSpec{LinkName: linkName, WorkOrderNumber: "9201", Upstream: &sharev1.UpstreamOrder{WorkOrderNumber: "9201"}},
	}
	g.Expect(w.c.Create(w.ctx, p)).To(Succeed())
	stale := p.DeepCopy()
	// The link applies it and writes its status.
	before := p.DeepCopy()
	p.Status.Created, p.Status.ObservedGeneration, p.Status.Project = true, p.Generation, projectName("9201")
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionTrue, sharev1.ReasonSucceeded, "applied")
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "applied")
	g.Expect(w.c.Status().Patch(w.ctx, p, client.MergeFrom(before))).To(Succeed())

	// The project reconciler's cache still shows the project as created.
	r := &controllers.SharedProjectReconciler{Client: w.laggingClient(func(p *sharev1.SharedProject) { *p = *stale.DeepCopy() })}
	_, _ = r.Reconcile(w.ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)})

	got := w.project(g, linkName, "9201")
	g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, sharev1.ConditionApplied)).To(BeTrue(), "%v", got.Status.Conditions)
	g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "%v", got.Status.Conditions)
}
