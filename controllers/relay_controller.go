package controllers

// The relay: the crew's items (photos, surveys, check-ins) go from the vendor
// account back to the provider's copy of their project.
//
// The RelayReconciler reconciles ShareLinks on its own, beside the import,
// and writes only status.relay and status.lastHandledRetryAt of a link, and
// status.relay and the check-in count of its SharedProjects; conditions stay
// with the import reconciler, which derives Relayed from status.relay.
//
// How an item travels: the vendor account's item feed lists the items QA let
// go, in release order, after an opaque cursor. One reconcile reads one page
// after status.relay.cursor (an idle pass costs one call), and for each item
// opens its content as a stream, uploads it to the provider with the link's
// login (the provider deduplicates on uuid), and reports the result to the
// vendor account (published, or failed with the reason).
//
// Once each, crash-safe: the cursor moves past a page only when every item of
// the page is settled (reported published or failed, or held for a suspended
// project and recorded on it), and it moves in the same status write as the
// link's totals. After a crash the page is read again; the items the feed
// already shows as published or failed are settled without being sent again,
// so only the items that were in flight travel twice, and the provider keeps
// one copy of each.
//
// Suspended projects: their items are held (left "pending qa" in the vendor
// account) and counted in the project's status.relay.pending, written before
// the cursor passes them. When such a project is no longer suspended, a
// rescan relays them (below).
//
// Retry: a new value of the share.pruvan.io/retry-requested-at annotation on
// the link retries every failed item of the link; on a SharedProject, the
// failed items of that project. Retries, and the catch-up of held items, run
// as a rescan: the feed is read again from its beginning, one page per
// reconcile, with the position kept in memory; failed items of the targets
// and held items of projects no longer suspended are relayed again, and
// every item is tallied by the status it ends with. At the end of the feed
// the tallies replace the counts (so a rescan also repairs counts a crash
// left behind), the cursor moves to the end, and lastHandledRetryAt records
// the values handled. A crash during a rescan loses only its memory: the
// request is still unhandled, so the next rescan starts over, and the items
// relayed meanwhile show as published.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// DefaultRelayInterval is how often a link's item feed is read when nothing
// else wakes the relay.
const DefaultRelayInterval = 30 * time.Second

// Backoff of a link whose relay fails for a transient reason: short at first,
// and never so long that a relay stays parked for long after the accounts
// recover.
const (
	relayBackoffBase = 250 * time.Millisecond
	relayBackoffMax  = time.Minute
)

// RelayReconciler relays the items of a link's projects from the vendor
// account to the provider account.
type RelayReconciler struct {
	client.Client
	// APIReader reads links (their cursor must be current, never a cached
	// copy older than our own last write), projects about to be written, and
	// Secrets.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// Accounts is shared with the import, so that one gate protects each
	// account whatever the number of callers.
	Accounts *Accounts
	Clock    clock.Clock
	// CallTimeout bounds each JSON call (the feed, a report); transfers are
	// bounded by the protocol client's transfer and idle timeouts.
	CallTimeout time.Duration
	// Interval is the period of an idle link's feed read, with jitter.
	Interval time.Duration

	mu    sync.Mutex
	links map[types.UID]*relayMemory
}

// relayMemory is what the relay of a link keeps between reconciles without
// writing it: losing it in a crash costs only work done again.
type relayMemory struct {
	// failing says the last pass stopped on a transient failure, so that
	// the recovery gets an event.
	failing bool
	// rescan is the rescan under way, if any.
	rescan *rescan
	key    types.NamespacedName
}

func (r *RelayReconciler) memory(link *sharev1.ShareLink) *relayMemory {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links == nil {
		r.links = map[types.UID]*relayMemory{}
	}
	m, ok := r.links[link.UID]
	if !ok {
		m = &relayMemory{key: client.ObjectKeyFromObject(link)}
		r.links[link.UID] = m
	}
	return m
}

// forget drops what we keep of a deleted link.
func (r *RelayReconciler) forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid, m := range r.links {
		if m.key == key {
			delete(r.links, uid)
		}
	}
	forgetRelayMetrics(key.Namespace, key.Name)
}

