package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// SharedProjectReconciler keeps a project's own status: suspension and a
// missing link. Pushes to the vendor account are batched by the project's
// link, which watches its projects.
type SharedProjectReconciler struct {
	client.Client
	Clock clock.PassiveClock
}

// Reconcile settles the project's status conditions.
func (r *SharedProjectReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &sharev1.SharedProject{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := p.DeepCopy()
	// The link is only read, and a large import reconciles each project two
	// or three times while it runs: the cache's own copy, not a deep copy
	// of the link's status each time.
	link := &sharev1.ShareLink{}
	err := r.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: p.Spec.LinkName}, link, client.UnsafeDisableDeepCopy)
	switch {
	case client.IgnoreNotFound(err) != nil:
		return ctrl.Result{}, err
	case err != nil:
		sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonLinkNotFound,
			"ShareLink "+p.Spec.LinkName+" does not exist")
	case p.Spec.Suspend:
		markSuspended(p, "the project is suspended: no calls for it")
		p.Status.ObservedGeneration = p.Generation
	case p.Generation != p.Status.ObservedGeneration && readyCondition(p.Status.Conditions) == nil:
		if wait := r.applyGraceLeft(p, link); wait > 0 {
			// The link applies new projects moments after it creates them;
			// saying so first would double each project's status writes.
			return ctrl.Result{RequeueAfter: wait}, nil
		}
		sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionUnknown, sharev1.ReasonProgressing,
			"waiting for the link to apply the project")
	}
	if equalStatus(before.Status, p.Status) {
		return ctrl.Result{}, nil
	}
	// The copy may come from a cache that has not yet seen the link's last
	// status write; without the lock this patch would put back the old
	// conditions over the link's Applied and Ready.
	err = r.Status().Patch(ctx, p, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	return ctrl.Result{}, client.IgnoreNotFound(err)
}

// applyGrace is how long a new project may go without a word from its link
// before it says it is waiting; an import in progress extends it.
const applyGrace = 15 * time.Second

func (r *SharedProjectReconciler) applyGraceLeft(p *sharev1.SharedProject, link *sharev1.ShareLink) time.Duration {
	if link.Status.IntegrationState == sharev1.IntegrationRunning {
		return applyGrace
	}
	return min(applyGrace, applyGrace-r.now().Sub(p.CreationTimestamp.Time))
}

func (r *SharedProjectReconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

// SetupWithManager registers the reconciler.
func (r *SharedProjectReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sharev1.SharedProject{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("sharedproject").
		Complete(timersOnTime(r))
}
