package controllers

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// reconcileImport pulls the provider's orders when due, records them as
// SharedProjects, and applies what changed to the vendor account in batched
// pushes. Sets Imported, or on a failed call what failCall sets; while work
// a person asked for, or a full import, runs, the integration shows as
// running (Reconciling). On an idle refresh it writes nothing.
func (r *ShareLinkReconciler) reconcileImport(ctx context.Context, run *linkRun) (stepResult, error) {
	plan := planImport(run.link, run.mem, run.now)
	plan.pull, plan.full = plan.pull || run.applyPlan, plan.full || run.applyPlan // back from Plan mode: apply the plan
	projects, err := r.listProjects(ctx, run.link)
	if err != nil {
		return stepResult{}, err
	}
	if plan.full || plan.refreshAt != "" {
		// Work a person asked for, or a long one, shows as running; an idle
		// periodic refresh writes nothing.
		if err := r.markRunning(ctx, run); err != nil {
			return stepResult{}, err
		}
	}
	return r.runImport(ctx, &importRun{linkRun: run, byNumber: indexProjects(projects), plan: plan,
		counts: map[string]int{}, applied: map[string]bool{}})
}

// runImport pulls when the plan says so, applies what is due, and records
// the outcome; its result says when periodic work is next due.
func (r *ShareLinkReconciler) runImport(ctx context.Context, run *importRun) (stepResult, error) {
	defer run.endGCHold()
	if run.plan.pull {
		ctrl.LoggerFrom(ctx).V(1).Info("pulling", "full", run.plan.full, "requested", run.plan.refreshAt != "" || run.plan.fullImportAt != "",
			"restored", run.mem.restored(), "due", refreshDue(run.link, run.mem))
		if res, err := r.pull(ctx, run); res.stop || err != nil {
			return res, err
		}
	}
	if err := r.applyProjects(ctx, run); err != nil {
		return r.failCall(run.linkRun, sharev1.ConditionImported, "vendor account", err)
	}
	r.finishImport(run)
	return stepResult{Result: ctrl.Result{RequeueAfter: nextWake(run.link, run.mem, run.now)}}, nil
}

// importRun is the state of one import. Writes run in parallel: mu guards
// what they change (byNumber, changed, applied, counts, failures, the link's
// recent failures and the link's memory).
type importRun struct {
	*linkRun
	mu       sync.Mutex
	plan     importPlan
	byNumber map[string]*sharev1.SharedProject
	// changed counts the projects whose upstream order changed in this pull.
	changed int
	// seen are the order numbers the pull answered.
	seen map[string]bool
	// applied are the order numbers applied in this run, and appliedCounts
	// their projects' counts; byNumber lets go of them.
	applied       map[string]bool
	appliedCounts sharev1.ProjectCounts
	// adopted are the numbers the vendor account held before their first
	// push (adopt.go); vendorHeld those looked up before their first
	// record, with what the lookup found.
	adopted    map[string]bool
	vendorHeld map[string]bool
	watermark  int64
	counts     map[string]int // transitions, for the link's event
	failures   int
	// answered says the pull answered any order, accepted or refused.
	answered bool
	// refused sums up the orders refused in this run; refusedNumbers are
	// their numbers, and unnamedRefusal says one had none that could be
	// read, so that a full import cancels none of them for being missing.
	refused        refusalSummary
	refusedNumbers map[string]bool
	unnamedRefusal bool
	// pulled counts the orders of this pull recorded so far, and total the
	// projects the run expects to apply; progressAt is when the run last
	// wrote them to status.progress, and progressWork the writes it had
	// made then.
	pulled, total int
	progressAt    time.Time
	progressWork  int
	// releaseGC ends the run's hold on the GC's target (import_gc.go), nil
	// when it has none.
	releaseGC func()
}

func (run *importRun) endGCHold() {
	if run.releaseGC != nil {
		run.releaseGC()
	}
}

// pull calls getWorkOrders and records each changed order, applying each
// part of the pull as it is recorded.
func (r *ShareLinkReconciler) pull(ctx context.Context, run *importRun) (stepResult, error) {
	stash, err := r.stashWorkOrders(ctx, run)
	if err != nil {
		return r.failCall(run.linkRun, sharev1.ConditionImported, "provider account", err)
	}
	// A large pull lowers the GC's target until the run ends: the cache
	// fills with its projects while it makes garbage fast.
	run.releaseGC = ImportGC.hold(len(stash.orders))
	run.watermark = stash.serverTime
	if run.watermark <= 0 {
		run.watermark = run.now.Unix()
	}
	run.answered = len(stash.orders) > 0 || len(stash.refused) > 0
	// An answer that names a number twice counts its last order, as if the
	// orders were recorded in turn: the writes of a part run in parallel.
	// An order that cannot be stored safely is refused alone.
	latest, refusals := pulledNumbers(len(stash.orders), func(i int) string { return stash.orders[i].number },
		stash.refused, run.link.Spec.ClientCode)
	for _, rf := range refusals {
		run.refuse(rf)
	}
	run.seen = make(map[string]bool, len(latest))
	for number := range latest {
		run.seen[number] = true
	}
	run.total = len(latest)
	if err := r.recordParts(ctx, run, stash.parts(latest)); err != nil {
		if err, ok := isApplyError(err); ok {
			return r.failCall(run.linkRun, sharev1.ConditionImported, "vendor account", err)
		}
		return stepResult{}, err
	}
	if run.plan.full {
		if err := r.cancelMissing(ctx, run); err != nil {
			return stepResult{}, err
		}
	}
	return stepResult{}, nil
}

