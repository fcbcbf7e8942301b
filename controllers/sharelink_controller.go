package controllers

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// FieldManager is the server-side apply field manager of the operator: people
// who set a SharedProject's overrides keep theirs.
const FieldManager = "share-operator"

// indexSecretNames indexes ShareLinks by the Secrets they reference, so a
// changed Secret wakes exactly the links that use it.
const indexSecretNames = ".spec.secretNames"

// ShareLinkReconciler imports a link's projects from the provider account and
// applies them to the vendor account.
type ShareLinkReconciler struct {
	client.Client
	// APIReader reads Secrets by name, bypassing the cache.
	APIReader client.Reader
	Recorder  events.EventRecorder
	Accounts  *Accounts
	Clock     clock.Clock
	// Overlap is subtracted from the watermark of an incremental pull, so
	// that clock skew between us and the provider loses nothing.
	Overlap time.Duration
	// CallTimeout bounds each account call.
	CallTimeout time.Duration
	// ReadyHold is how long a flapping link's Ready stays False after it
	// is well again (DefaultReadyHold).
	ReadyHold time.Duration
	// PushKeys is true when the push-key listener is on: the link then
	// needs a bookmark key.
	PushKeys bool
	// PushKeyBaseURL is the listener's external URL, for bookmarks.
	PushKeyBaseURL string
	// SecretMeta reads Secrets' metadata from the cache (the watch below),
	// to tell whether the credentials last read still hold.
	SecretMeta client.Reader
	// Projects is the cache's store of SharedProjects, to list a link's
	// without copying them (projectStore); nil lists through Client.
	Projects projectIndex

	memories linkMemories[linkMemory]
	reads    linkReads
}

// Reconcile runs the link's steps in order and writes its status once.
func (r *ShareLinkReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	link := &sharev1.ShareLink{}
	// The link is read as fresh as the API server holds it: the reconcile
	// that follows our own status write (a project's event wakes the link
	// at once) must not see the old status in the cache and run again a
	// refresh or full import it has already handled (readLinkFresh).
	if err := readLinkFresh(ctx, r.Client, r.APIReader, req.NamespacedName, link, r.reads.versionOf); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !link.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, link)
	}
	if !controllerutil.ContainsFinalizer(link, sharev1.Finalizer) {
		// Go on in the same run: adding a finalizer changes no generation,
		// so no new event would bring the link back.
		patch := client.MergeFrom(link.DeepCopy())
		controllerutil.AddFinalizer(link, sharev1.Finalizer)
		if err := r.Patch(ctx, link, patch); err != nil {
			return ctrl.Result{}, err
		}
	}

	before := link.DeepCopy()
	// base is the status the API server holds: a step that writes status
	// early (markRunning) moves it on, so that the final patch carries
	// every difference from what was written.
	base := before.DeepCopy()
	defer func() {
		now, mem := r.Clock.Now(), r.memory(link)
		summarizeLink(link, retErr, now)
		held := holdNotReady(link, mem, now, cmp.Or(r.ReadyHold, DefaultReadyHold))
		if retErr == nil {
			// Look again when the relay's backlog would turn Relayed
			// False, and when a held Ready may turn True.
			res = lookAgainIn(res, relayBacklogDue(link.Status.Relay, now))
			res = lookAgainIn(res, held)
		}
		link.Status.RecentFailures = pruneFailures(link.Status.RecentFailures, r.Clock.Now(), sharev1.FailureRetention, sharev1.MaxLinkFailures)
		link.Status.UnknownAssignees = pruneUnknownAssignees(link, r.Clock.Now())
		recordLinkStatus(link, r.memory(link).lastRefresh)
		if _, err := patchStatus(ctx, r.Client, base, link); err != nil && retErr == nil {
			res, retErr = ctrl.Result{}, err
		}
		r.reads.of(link.UID).version = link.ResourceVersion // as written, or as read
		r.emitLinkTransition(before, link, mem, now)
	}()

	if link.Spec.Suspend {
		markSuspended(link, "the link is suspended: no calls to either account")
		return ctrl.Result{}, nil
	}
	return r.reconcileSteps(ctx, link, base)
}

// reconcileDelete removes the link's SharedProjects (the vendor's projects
// stay: they are the vendor's records) and then the finalizer.
func (r *ShareLinkReconciler) reconcileDelete(ctx context.Context, link *sharev1.ShareLink) error {
	if err := r.DeleteAllOf(ctx, &sharev1.SharedProject{},
		client.InNamespace(link.Namespace),
		client.MatchingLabels{sharev1.LabelLink: link.Name}); err != nil {
		return fmt.Errorf("deleting the link's SharedProjects: %w", err)
	}
	r.forget(link)
	r.reads.forget(link.UID)
	forgetLinkMetrics(link.Namespace, link.Name)
	if !controllerutil.ContainsFinalizer(link, sharev1.Finalizer) {
		return nil
	}
	patch := client.MergeFrom(link.DeepCopy())
	controllerutil.RemoveFinalizer(link, sharev1.Finalizer)
	return client.IgnoreNotFound(r.Patch(ctx, link, patch))
}

// lookAgainIn makes res come back within d, when d is positive.
func lookAgainIn(res ctrl.Result, d time.Duration) ctrl.Result {
	if d > 0 && (res.RequeueAfter == 0 || d < res.RequeueAfter) {
		res.RequeueAfter = d
	}
	return res
}

