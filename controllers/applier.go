package controllers

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	var apps []application
	for _, p := range im.byNumber {
		if p.Spec.Suspend || p.Spec.Upstream == nil {
			continue
		}
		force := im.plan.full && im.seen[p.Spec.WorkOrderNumber]
		if !force && (p.Generation == p.Status.ObservedGeneration && p.Status.Created || im.mem.isApplied(p)) {
			continue
		}
		w := desiredOrder(applyInput{
			Link: &im.link.Spec, Project: p, Upstream: p.Spec.Upstream,
			Created: p.Status.Created, AutoAdmin: p.EffectiveAutoAdmin(&im.link.Spec),
		})
		a := application{project: p, order: w, hash: orderHash(&w)}
		if !force && a.hash == p.Status.AppliedHash && p.Status.Created {
			// Nothing to send (an override that matters only at creation).
			if err := r.markApplied(ctx, im, a, ""); err != nil {
				return err
			}
			continue
		}
		apps = append(apps, a)
	}
	// Numbers in order, so pushes are reproducible and tests can read them.
	sort.Slice(apps, func(i, j int) bool { return apps[i].order.WorkOrderNumber < apps[j].order.WorkOrderNumber })
	for start := 0; start < len(apps); start += protocol.MaxPushOrders {
		if err := r.pushBatch(ctx, im, apps[start:min(start+protocol.MaxPushOrders, len(apps))]); err != nil {
			return err
		}
	}
	return nil
}

// pushBatch sends orders that change together in one push request and
// records each order's result on its project.
func (r *ShareLinkReconciler) pushBatch(ctx context.Context, im *importRun, apps []application) error {
	orders := make([]protocol.WorkOrder, len(apps))
	for i := range apps {
		orders[i] = apps[i].order
	}
	var resp *protocol.PushResponse
	err := r.call(ctx, im.vendor, func(ctx context.Context) error {
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
	for _, a := range apps {
		if err := r.markApplied(ctx, im, a, results[a.order.WorkOrderNumber].Error); err != nil {
			return err
		}
	}
	return nil
}

// markApplied records a push's result in the project's status, with an
// event on the project's transition.
func (r *ShareLinkReconciler) markApplied(ctx context.Context, im *importRun, a application, refusal string) (err error) {
	// a.project may be the cache's own object: change a copy.
	before := a.project
	p := before.DeepCopy()
	defer func() {
		if err == nil {
			im.mem.recordApplied(p)
			im.byNumber[p.Spec.WorkOrderNumber] = p
		}
	}()
	if refusal != "" {
		im.failures++
		pushedOrders.WithLabelValues("refused").Inc()
		msg := "the vendor account refused the order: " + truncate(refusal, 300)
		sharev1.SetCondition(p, sharev1.ConditionApplied, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
		sharev1.SetCondition(p, sharev1.ConditionReady, metav1.ConditionFalse, sharev1.ReasonRefused, msg)
		stall(p, sharev1.ReasonRefused, msg)
		p.Status.ObservedGeneration = p.Generation
		im.link.Status.RecentFailures = pushFailure(im.link.Status.RecentFailures, sharev1.Failure{
			Time: metav1.NewTime(im.now), Subject: truncate(p.Spec.WorkOrderNumber, 64), Reason: sharev1.ReasonRefused, Message: msg,
		})
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
		im.counts[reason]++
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
	sharev1.SetCondition(link, sharev1.ConditionImported, metav1.ConditionTrue, sharev1.ReasonSucceeded, "the provider's orders are imported")
	if !im.plan.pull {
		return
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
	if len(im.changed) > 0 || im.plan.full || im.plan.refreshAt != "" || link.Status.LastRefreshTime == nil {
		link.Status.LastRefreshTime = &now
		link.Status.Watermark = im.watermark
	}
	if len(im.counts) > 0 {
		r.Recorder.Eventf(link, nil, corev1.EventTypeNormal, sharev1.ReasonImported, "Import", "%s", summarizeCounts(im.counts))
	}
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