// cancelMissing treats an active project that a full answer lacks, with no
// tombstone, as Cancelled. A refused order is not missing: the provider
// still has it. When the answer refused an order whose number could not be
// read, any project may be that order, and none is cancelled.
func (r *ShareLinkReconciler) cancelMissing(ctx context.Context, run *importRun) error {
	if run.unnamedRefusal {
		ctrl.LoggerFrom(ctx).Info("not cancelling projects missing from the full import: it refused an order whose number could not be read")
		return nil
	}
	for number, p := range run.byNumber {
		if run.seen[number] || run.refusedNumbers[number] || p.Spec.Upstream == nil || !sharev1.IsActiveClientStatus(p.Spec.Upstream.ClientStatus) {
			continue
		}
		last, err := fullUpstream(ctx, r.APIReader, p)
		if err != nil {
			return err
		}
		up := tombstoned(last, number, sharev1.ClientStatusCancelled)
		digest, _ := upstreamDigest(&up)
		if _, err := r.writeUpstream(ctx, run, p, &up, digest); err != nil {
			return err
		}
	}
	return nil
}

// writeUpstream writes a project's upstream order when its digest differs
// from the project's, and returns the project as the run now knows it: as
// written, or existing when unchanged; nil when the API server refused the
// order.
func (r *ShareLinkReconciler) writeUpstream(ctx context.Context, run *importRun, existing *sharev1.SharedProject, up *sharev1.UpstreamOrder, digest string) (*sharev1.SharedProject, error) {
	if existing != nil && existing.Spec.Upstream != nil && digest != "" && projectDigest(existing) == digest {
		return existing, nil
	}
	p, err := r.applySpec(ctx, run.link, *up, run.vendorHeldValue(existing, up.WorkOrderNumber))
	if apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) {
		// A hostile or broken order: refuse it alone, keep the rest. The
		// API server quotes values with %q.
		run.refuse(refusal{number: up.WorkOrderNumber, kind: refusedByAPIServer,
			message: "the provider's order is not valid: " + truncate(err.Error(), 300)})
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("writing SharedProject for order %s: %w", displayNumber(up.WorkOrderNumber), err)
	}
	// The run keeps what the cache would; the caller has the order at hand.
	p.ManagedFields = nil
	if p.Spec.Upstream != nil && digest != "" {
		trimUpstream(p, digest)
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	run.byNumber[up.WorkOrderNumber] = p
	run.changed++
	return p, nil
}

// project is the run's copy of a project, nil when there is none.
func (run *importRun) project(number string) *sharev1.SharedProject {
	run.mu.Lock()
	defer run.mu.Unlock()
	return run.byNumber[number]
}

// records says the run's project of number records the order of that
// digest already.
func (run *importRun) records(number, digest string) bool {
	p := run.project(number)
	return p != nil && p.Spec.Upstream != nil && projectDigest(p) == digest
}

// refuse records an order refused in this run: counted and summed up in
// the link's event; the first few are named in status.recentFailures.
func (run *importRun) refuse(rf refusal) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if rf.number == "" {
		run.unnamedRefusal = true
	} else {
		if run.refusedNumbers == nil {
			run.refusedNumbers = map[string]bool{}
		}
		run.refusedNumbers[rf.number] = true
	}
	run.refused.add(rf)
	refusedOrders.WithLabelValues(string(rf.kind)).Inc()
	if run.refused.count <= maxNamedRefusals {
		run.link.Status.RecentFailures = pushFailure(run.link.Status.RecentFailures, sharev1.Failure{
			Time: metav1.NewTime(run.now), Subject: refusedSubject(rf.number), Reason: sharev1.ReasonRefused,
			Message: "refused the provider's order: " + rf.message,
		})
	}
}

// finishImport records a successful run in the link's status: the
// project counts, Imported, and what a pull reached. An idle refresh
// changes nothing there, so it writes nothing.
func (r *ShareLinkReconciler) finishImport(run *importRun) {
	link := run.link
	projects := make([]*sharev1.SharedProject, 0, len(run.byNumber))
	for _, p := range run.byNumber {
		projects = append(projects, run.mem.freshen(p))
	}
	// The projects applied in this run are counted as they were applied.
	link.Status.Projects = sumCounts(countProjects(projects), run.appliedCounts)
	recordProjectCounts(link)
	link.Status.LastError = ""
	link.Status.IntegrationState = sharev1.IntegrationIdle
	if run.plan.pull {
		r.finishPull(run)
	}
	setImported(link)
	if len(run.counts) > 0 {
		// This run's transitions, and the link's counts, which come from
		// its projects and so hold across restarts: a run that finishes an
		// import a crash cut short tells the whole, not only its share.
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonImported, "Import", "%s; %s",
			summarizeCounts(run.counts), projectSummary(link.Status.Projects))
	}
}

