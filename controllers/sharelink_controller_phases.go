package controllers

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
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
	// applyPlan makes the import full: the link is back in Live mode and
	// applies what its plan showed (reconcileLiveImport).
	applyPlan bool
}

// stepResult is how a link's run goes on after a step: on to the next
// step, or stopped, with when to come back. A step that stops on a failure
// it recorded in status (a stall, a wait) says why, for the log.
type stepResult struct {
	ctrl.Result
	stop            bool
	reason, message string
}

// stopped ends the run after a failure the step recorded in status.
func stopped(reason, message string) stepResult {
	return stepResult{stop: true, reason: reason, message: message}
}

// stalledOn stalls the link and ends the run: only a person can fix what
// the step found.
func stalledOn(link *sharev1.ShareLink, reason, message string) stepResult {
	stall(link, reason, message)
	return stopped(reason, message)
}

// linkStep is one step of a link's run. What it finds goes into the link's
// status; an error is a transient failure, for the rate limiter.
type linkStep struct {
	name string
	run  func(ctx context.Context, run *linkRun) (stepResult, error)
}

// steps are a link's steps in order: nothing reads a Secret before the
// identity is checked, and nothing calls an account before its Secret is
// read.
func (r *ShareLinkReconciler) steps() []linkStep {
	return []linkStep{
		{"identity", r.reconcileIdentity},
		{"pushKey", r.reconcilePushKey},
		{"credentials", r.reconcileCredentials},
		{"connection", r.reconcileConnection},
		{"plan", r.reconcilePlan}, // in Plan mode, the last step
		{"import", r.reconcileLiveImport},
	}
}

// reconcileSteps runs the steps in order until one stops the run; the last
// step's result says when the link is next due.
func (r *ShareLinkReconciler) reconcileSteps(ctx context.Context, link, base *sharev1.ShareLink) (ctrl.Result, error) {
	defer withoutOversizedRequests(ctx, link)()
	log := ctrl.LoggerFrom(ctx).WithValues("link", klog.KObj(link))
	run := &linkRun{link: link, base: base, mem: r.memory(link), now: r.Clock.Now()}
	var res stepResult
	for _, step := range r.steps() {
		var err error
		res, err = step.run(ctx, run)
		logStep(log, step.name, res, err)
		if err != nil {
			return ctrl.Result{}, err
		}
		if res.stop {
			break
		}
	}
	return res.Result, nil
}

// logStep logs a step's outcome: a failure with its cause (errors and
// condition messages carry no credential), the rest at V(1).
func logStep(log logr.Logger, step string, res stepResult, err error) {
	switch {
	case err != nil:
		log.Info("link step failed, retrying with backoff", "step", step, "cause", err.Error())
	case res.stop && res.RequeueAfter > 0:
		log.V(1).Info("link step waits", "step", step, "reason", res.reason, "cause", res.message, "requeueAfter", res.RequeueAfter)
	case res.stop:
		log.Info("link step stopped the run", "step", step, "reason", res.reason, "cause", res.message)
	default:
		log.V(1).Info("link step done", "step", step, "requeueAfter", res.RequeueAfter)
	}
}

// reconcileCredentials reads the link's Secrets (again only when their
// resourceVersions moved) and the accounts' clients.
// Sets Stalled (SecretNotFound, InvalidSecret) when a Secret needs a person,
// and Stalled (Refused) when the client refuses an account URL; the Secret
// watch wakes the link when it is fixed. Removes an earlier Stalled.
func (r *ShareLinkReconciler) reconcileCredentials(ctx context.Context, run *linkRun) (stepResult, error) {
	creds, err := r.reads.of(run.link.UID).creds.read(ctx, r.SecretMeta, r.APIReader, run.link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		return stalledOn(run.link, se.reason, se.msg), nil
	case err != nil:
		return stepResult{}, err
	}
	run.creds = creds
	for _, a := range []struct {
		field string
		url   string
		dst   **Account
	}{{"provider.url", run.link.Spec.Provider.URL, &run.provider}, {"account.url", run.link.Spec.Account.URL, &run.vendor}} {
		acc, accErr := r.Accounts.Get(a.url)
		if accErr != nil {
			return stalledOn(run.link, sharev1.ReasonRefused, a.field+": "+accErr.Error()), nil //nolint:nilerr // a URL the client refuses needs a person: stall, do not retry
		}
		*a.dst = acc
	}
	run.vendor = withClientCodeCheck(run.vendor, &run.link.Spec)
	unstall(run.link)
	return stepResult{}, nil
}

