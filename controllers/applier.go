package controllers

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// application is one project's push.
type application struct {
	project *sharev1.SharedProject
	order   protocol.WorkOrder
	hash    string
}

// applyProjects pushes to the vendor account every project that needs it:
// those whose order changed now, those left unapplied by an earlier run or
// changed by a person, and on a full import every project, so that a full
// import repairs vendor-side drift. Suspended projects make no calls.
func (r *ShareLinkReconciler) applyProjects(ctx context.Context, im *importRun) error {
	return r.applySome(ctx, im, slices.Collect(maps.Values(im.byNumber)))
}

// applySome pushes those of the projects that need it, in batches. The
// orders are built a push at a time, so that a large import holds at most
// one push's orders.
func (r *ShareLinkReconciler) applySome(ctx context.Context, im *importRun, projects []*sharev1.SharedProject) error {
	var due []*sharev1.SharedProject
	for _, p := range projects {
		if im.needsApply(p) {
			due = append(due, p)
		}
	}
	// Numbers in order, so pushes are reproducible and tests can read them.
	sort.Slice(due, func(i, j int) bool { return due[i].Spec.WorkOrderNumber < due[j].Spec.WorkOrderNumber })
	apps := make([]application, 0, min(len(due), protocol.MaxPushOrders))
	for i, p := range due {
		a, send, err := r.prepare(ctx, im, p)
		if err != nil {
			return err
		}
		if send {
			apps = append(apps, a)
		}
		if len(apps) == protocol.MaxPushOrders || i == len(due)-1 && len(apps) > 0 {
			if err := r.pushBatch(ctx, im, apps); err != nil {
				return err
			}
			apps = apps[:0]
		}
	}
	return nil
}

// needsApply says whether a project's push is due in this run.
func (im *importRun) needsApply(p *sharev1.SharedProject) bool {
	number := p.Spec.WorkOrderNumber
	switch {
	case p.Spec.Suspend || p.Spec.Upstream == nil || im.applied[number]:
		return false
	case im.plan.full && im.seen[number]:
		return true
	}
	upToDate := p.Generation == p.Status.ObservedGeneration && p.Status.Created
	return !upToDate && !im.mem.isApplied(p)
}

// prepare builds a project's push. A project whose push would be what the
// vendor account already holds (an override that matters only at creation)
// is marked applied at once, with nothing to send.
func (r *ShareLinkReconciler) prepare(ctx context.Context, im *importRun, p *sharev1.SharedProject) (application, bool, error) {
	w := desiredOrder(applyInput{
		Link: &im.link.Spec, Project: p, Upstream: p.Spec.Upstream,
		Created: p.Status.Created, AutoAdmin: p.EffectiveAutoAdmin(&im.link.Spec),
	})
	a := application{project: p, order: w, hash: orderHash(&w)}
	force := im.plan.full && im.seen[p.Spec.WorkOrderNumber]
	if !force && a.hash == p.Status.AppliedHash && p.Status.Created {
		return a, false, r.markApplied(ctx, im, a, "")
	}
	return a, true, nil
}

// pushBatch sends orders that change together in one push request and
// records each order's result on its project.
func (r *ShareLinkReconciler) pushBatch(ctx context.Context, im *importRun, apps []application) error {
	orders := make([]protocol.WorkOrder, len(apps))
	for i := range apps {
		orders[i] = apps[i].order
	}
	var resp *protocol.PushResponse
	err := im.vendor.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		var err error
		resp, err = im.vendor.Push(ctx, im.creds.PushKey, orders)
		return err
	})
	if err != nil {
		pushes.WithLabelValues("error").Inc()
		return err
	}
	pushes.WithLabelValues("ok").Inc()
	results := make(map[string]protocol.PushResult, len(resp.Results))
	for _, res := range resp.Results {
		results[res.WorkOrderNumber] = res
	}
	return inParallel(ctx, len(apps), func(ctx context.Context, i int) error {
		return r.markApplied(ctx, im, apps[i], results[apps[i].order.WorkOrderNumber].Error)
	})
}