// finishPull records what a pull reached, with one event for the orders it
// refused. The watermark and the
// refresh time of an idle refresh are kept in memory until something else
// is written.
func (r *ShareLinkReconciler) finishPull(run *importRun) {
	link := run.link
	if run.answered {
		// The count of the last pull that answered orders: an idle
		// refresh says nothing about the orders refused before it.
		link.Status.RefusedOrders = int32(min(run.refused.count, math.MaxInt32)) //nolint:gosec // G115: capped at MaxInt32 just here
	}
	if run.refused.count > 0 {
		// One event per pull, however many orders it refused.
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, reasonOrdersRefused, "Import", "%s", run.refused.message(link.Spec.ClientCode))
	}
	run.mem.lastRefresh, run.mem.watermark = run.now, run.watermark
	mode := "incremental"
	if run.plan.full {
		mode = "full"
	}
	refreshDuration.WithLabelValues(mode).Observe(r.Clock.Since(run.now).Seconds())
	now := metav1.NewTime(run.now)
	if run.plan.full {
		link.Status.LastFullImportTime = &now
	}
	if run.plan.refreshAt != "" {
		link.Status.LastHandledRefreshAt = run.plan.refreshAt
	}
	if run.plan.fullImportAt != "" {
		link.Status.LastHandledFullImportAt = run.plan.fullImportAt
	}
	if run.changed > 0 || run.plan.full || run.plan.refreshAt != "" || link.Status.LastRefreshTime == nil {
		link.Status.LastRefreshTime = &now
		link.Status.Watermark = run.watermark
		link.Status.LastContactTime = &now
	}
	if last := link.Status.LastContactTime; last == nil || !run.now.Before(last.Add(contactGranularity(link))) {
		// A quiet link says it still hears from the provider, at a
		// granularity that keeps its idle refreshes free of writes.
		link.Status.LastContactTime = &now
	}
}

// contactGranularity is how often a quiet link records in
// status.lastContactTime that its provider answered: an hour, or the
// refresh interval when longer. Between, a refresh with nothing new writes
// nothing, and lastContactTime lags by up to this.
func contactGranularity(link *sharev1.ShareLink) time.Duration {
	return max(link.Spec.RefreshInterval(), time.Hour)
}

// summarizeCounts is the link's event about a pull's transitions:
// "cancelled 1, imported 3".
func summarizeCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(k), counts[k]))
	}
	return strings.Join(parts, ", ")
}

// progressInterval is the least time between two writes of an import's
// progress: a large import writes status at most once per part of
// protocol.MaxPushOrders orders and once per interval, never per project,
// and a refresh that writes nothing else (the provider answered unchanged
// orders) writes no progress either.
const progressInterval = 3 * time.Second

// reportProgress writes the run's progress to status (status.progress,
// Reconciling, and Ready while it is not yet known) when the last write is
// progressInterval old. The final status patch removes status.progress.
func (r *ShareLinkReconciler) reportProgress(ctx context.Context, run *importRun) error {
	now := r.Clock.Now()
	if !run.progressAt.IsZero() && now.Sub(run.progressAt) < progressInterval {
		return nil
	}
	// The records of the next part go on meanwhile and may refuse orders
	// on the link: the lock keeps them off the link while it is written.
	run.mu.Lock()
	defer run.mu.Unlock()
	work := run.changed + len(run.applied)
	if work == run.progressWork {
		return nil
	}
	run.progressWork = work
	pr := sharev1.ImportProgress{Pulled: clampInt32(int64(run.pulled)), Applied: clampInt32(int64(len(run.applied))),
		Total: clampInt32(int64(max(run.total, len(run.applied))))}
	setImportProgress(run.link, pr)
	run.progressAt = now
	return r.writeStatusEarly(ctx, run.linkRun)
}

// markRunning shows the integration as running while an import goes on.
// What it writes becomes the base of the run's final status patch, which
// thus sets the state back to idle (or error) even when that equals the
// state the run started from.
func (r *ShareLinkReconciler) markRunning(ctx context.Context, run *linkRun) error {
	setImportRunning(run.link)
	return r.writeStatusEarly(ctx, run)
}

// writeStatusEarly patches the link's status in the middle of a run and
// makes what it wrote the base of the run's final patch.
func (r *ShareLinkReconciler) writeStatusEarly(ctx context.Context, run *linkRun) error {
	if _, err := patchStatus(ctx, r.Client, run.base, run.link); err != nil {
		return err
	}
	run.base.Status = *run.link.Status.DeepCopy()
	return nil
}
