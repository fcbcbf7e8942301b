package controllers

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// linkRun is one reconcile of a link: what the steps share.
type linkRun struct {
	link *sharev1.ShareLink
	// base is the link as the API server holds it, the base of status
	// patches.
	base     *sharev1.ShareLink
	creds    linkCredentials
	provider *Account
	vendor   *Account
	mem      *linkMemory
	now      time.Time
	// identity is the link's identity in canonical form, once
	// reconcileIdentity has checked it.
	identity sharev1.LinkIdentity
}

// reconcileSteps runs the named steps in order; each stops the run when it
// cannot go on.
func (r *ShareLinkReconciler) reconcileSteps(ctx context.Context, link, base *sharev1.ShareLink) (ctrl.Result, error) {
	defer withoutOversizedRequests(ctx, link)()
	run := &linkRun{link: link, base: base, mem: r.memory(link), now: r.Clock.Now()}
	if ok, err := r.reconcileIdentity(ctx, run); !ok {
		return ctrl.Result{}, err
	}
	if ok, err := r.reconcilePushKey(ctx, link); !ok {
		return ctrl.Result{}, err
	}
	if ok, err := r.reconcileCredentials(ctx, run); !ok {
		return ctrl.Result{}, err
	}
	if res, err, done := r.reconcileConnection(ctx, run); done {
		return res, err
	}
	return r.reconcileImport(ctx, run)
}

// reconcileCredentials reads the link's Secrets and the accounts' clients.
// Sets Stalled (SecretNotFound, InvalidSecret) when a Secret needs a person;
// the Secret watch wakes the link when it is fixed. It reports whether the
// run can go on.
func (r *ShareLinkReconciler) reconcileCredentials(ctx context.Context, run *linkRun) (bool, error) {
	creds, err := readCredentials(ctx, r.APIReader, run.link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		stall(run.link, se.reason, se.msg)
		return false, nil
	case err != nil:
		return false, err
	}
	run.creds = creds
	for _, a := range []struct {
		field string
		url   string
		dst   **Account
	}{{"provider.url", run.link.Spec.Provider.URL, &run.provider}, {"account.url", run.link.Spec.Account.URL, &run.vendor}} {
		acc, accErr := r.Accounts.Get(a.url)
		if accErr != nil {
			stall(run.link, sharev1.ReasonRefused, a.field+": "+accErr.Error())
			return false, nil //nolint:nilerr // a URL the client refuses needs a person: stall, do not retry
		}
		*a.dst = acc
	}
	run.vendor = withClientCodeCheck(run.vendor, &run.link.Spec)
	unstall(run.link)
	return true, nil
}

// reconcileConnection validates both logins, once per set of credentials and
// identity: the provider's with validate, the push key by reading the item
// feed, whose projects (when it has any) must carry the link's client code.
// Sets ProviderReady and AccountReady; Stalled (ClientCodeMismatch) when the
// vendor account said, here or in a push, that the push key opens an
// integration with another code, until the credentials change.
func (r *ShareLinkReconciler) reconcileConnection(ctx context.Context, run *linkRun) (ctrl.Result, error, bool) {
	fp := run.creds.fingerprint(run.identity)
	if run.mem.mismatch == fp {
		setAccountMismatch(run.link, run.mem.mismatchMsg)
		return ctrl.Result{}, nil, true
	}
	if run.mem.validated == fp &&
		sharev1.IsConditionTrue(run.link, sharev1.ConditionProviderReady) &&
		sharev1.IsConditionTrue(run.link, sharev1.ConditionAccountReady) {
		return ctrl.Result{}, nil, false
	}
	err := run.provider.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		return run.provider.Validate(ctx, run.creds.Provider, "")
	})
	if err != nil {
		res, err := r.fail(run, sharev1.ConditionProviderReady, "provider account", err)
		return res, err, true
	}
	sharev1.SetCondition(run.link, sharev1.ConditionProviderReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider account accepts the login")
	err = run.vendor.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		feed, err := run.vendor.ListItems(ctx, run.creds.PushKey, run.link.Status.Relay.Cursor, 1)
		if err != nil {
			return err
		}
		return checkFeedCode(feed, run.link.Spec.ClientCode)
	})
	if err != nil {
		res, err := r.fail(run, sharev1.ConditionAccountReady, "vendor account", err)
		return res, err, true
	}
	sharev1.SetCondition(run.link, sharev1.ConditionAccountReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the vendor account accepts the push key")
	run.mem.validated = fp
	return ctrl.Result{}, nil, false
}