// markApplied records a push's result in the project's status, with an
// event on the project's transition.
func (r *ShareLinkReconciler) markApplied(ctx context.Context, im *importRun, a application, refusal string) (err error) {
	// a.project may be the cache's own object: change a copy.
	before := a.project
	p := before.DeepCopy()
	defer func() {
		if err == nil {
			im.settle(p)
		}
	}()
	if refusal != "" {
		pushedOrders.WithLabelValues("refused").Inc()
		msg := "the vendor account refused the order: " + truncate(refusal, 300)
		sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
		sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
		stall(p, sharev1.ReasonRefused, msg)
		p.Status.ObservedGeneration = p.Generation
		im.fail(p.Spec.WorkOrderNumber, msg)
		r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, sharev1.ReasonApplyFailed, "Apply", "%s", msg)
		return r.patchProjectStatus(ctx, before, p)
	}
	reason := transition(before, p.Spec.Upstream.ClientStatus)
	p.Status.Project = im.link.Spec.ProjectName(p.Spec.WorkOrderNumber)
	p.Status.Created = true
	p.Status.AppliedHash = a.hash
	p.Status.ClientStatus = p.Spec.Upstream.ClientStatus
	p.Status.ObservedGeneration = p.Generation
	if before.Status.AppliedHash != a.hash || p.Status.LastAppliedTime == nil {
		now := metav1.NewTime(im.now)
		p.Status.LastAppliedTime = &now
	}
	if im.link.Spec.CheckInEnabled() {
		if p.Status.CheckIn == nil {
			p.Status.CheckIn = &sharev1.CheckInStatus{}
		}
		p.Status.CheckIn.Required = true
	}
	msg := fmt.Sprintf("applied to %s", p.Status.Project)
	if !sharev1.IsActiveClientStatus(p.Status.ClientStatus) {
		msg += " (" + p.Status.ClientStatus + " by the provider)"
	}
	sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionTrue, sharev1.ReasonSucceeded, msg)
	sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionTrue, sharev1.ReasonSucceeded, msg)
	sharev1.RemoveCondition(p, sharev1.ConditionStalled)
	sharev1.RemoveCondition(p, sharev1.ConditionReconciling)
	pushedOrders.WithLabelValues(transitionLabel(reason)).Inc()
	if reason != "" {
		im.mu.Lock()
		im.counts[reason]++
		im.mu.Unlock()
	}
	if reason != "" && reason != sharev1.ReasonImported {
		// A first import is told once, on the link, with its count: an
		// event per new project would double the writes of a large import.
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, reason, "Apply", "%s", msg)
	}
	return r.patchProjectStatus(ctx, before, p)
}

// transition names what a push did to a project, for its event; empty when
// it only repaired or re-sent an unchanged order.
func transition(before *sharev1.SharedProject, clientStatus string) string {
	switch {
	case !before.Status.Created:
		return sharev1.ReasonImported
	case clientStatus == before.Status.ClientStatus:
		if before.Generation == before.Status.ObservedGeneration {
			return ""
		}
		return sharev1.ReasonUpdated
	case clientStatus == sharev1.ClientStatusCancelled:
		return sharev1.ReasonCancelled
	case clientStatus == sharev1.ClientStatusDeleted:
		return sharev1.ReasonDeleted
	case !sharev1.IsActiveClientStatus(before.Status.ClientStatus):
		return sharev1.ReasonReactivated
	default:
		return sharev1.ReasonUpdated
	}
}

func (r *ShareLinkReconciler) patchProjectStatus(ctx context.Context, before, after *sharev1.SharedProject) error {
	if equalStatus(before.Status, after.Status) {
		return nil
	}
	err := r.Status().Patch(ctx, after, client.MergeFrom(before))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("writing the status of SharedProject %s: %w", after.Name, err)
	}
	return nil
}

