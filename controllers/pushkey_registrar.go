package controllers

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/pushkey"
)

// PushKeyRegistrar keeps this process's push-key registry in step with the
// links' keys. It runs on every replica, leader or not: the push-key Service
// sends a tap to any pod, and checking a key and asking for a refresh need
// no leadership. It only reads; the leader's ShareLink reconciler makes the
// Secrets the operator owns, and their creation wakes this registrar.
type PushKeyRegistrar struct {
	// Client reads links from the cache.
	client.Client
	// APIReader reads Secrets by name: the operator keeps no cache of
	// Secret data.
	APIReader client.Reader
	Registry  *pushkey.Registry
}

// Reconcile registers the link's key, or forgets the link when it is gone,
// going, or has no usable key of its own (the link's status says why).
func (r *PushKeyRegistrar) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var link sharev1.ShareLink
	if err := r.Get(ctx, req.NamespacedName, &link); err != nil {
		if apierrors.IsNotFound(err) {
			r.Registry.Forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !link.DeletionTimestamp.IsZero() {
		r.Registry.Forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	key, err := readPushKey(ctx, r.APIReader, &link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		r.Registry.Forget(req.NamespacedName)
		ctrl.LoggerFrom(ctx).V(1).Info("no bookmark key registered", "reason", se.reason, "message", se.msg)
		return ctrl.Result{}, nil
	case err != nil:
		return ctrl.Result{}, err
	}
	r.Registry.Set(req.NamespacedName, key)
	return ctrl.Result{}, nil
}

// SetupWithManager registers the registrar as a controller that runs
// without leadership.
func (r *PushKeyRegistrar) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&sharev1.ShareLink{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(linksOfSecret(r.Client)), builder.OnlyMetadata).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Named("pushkey").
		Complete(timersOnTime(r))
}