// fail records a failed call on a condition and says how to go on, in the
// three ways of Flux: stall (needs a person), wait (Retry-After), or return
// the error so the rate limiter backs off.
func (r *ShareLinkReconciler) fail(run *linkRun, condType, what string, err error) (ctrl.Result, error) {
	link := run.link
	if stallOnMismatch(run, err) {
		link.Status.RecentFailures = pushFailure(link.Status.RecentFailures, sharev1.Failure{
			Time: metav1.NewTime(run.now), Reason: sharev1.ReasonClientCodeMismatch, Message: link.Status.LastError,
		})
		return ctrl.Result{}, nil
	}
	msg := what + ": " + err.Error()
	link.Status.LastError = msg
	link.Status.IntegrationState = sharev1.IntegrationError
	kind := protocol.KindOf(err)
	reconcileErrors.WithLabelValues(string(kind)).Inc()
	reason := reasonOf(kind)
	sharev1.SetCondition(link, condType, metav1.ConditionFalse, reason, msg)
	link.Status.RecentFailures = pushFailure(link.Status.RecentFailures, sharev1.Failure{
		Time: metav1.NewTime(run.now), Reason: reason, Message: msg,
	})
	switch kind {
	case protocol.KindInvalidCredentials, protocol.KindRefused:
		stall(link, reason, msg)
		return ctrl.Result{}, nil
	case protocol.KindThrottled:
		// Queued behind the account's Retry-After, as the service's
		// "pending".
		link.Status.IntegrationState = sharev1.IntegrationPending
		d, _ := protocol.RetryAfter(err)
		return ctrl.Result{RequeueAfter: max(d, time.Second)}, nil
	default:
		sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, reason, "retrying with backoff")
		return ctrl.Result{}, err
	}
}

func reasonOf(kind protocol.ErrorKind) string {
	switch kind {
	case protocol.KindInvalidCredentials:
		return sharev1.ReasonInvalidCredentials
	case protocol.KindRefused:
		return sharev1.ReasonRefused
	case protocol.KindThrottled:
		return sharev1.ReasonThrottled
	default:
		return sharev1.ReasonUnreachable
	}
}

func stall(obj sharev1.Conditioned, reason, msg string) {
	sharev1.SetCondition(obj, sharev1.ConditionStalled, metav1.ConditionTrue, reason, msg)
}

func unstall(obj sharev1.Conditioned) {
	sharev1.RemoveCondition(obj, sharev1.ConditionStalled)
}

// jitter spreads periodic work by up to a tenth of its period, so links
// created together do not poll together.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + rand.N(d/10+1)
}

// withoutOversizedRequests hides from this reconcile the requested-at
// annotations longer than sharev1.MaxRequestedAtLength: status records the
// value handled, and a 200 KB value would be copied there. Admission cannot
// refuse them (CEL on a custom resource cannot read annotations), so the
// request is ignored and the log says why. The returned function puts the
// annotations back, so that the status patch carries no change of metadata.
func withoutOversizedRequests(ctx context.Context, link *sharev1.ShareLink) (restore func()) {
	orig := link.Annotations
	var kept map[string]string
	for _, key := range []string{sharev1.AnnotationRefreshRequestedAt, sharev1.AnnotationFullImportRequestedAt, sharev1.AnnotationRetryRequestedAt} {
		v, ok := orig[key]
		if !ok || sharev1.RequestedAt(orig, key) == v {
			continue
		}
		if kept == nil {
			kept = maps.Clone(orig)
		}
		delete(kept, key)
		ctrl.LoggerFrom(ctx).Info("ignoring a request whose annotation is too long; set a timestamp",
			"annotation", key, "length", len(v), "max", sharev1.MaxRequestedAtLength)
	}
	if kept == nil {
		return func() {}
	}
	link.Annotations = kept
	return func() { link.Annotations = orig }
}