// settle records a project applied in this run.
func (im *importRun) settle(p *sharev1.SharedProject) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.mem.recordApplied(p)
	im.byNumber[p.Spec.WorkOrderNumber] = settled(p)
	im.applied[p.Spec.WorkOrderNumber] = true
}

// settled is what the rest of an import reads of a project it has applied:
// what the link's counts need. Keeping only that, a large import holds one
// copy of each project (the cache's) rather than two.
func settled(p *sharev1.SharedProject) *sharev1.SharedProject {
	s := &sharev1.SharedProject{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Generation: p.Generation},
		Spec:       sharev1.SharedProjectSpec{LinkName: p.Spec.LinkName, WorkOrderNumber: p.Spec.WorkOrderNumber},
		Status: sharev1.SharedProjectStatus{
			ClientStatus: p.Status.ClientStatus, ObservedGeneration: p.Status.ObservedGeneration, Created: p.Status.Created,
		},
	}
	if c := meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionApplied); c != nil {
		s.Status.Conditions = []metav1.Condition{*c}
	}
	return s
}

// finishImport records a successful run in the link's status. An idle
// refresh changes nothing there, so it writes nothing; the watermark and the
// refresh time it reached are kept in memory until something else is
// written.
func (r *ShareLinkReconciler) finishImport(im *importRun) {
	link := im.link
	projects := make([]*sharev1.SharedProject, 0, len(im.byNumber))
	for _, p := range im.byNumber {
		projects = append(projects, im.mem.freshen(p))
	}
	link.Status.Projects = countProjects(projects)
	recordProjectCounts(link)
	link.Status.LastError = ""
	link.Status.IntegrationState = sharev1.IntegrationIdle
	if !im.plan.pull {
		sharev1.SetCondition(link, sharev1.ConditionImported, metav1.ConditionTrue, sharev1.ReasonSucceeded, importedMessage(link))
		return
	}
	if im.answered {
		// The count of the last pull that answered orders: an idle
		// refresh says nothing about the orders refused before it.
		link.Status.RefusedOrders = int32(min(im.refused.count, math.MaxInt32))
	}
	sharev1.SetCondition(link, sharev1.ConditionImported, metav1.ConditionTrue, sharev1.ReasonSucceeded, importedMessage(link))
	if im.refused.count > 0 {
		// One event per pull, however many orders it refused.
		r.Recorder.Eventf(link, nil, corev1.EventTypeWarning, reasonOrdersRefused, "Import", "%s", im.refused.message(link.Spec.ClientCode))
	}
	im.mem.lastRefresh, im.mem.watermark = im.now, im.watermark
	mode := "incremental"
	if im.plan.full {
		mode = "full"
	}
	refreshDuration.WithLabelValues(mode).Observe(r.Clock.Since(im.now).Seconds())
	now := metav1.NewTime(im.now)
	if im.plan.full {
		link.Status.LastFullImportTime = &now
	}
	if im.plan.refreshAt != "" {
		link.Status.LastHandledRefreshAt = im.plan.refreshAt
	}
	if im.plan.fullImportAt != "" {
		link.Status.LastHandledFullImportAt = im.plan.fullImportAt
	}
	if im.changed > 0 || im.plan.full || im.plan.refreshAt != "" || link.Status.LastRefreshTime == nil {
		link.Status.LastRefreshTime = &now
		link.Status.Watermark = im.watermark
	}
	if len(im.counts) > 0 {
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonImported, "Import", "%s", summarizeCounts(im.counts))
	}
}

// importedMessage is the Imported condition's message.
func importedMessage(link *sharev1.ShareLink) string {
	const msg = "the provider's orders are imported"
	if n := link.Status.RefusedOrders; n > 0 {
		return fmt.Sprintf("%s; the last pull refused %d (see status.recentFailures and the %s events)", msg, n, reasonOrdersRefused)
	}
	return msg
}

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

func transitionLabel(reason string) string {
	if reason == "" {
		return "resent"
	}
	return strings.ToLower(reason)
}