// DefaultReadyHold is how long a flapping link's Ready stays False after the
// link was last found failing, though it is well again: a link whose
// account fails every other call would otherwise flip Ready, and write
// status and two events, with each call. A link flaps when it fails again
// within linkEventRepeatWindow of a recovery; a first recovery is told at
// once.
const DefaultReadyHold = 30 * time.Second

// linkEventRepeatWindow is how long a link's failure or recovery event of
// one reason is not told again, and how soon after a recovery a failure
// makes the link flapping.
const linkEventRepeatWindow = 10 * time.Minute

// holdNotReady keeps a flapping link's Ready False, with the reason and
// message of the failure, until hold has passed since the link was
// last found failing, and returns how long the hold lasts (zero when
// none). A suspension is never held back.
func holdNotReady(link *sharev1.ShareLink, mem *linkMemory, now time.Time, hold time.Duration) time.Duration {
	ready := readyCondition(link.Status.Conditions)
	switch {
	case ready == nil:
		return 0
	case ready.Status == metav1.ConditionFalse:
		mem.notReadyAt, mem.notReadyReason, mem.notReadyMessage = now, ready.Reason, ready.Message
		return 0
	case ready.Status != metav1.ConditionTrue || ready.Reason == sharev1.ReasonSuspended || !mem.notReadyAt.After(mem.recoveredAt):
		// Not a recovery.
		return 0
	}
	flapping := !mem.recoveredAt.IsZero() && mem.notReadyAt.Sub(mem.recoveredAt) < linkEventRepeatWindow
	left := mem.notReadyAt.Add(hold).Sub(now)
	if !flapping || left <= 0 {
		mem.recoveredAt = now
		return 0
	}
	sharev1.SetCondition(link, sharev1.ConditionReady, metav1.ConditionFalse, mem.notReadyReason, mem.notReadyMessage)
	return left
}

// emitLinkTransition records an event when Ready changes, never on every
// resync, and a failure's or a recovery's reason at most once per
// linkEventRepeatWindow. Event
// reasons equal condition reasons.
func (r *ShareLinkReconciler) emitLinkTransition(before, after *sharev1.ShareLink, mem *linkMemory, at time.Time) {
	was := readyCondition(before.Status.Conditions)
	now := readyCondition(after.Status.Conditions)
	if now == nil || (was != nil && was.Status == now.Status && was.Reason == now.Reason) {
		return
	}
	typ, reason := corev1.EventTypeNormal, now.Reason
	if now.Status != metav1.ConditionTrue {
		typ = corev1.EventTypeWarning
	} else if was != nil && was.Status == metav1.ConditionFalse && now.Reason != sharev1.ReasonSuspended {
		reason = sharev1.ReasonRecovered
	}
	if typ == corev1.EventTypeWarning || reason == sharev1.ReasonRecovered {
		// A failure and its recovery are told once per window: a link
		// that flaps does not flood its events.
		if last, ok := mem.events[reason]; ok && at.Sub(last) < linkEventRepeatWindow {
			return
		}
		if mem.events == nil {
			mem.events = map[string]time.Time{}
		}
		mem.events[reason] = at
	}
	r.Recorder.Eventf(after, nil, typ, reason, "Reconcile", "%s", now.Message)
}

// SetupWithManager registers the reconciler and its watches.
func (r *ShareLinkReconciler) SetupWithManager(mgr ctrl.Manager, concurrency int) error {
	if r.SecretMeta == nil {
		r.SecretMeta = mgr.GetCache() // the metadata-only informer of the Secrets watch
	}
	if err := indexLinkIntegrations(mgr); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&sharev1.ShareLink{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
			// The relay's counts: Relayed is derived here.
			RelayOutcomeChanged(r.Clock)))).
		// A project a person changed (an override, suspend) is applied by its
		// link, which batches pushes.
		Owns(&sharev1.SharedProject{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// Only the metadata of Secrets is watched: no Secret data in memory.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(linksOfSecret(r.Client)), builder.OnlyMetadata).
		// The other links of an integration look again when one comes,
		// changes or goes: the newer of two waits for the older.
		Watches(&sharev1.ShareLink{}, handler.EnqueueRequestsFromMapFunc(linksOfIntegration(r.Client))).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Named("sharelink").
		Complete(timersOnTime(r))
}

// indexLinkSecrets indexes ShareLinks by the Secrets they name; the link
// and push-key controllers both map Secret events through it.
func indexLinkSecrets(mgr ctrl.Manager) error {
	return mgr.GetFieldIndexer().IndexField(context.Background(), &sharev1.ShareLink{}, indexSecretNames,
		func(o client.Object) []string { return referencedSecrets(o.(*sharev1.ShareLink)) })
}

func referencedSecrets(l *sharev1.ShareLink) []string {
	return []string{l.Spec.Provider.SecretRef.Name, l.Spec.Account.SecretRef.Name, l.PushKeySecretName()}
}

// linksOfSecret maps a Secret to the links that name it.
func linksOfSecret(c client.Reader) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var links sharev1.ShareLinkList
		if err := c.List(ctx, &links, client.InNamespace(o.GetNamespace()),
			client.MatchingFields{indexSecretNames: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing the links of a Secret", "secret", klog.KObj(o))
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(links.Items))
		for i := range links.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&links.Items[i])})
		}
		return reqs
	}
}