// reconcileConnection validates both logins, once per set of credentials and
// identity: the provider's with validate, the push key by reading the item
// feed, whose projects (when it has any) must carry the link's client code.
// Sets ProviderReady and AccountReady (and, on a failure, what failCall
// sets); Stalled (ClientCodeMismatch) when the vendor account said, here or
// in a push, that the push key opens an integration with another code,
// until the credentials change.
func (r *ShareLinkReconciler) reconcileConnection(ctx context.Context, run *linkRun) (stepResult, error) {
	fp := run.creds.fingerprint(run.identity)
	if run.mem.mismatch == fp {
		setClientCodeMismatch(run.link, run.mem.mismatchMsg)
		return stopped(sharev1.ReasonClientCodeMismatch, run.mem.mismatchMsg), nil
	}
	if (run.mem.validated == fp || validationWaits(run.link, run.mem, fp, run.now)) &&
		sharev1.IsConditionTrue(run.link, sharev1.ConditionProviderReady) &&
		sharev1.IsConditionTrue(run.link, sharev1.ConditionAccountReady) {
		return stepResult{}, nil
	}
	ctrl.LoggerFrom(ctx).V(1).Info("checking the logins", "restored", run.mem.restored(),
		"credentialsChanged", run.mem.validated != "" && run.mem.validated != fp,
		"providerReady", sharev1.IsConditionTrue(run.link, sharev1.ConditionProviderReady),
		"accountReady", sharev1.IsConditionTrue(run.link, sharev1.ConditionAccountReady))
	err := run.provider.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		return run.provider.Validate(ctx, run.creds.Provider, "")
	})
	if err != nil {
		return r.failCall(run, sharev1.ConditionProviderReady, "provider account", err)
	}
	setProviderReady(run.link)
	err = run.vendor.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		feed, err := run.vendor.ListItems(ctx, run.creds.PushKey, run.link.Status.Relay.Cursor, 1)
		if err != nil {
			return err
		}
		return checkFeedCode(feed, run.link.Spec.ClientCode)
	})
	if err != nil {
		return r.failCall(run, sharev1.ConditionAccountReady, "vendor account", err)
	}
	setAccountReady(run.link)
	run.mem.validated = fp
	return stepResult{}, nil
}

// failCall records a failed account call on the concern condType
// (setCallFailed) and says how the run goes on, in the three ways of Flux:
// stall (needs a person), wait (Retry-After), or return the error so the
// rate limiter backs off.
func (r *ShareLinkReconciler) failCall(run *linkRun, condType, what string, err error) (stepResult, error) {
	link := run.link
	if stallOnMismatch(run, err) {
		link.Status.RecentFailures = pushFailure(link.Status.RecentFailures, sharev1.Failure{
			Time: metav1.NewTime(run.now), Reason: sharev1.ReasonClientCodeMismatch, Message: link.Status.LastError,
		})
		return stopped(sharev1.ReasonClientCodeMismatch, link.Status.LastError), nil
	}
	f := callFailureOf(what, err)
	reconcileErrors.WithLabelValues(string(f.kind)).Inc()
	setCallFailed(link, condType, f, run.now)
	switch {
	case f.stalls():
		return stopped(f.reason, f.message), nil
	case f.kind == protocol.KindThrottled:
		// Queued behind the account's Retry-After.
		d, _ := protocol.RetryAfter(err)
		res := stopped(f.reason, f.message)
		res.RequeueAfter = max(d, time.Second)
		return res, nil
	default:
		return stepResult{}, err
	}
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
	for _, key := range []string{sharev1.AnnotationRefreshRequestedAt, sharev1.AnnotationFullImportRequestedAt, sharev1.AnnotationRetryRequestedAt, sharev1.AnnotationPlanRequestedAt} {
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
