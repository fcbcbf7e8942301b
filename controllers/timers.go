package controllers

import (
	"context"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// timersOnTime wraps a reconciler so that a timer it sets (RequeueAfter)
// fires at normal priority. controller-runtime's priority queue keeps a
// request's priority when it requeues it, and a manager that starts with
// many objects gets each one's first request at low priority (the initial
// list): a timer set by a first reconcile would then wait, when due, behind
// every first reconcile still queued, and fire with every other timer that
// came due meanwhile. With 1,000 links that was some 150 account calls in
// one second, some ten seconds after a restart, for refreshes the start-up
// spread had placed across those seconds (make bench, many links).
func timersOnTime(r reconcile.Reconciler) reconcile.Reconciler {
	return reconcile.Func(func(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
		res, err := r.Reconcile(ctx, req)
		if err == nil && res.RequeueAfter > 0 && res.Priority == nil {
			res.Priority = ptr.To(0)
		}
		return res, err
	})
}
