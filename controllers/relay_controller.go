package controllers

// The relay: the crew's items (photos, surveys, check-ins) go from the vendor
// account back to the provider's copy of their project. docs/relay.md says
// what relays and when, why each item travels once, and how retries and
// suspended projects work. The RelayReconciler writes only status.relay and
// status.lastHandledRetryAt of a link and its SharedProjects (and their
// check-in counts); the import owns the conditions and derives Relayed.

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
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
	// Interval is the period of a link's feed read when nothing else wakes
	// the relay, with jitter.
	Interval time.Duration
	// IdleInterval caps the backoff of a link whose feed stays empty
	// (idleBackoff); DefaultRelayIdleInterval when zero.
	IdleInterval time.Duration
	// SecretMeta reads Secrets' metadata from the cache, to tell whether a
	// link's credentials changed since the relay read them; nil reads them
	// on every pass.
	SecretMeta client.Reader
	// Projects is the cache's store of SharedProjects, to list a link's
	// without copying them (projectStore); nil lists through Client.
	Projects projectIndex

	// startedAt is when the controller was set up: links older than it
	// spread their first passes (startupDelay).
	startedAt time.Time
	memories  linkMemories[relayMemory]
}

// relayMemory is what the relay of a link keeps between reconciles without
// writing it: losing it in a crash costs only work done again.
type relayMemory struct {
	// failing says the last pass stopped on a transient failure, so that
	// the recovery gets an event.
	failing bool
	// rescan is the rescan under way, if any.
	rescan *rescan
	// emptyPasses counts the passes in a row whose feed had no item, and
	// dueAt is when the next timed pass is due: see idleWait and wake.
	emptyPasses int
	dueAt       time.Time
	// started says the link had its first pass since the start.
	started bool
	// linkVersion is the link's resourceVersion as the relay last read or
	// wrote it from the API server (readLink).
	linkVersion string
	// creds are the link's credentials as last read, with the Secrets'
	// versions they were read at.
	creds cachedCredentials
}

func (r *RelayReconciler) memory(link *sharev1.ShareLink) *relayMemory {
	return r.memories.get(link.UID, client.ObjectKeyFromObject(link), func() *relayMemory { return &relayMemory{} })
}

// forget drops what we keep of a deleted link, and its metrics.
func (r *RelayReconciler) forget(uid types.UID, key types.NamespacedName) {
	r.memories.forget(uid, key)
	forgetRelayMetrics(key.Namespace, key.Name)
}

// Reconcile relays one page of the link's item feed.
func (r *RelayReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	link := &sharev1.ShareLink{}
	if err := r.readLink(ctx, req.NamespacedName, link); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget("", req.NamespacedName) // gone: only its name is known
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !link.DeletionTimestamp.IsZero() {
		r.forget(link.UID, req.NamespacedName)
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx).WithValues("link", klog.KObj(link))
	mem := r.memory(link)
	r.wake(mem)
	if !relayActive(link) {
		// A change of the link (resume, Ready again) wakes us; a rescan
		// under way starts over then, from the feed's beginning.
		log.V(1).Info("the link does not relay now", "suspended", link.Spec.Suspend,
			"relayEnabled", link.Spec.RelayEnabled(), "ready", link.IsReady())
		mem.rescan = nil
		// Only a link that relayed when the manager started has a pass to
		// spread: one turned on or resumed later goes at once.
		mem.started = true
		return ctrl.Result{}, nil
	}
	if d := r.startupDelay(link, mem); d > 0 {
		log.V(1).Info("first relay pass since the start, spread over the interval", "after", d)
		return ctrl.Result{RequeueAfter: d}, nil
	}
	return r.reconcileRelay(ctrl.LoggerInto(ctx, log), link)
}

// relayActive: the relay works only for a Ready link that is not suspended,
// not in Plan mode (which writes nothing to either account; the items wait
// in the vendor's feed) and has relay on. The import owns Ready: it says the logins work.
func relayActive(link *sharev1.ShareLink) bool {
	return !link.Spec.Suspend && link.Spec.RelayEnabled() && link.IsReady() && !link.Spec.Planning()
}

// SetupWithManager registers the relay controller. It wakes on a link's
// creation, spec change, retry or refresh request (a push-key tap is one)
// and Ready transition, and on a project's creation, spec change (suspend)
// or retry request; otherwise it polls the feed every Interval, less often
// while the feed stays empty.
func (r *RelayReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.Interval <= 0 {
		r.Interval = DefaultRelayInterval
	}
	if r.IdleInterval <= 0 {
		r.IdleInterval = DefaultRelayIdleInterval
	}
	if r.SecretMeta == nil {
		r.SecretMeta = mgr.GetCache() // the link controller's metadata-only informer
	}
	r.startedAt = r.Clock.Now()
	return ctrl.NewControllerManagedBy(mgr).
		For(&sharev1.ShareLink{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, retryRequested{}, readyChanged{},
			annotationChanged{Key: sharev1.AnnotationRefreshRequestedAt}))).
		Watches(&sharev1.SharedProject{}, handler.EnqueueRequestsFromMapFunc(relayingLinkOfProject(mgr.GetClient())),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, retryRequested{}))).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: concurrency,
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](
				relayBackoffBase, relayBackoffMax),
		}).
		Named("relay").
		Complete(timersOnTime(r))
}

// relayingLinkOfProject maps a project's event to its link, when the link
// relays now (relayActive, as the cache has it). A link's first import
// creates every project before the link is Ready: each creation woke the
// relay for a pass that found the link not relaying, some 1,000 reconciles
// during a 1,000-order import. A link that starts relaying later wakes the
// relay itself (readyChanged, a spec change); one the cache does not hold
// yet is woken, as before.
func relayingLinkOfProject(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		p, ok := o.(*sharev1.SharedProject)
		if !ok || p.Spec.LinkName == "" {
			return nil
		}
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Spec.LinkName}
		link := &sharev1.ShareLink{}
		if err := c.Get(ctx, key, link, client.UnsafeDisableDeepCopy); err == nil && !relayActive(link) {
			return nil
		}
		return []reconcile.Request{{NamespacedName: key}}
	}
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
