package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// relayRun is one reconcile of a link's relay: what the steps share.
type relayRun struct {
	link *sharev1.ShareLink
	// before is the link as last written, the base of the next status
	// patch; read is its relay status as read, for the events.
	before  *sharev1.ShareLink
	read    sharev1.LinkRelayStatus
	mem     *relayMemory
	relayer *relayer
	// projects are the link's SharedProjects by work-order number, as the
	// cache has them, and as this run wrote them.
	projects map[string]*sharev1.SharedProject
	now      time.Time
}

// reconcileRelay runs one pass, in these steps: newRelayRun (what the pass
// needs), planRescan (starts a rescan when one is asked for), then a page of
// the feed after the cursor (mainPage) or a page of the rescan (rescanPage);
// then writes the link's relay status when it changed. It writes no
// condition: the import derives Relayed from status.relay. ctx's logger
// names the link.
func (r *RelayReconciler) reconcileRelay(ctx context.Context, link *sharev1.ShareLink) (ctrl.Result, error) {
	run, err := r.newRelayRun(ctx, link)
	if run == nil || err != nil {
		return ctrl.Result{}, err
	}
	if err := r.planRescan(ctx, run); err != nil {
		return ctrl.Result{}, err
	}
	var pass passResult
	if run.mem.rescan != nil {
		pass, err = r.rescanPage(ctx, run)
	} else {
		pass, err = r.mainPage(ctx, run)
	}
	passErr := pass.interrupted
	if perr := r.patchLinkRelay(ctx, run); perr != nil && err == nil {
		err = perr
	}
	r.emitRelayTransition(link, run.mem, run.read, link.Status.Relay, passErr)
	recordRelayPending(link)
	recordRelayBacklog(link, run.held())
	return passOutcome(ctx, pass, err)
}

// passOutcome turns how a pass ended into the reconcile's result: an
// account's Retry-After is waited out, any other failure backs off.
func passOutcome(ctx context.Context, pass passResult, err error) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	if err != nil {
		log.Info("relay pass failed, retrying with backoff", "cause", err.Error())
		return ctrl.Result{}, err
	}
	if pass.interrupted != nil {
		if d, ok := protocol.RetryAfter(pass.interrupted); ok {
			log.V(1).Info("relay waits for the account", "retryAfter", d, "cause", pass.interrupted.Error())
			return ctrl.Result{RequeueAfter: d}, nil
		}
		log.Info("relay interrupted, retrying with backoff", "cause", pass.interrupted.Error())
		return ctrl.Result{}, pass.interrupted
	}
	return pass.Result, nil
}

// passResult is how a pass ended: when to come back, and the account-side
// failure that interrupted it, if any (other errors are returned apart).
type passResult struct {
	ctrl.Result
	interrupted error
}

func interrupted(err error) passResult { return passResult{interrupted: err} }

func requeueAfter(d time.Duration) passResult {
	return passResult{Result: ctrl.Result{RequeueAfter: d}}
}

// newRelayRun reads the link's credentials, its accounts and its projects.
// It returns nil without an error when the link cannot relay until a person
// acts: the import says why in the link's conditions, and the fix wakes us.
func (r *RelayReconciler) newRelayRun(ctx context.Context, link *sharev1.ShareLink) (*relayRun, error) {
	log := ctrl.LoggerFrom(ctx)
	mem := r.memory(link)
	creds, err := mem.creds.read(ctx, r.SecretMeta, r.APIReader, link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		log.V(1).Info("relay waits for the link's Secrets", "cause", err.Error())
		return nil, nil
	case err != nil:
		return nil, err
	}
	vendor, err := r.Accounts.Get(link.Spec.Account.URL)
	if err != nil {
		log.V(1).Info("relay waits for a usable vendor account URL", "cause", err.Error())
		return nil, nil // an unusable URL stalls the link on the import side
	}
	provider, err := r.Accounts.Get(link.Spec.Provider.URL)
	if err != nil {
		log.V(1).Info("relay waits for a usable provider account URL", "cause", err.Error())
		return nil, nil // as above
	}
	projects, err := r.cachedProjects(ctx, link)
	if err != nil {
		return nil, err
	}
	return &relayRun{
		link:   link,
		before: link.DeepCopy(),
		read:   *link.Status.Relay.DeepCopy(),
		mem:    mem,
		relayer: &relayer{
			vendor: vendor, provider: provider,
			pushKey: creds.PushKey, creds: creds.Provider,
			concurrency: link.Spec.RelayConcurrency(),
			callTimeout: r.CallTimeout,
		},
		projects: projects,
		now:      r.Clock.Now(),
	}, nil
}

// cachedProjects are the link's SharedProjects by work-order number. They
// are the cache's own objects, not copies: the relay only reads them and
// writes fresh copies from the API server, and a copy of every project on
// every pass would be most of the relay's garbage.
func (r *RelayReconciler) cachedProjects(ctx context.Context, link *sharev1.ShareLink) (map[string]*sharev1.SharedProject, error) {
	items, err := projectsOfLink(ctx, r.Client, r.Projects, link)
	if err != nil {
		return nil, fmt.Errorf("listing the link's SharedProjects: %w", err)
	}
	projects := make(map[string]*sharev1.SharedProject, len(items))
	for _, p := range items {
		if p.Spec.LinkName == link.Name {
			projects[p.Spec.WorkOrderNumber] = p
		}
	}
	return projects, nil
}

// held counts the items held for suspended projects, as the projects record
// them.
func (run *relayRun) held() int64 {
	var n int64
	for _, p := range run.projects {
		n += int64(p.Status.Relay.Pending)
	}
	return n
}

// patchProjectRelay writes a project's relay status when it changed, with an
// event when its items start failing.
func (r *RelayReconciler) patchProjectRelay(ctx context.Context, before, after *sharev1.SharedProject) error {
	wrote, err := patchStatus(ctx, r.Client, before, after)
	if err != nil || !wrote {
		return err
	}
	if before.Status.Relay.Failed == 0 && after.Status.Relay.Failed > 0 {
		r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, sharev1.ReasonRelayFailed, "Relay", "%s",
			projectRelayFailedMessage(after.Status.Relay))
	}
	return nil
}

// patchLinkRelay writes the link's relay status when it changed; the link as
// written is the base of the next write.
func (r *RelayReconciler) patchLinkRelay(ctx context.Context, run *relayRun) error {
	wrote, err := patchStatus(ctx, r.Client, run.before, run.link)
	switch {
	case err != nil:
		run.mem.linkVersion = "" // unknown now: the next pass reads the API server
	case wrote:
		run.before = run.link.DeepCopy()
		run.mem.linkVersion = run.link.ResourceVersion
	}
	return err
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
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, sharev1.ReasonRelayFailed, "Relay", "%s", relayFailedMessage(after.Failed))
	case before.Failed > 0 && after.Failed == 0:
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonRecovered, "Relay", "every item relayed")
	}
}