// Reconcile relays one page of the link's item feed.
func (r *RelayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	link := &sharev1.ShareLink{}
	if err := r.APIReader.Get(ctx, req.NamespacedName, link); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !link.DeletionTimestamp.IsZero() {
		r.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	if !relayActive(link) {
		// A change of the link (resume, Ready again) wakes us; a rescan
		// under way starts over then, from the feed's beginning.
		r.memory(link).rescan = nil
		return ctrl.Result{}, nil
	}
	return r.reconcileRelay(ctx, link)
}

// relayActive: the relay works only for a Ready link that is not suspended
// and has relay on. The import owns Ready: it says the logins work.
func relayActive(link *sharev1.ShareLink) bool {
	return !link.Spec.Suspend && link.Spec.RelayEnabled() && link.IsReady()
}

// SetupWithManager registers the relay controller. It wakes on a link's
// creation, spec change, retry request and Ready transition, and on a
// project's spec change (suspend) or retry request; otherwise it polls the
// feed every Interval.
func (r *RelayReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Interval <= 0 {
		r.Interval = DefaultRelayInterval
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sharev1.ShareLink{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, retryRequested{}, readyChanged{}))).
		Watches(&sharev1.SharedProject{}, handler.EnqueueRequestsFromMapFunc(linkOfProject),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, retryRequested{}))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: concurrency,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				relayBackoffBase, relayBackoffMax),
		}).
		Named("relay").
		Complete(r)
}

func linkOfProject(_ context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*sharev1.SharedProject)
	if !ok || p.Spec.LinkName == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Spec.LinkName}}}
}

// retryRequested passes updates that change the retry-requested-at
// annotation.
type retryRequested struct{ predicate.Funcs }

func (retryRequested) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	return e.ObjectOld.GetAnnotations()[sharev1.AnnotationRetryRequestedAt] !=
		e.ObjectNew.GetAnnotations()[sharev1.AnnotationRetryRequestedAt]
}

// readyChanged passes link updates whose readiness for the relay changed.
type readyChanged struct{ predicate.Funcs }

func (readyChanged) Update(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*sharev1.ShareLink)
	n, ok2 := e.ObjectNew.(*sharev1.ShareLink)
	return ok1 && ok2 && o.IsReady() != n.IsReady()
}

// RelayOutcomeChanged passes link updates whose count of failed relays
// changed, so that the import reconciler, which owns the conditions, derives
// Relayed again.
func RelayOutcomeChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*sharev1.ShareLink)
			n, ok2 := e.ObjectNew.(*sharev1.ShareLink)
			return ok1 && ok2 && o.Status.Relay.Failed != n.Status.Relay.Failed
		},
	}
}

// emitRelayTransition records an event when the link's relay starts or
// stops failing, never per item. Reasons equal condition reasons.
func (r *RelayReconciler) emitRelayTransition(link *sharev1.ShareLink, mem *relayMemory, before, after sharev1.LinkRelayStatus, passErr error) {
	if errors.Is(passErr, context.Canceled) {
		return // the operator is stopping: nothing to tell
	}
	switch {
	case passErr != nil && !mem.failing:
		mem.failing = true
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, sharev1.ReasonRelayFailed, "Relay",
			"relay interrupted, retrying: %s", passErr.Error())
	case passErr == nil && mem.failing:
		mem.failing = false
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonRecovered, "Relay", "relay resumed")
	}
	switch {
	case before.Failed == 0 && after.Failed > 0:
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, sharev1.ReasonRelayFailed, "Relay",
			"%d items failed to relay; annotate %s to retry", after.Failed, sharev1.AnnotationRetryRequestedAt)
	case before.Failed > 0 && after.Failed == 0:
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonRecovered, "Relay", "every item relayed")
	}
}

func relayFailedMessage(n int64) string {
	return fmt.Sprintf("%d items failed to relay; annotate %s to retry", n, sharev1.AnnotationRetryRequestedAt)
}
