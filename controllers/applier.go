package controllers

import (
	"context"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// projectPush is one project's order as a push carries it.
type projectPush struct {
	project *sharev1.SharedProject
	order   protocol.WorkOrder
	hash    string
	assign  *assigneeCheck // a creation's assignee, checked against the answer (assign_status.go)
}

// applyProjects pushes to the vendor account every project that needs it:
// those whose order changed now, those left unapplied by an earlier run or
// changed by a person, and on a full import every project, so that a full
// import repairs vendor-side drift. Suspended projects make no calls. The
// projects of this pull were applied part by part as they were recorded;
// what is left here reads its order from the API server (the cache keeps a
// digest only).
func (r *ShareLinkReconciler) applyProjects(ctx context.Context, run *importRun) error {
	cands := make([]applyCandidate, 0, len(run.byNumber))
	for _, p := range run.byNumber {
		cands = append(cands, applyCandidate{project: p})
	}
	return r.applySome(ctx, run, cands)
}

// applySome pushes those of the candidates that need it, in batches. The
// orders are built a push at a time, so that a large import holds at most
// one push's orders; those a candidate lacks are read for a push at a time,
// importWriters at a time.
func (r *ShareLinkReconciler) applySome(ctx context.Context, run *importRun, cands []applyCandidate) error {
	var due []*applyCandidate
	for i := range cands {
		if run.needsApply(cands[i].project) {
			due = append(due, &cands[i])
		}
	}
	// Numbers in order, so pushes are reproducible and tests can read them.
	sort.Slice(due, func(i, j int) bool { return due[i].project.Spec.WorkOrderNumber < due[j].project.Spec.WorkOrderNumber })
	run.mu.Lock()
	run.total = max(run.total, len(run.applied)+len(due))
	run.mu.Unlock()
	batch := make([]projectPush, 0, min(len(due), protocol.MaxPushOrders))
	for i, c := range due {
		if i%protocol.MaxPushOrders == 0 {
			if err := r.readOrders(ctx, due[i:min(i+protocol.MaxPushOrders, len(due))]); err != nil {
				return err
			}
			if err := r.adoptExisting(ctx, run, due[i:min(i+protocol.MaxPushOrders, len(due))]); err != nil {
				return err
			}
		}
		push, send, err := r.prepare(ctx, run, c)
		if err != nil {
			return err
		}
		if send {
			batch = append(batch, push)
		}
		if len(batch) == protocol.MaxPushOrders || i == len(due)-1 && len(batch) > 0 {
			if err := r.pushBatch(ctx, run, batch); err != nil {
				return err
			}
			if len(batch) == protocol.MaxPushOrders && i < len(due)-1 {
				// More to push: show how far the run got.
				if err := r.reportProgress(ctx, run); err != nil {
					return err
				}
			}
			batch = batch[:0]
		}
	}
	return nil
}

// readOrders gets the candidates' orders at hand, reading those the run
// lacks from the API server in parallel.
func (r *ShareLinkReconciler) readOrders(ctx context.Context, cands []*applyCandidate) error {
	return inParallel(ctx, len(cands), func(ctx context.Context, i int) error {
		_, err := cands[i].order(ctx, r)
		return err
	})
}

// needsApply says whether a project's push is due in this run.
func (run *importRun) needsApply(p *sharev1.SharedProject) bool {
	number := p.Spec.WorkOrderNumber
	switch {
	case p.Spec.Suspend || p.Spec.Upstream == nil || run.applied[number]:
		return false
	case run.plan.full && run.seen[number]:
		return true
	}
	upToDate := p.Generation == p.Status.ObservedGeneration && p.Status.Created
	return !upToDate && !run.mem.isApplied(p)
}

// prepare builds a project's push. A project whose push would be what the
// vendor account already holds (an override that matters only at creation)
// is marked applied at once, with nothing to send; so is none when the
// project is gone.
func (r *ShareLinkReconciler) prepare(ctx context.Context, run *importRun, c *applyCandidate) (projectPush, bool, error) {
	p := c.project
	up, err := c.order(ctx, r)
	if err != nil || up == nil {
		return projectPush{}, false, err
	}
	w := desiredOrder(applyInput{
		Link: &run.link.Spec, Project: p, Upstream: up,
		Created: run.heldByVendor(p), AutoAdmin: p.EffectiveAutoAdmin(&run.link.Spec),
	})
	c.upstream = nil // the push carries what is left of it
	push := projectPush{project: p, order: w, hash: orderHash(&w), assign: newAssigneeCheck(&run.link.Spec, p, up, &w)}
	force := run.plan.full && run.seen[p.Spec.WorkOrderNumber]
	if !force && push.hash == p.Status.AppliedHash && p.Status.Created {
		return push, false, r.markApplied(ctx, run, push, "")
	}
	return push, true, nil
}

// pushBatch sends orders that change together in one push request and
// records each order's result on its project.
func (r *ShareLinkReconciler) pushBatch(ctx context.Context, run *importRun, batch []projectPush) error {
	orders := make([]protocol.WorkOrder, len(batch))
	for i := range batch {
		orders[i] = batch[i].order
	}
	resp, err := Call(ctx, run.vendor, r.CallTimeout, func(ctx context.Context) (*protocol.PushResponse, error) {
		return run.vendor.Push(ctx, run.creds.PushKey, orders)
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
	return inParallel(ctx, len(batch), func(ctx context.Context, i int) error {
		batch[i].assign.answer(results[batch[i].order.WorkOrderNumber])
		return r.markApplied(ctx, run, batch[i], results[batch[i].order.WorkOrderNumber].Error)
	})
}

// markApplied records a push's result in the project's status (refused
// when the vendor account said why), with an event on the project's
// transition, and keeps the project as applied in this run.
func (r *ShareLinkReconciler) markApplied(ctx context.Context, run *importRun, push projectPush, refusal string) error {
	// push.project may be the cache's own object: change a copy. The
	// cache's may lag the order pushed: the status takes the pushed
	// client status.
	before := push.project.DeepCopy()
	if before.Spec.Upstream != nil {
		before.Spec.Upstream.ClientStatus = protocol.Value(push.order.ClientStatus)
	}
	p := before.DeepCopy()
	if refusal != "" {
		r.markRefused(run, p, refusal)
	} else {
		r.markPushed(run, before, p, push.hash)
		r.recordAssignment(run, p, push.assign)
	}
	if err := patchProjectStatus(ctx, r.Client, before, p); err != nil {
		return err
	}
	run.keepApplied(p)
	return nil
}

// markRefused records on p, on the link and in an event that the vendor
// account refused p's order.
func (r *ShareLinkReconciler) markRefused(run *importRun, p *sharev1.SharedProject, refusal string) {
	pushedOrders.WithLabelValues("refused").Inc()
	msg := "the vendor account refused the order: " + truncate(refusal, 300)
	setProjectRefused(p, msg)
	run.recordPushRefusal(p.Spec.WorkOrderNumber, msg)
	r.Recorder.Eventf(p, nil, corev1.EventTypeWarning, sharev1.ReasonApplyFailed, "Apply", "%s", msg)
}

// markPushed records on p that the vendor account holds its order, counts
// the transition for the link's event, and tells any transition but a
// first import in an event of the project's.
func (r *ShareLinkReconciler) markPushed(run *importRun, before, p *sharev1.SharedProject, hash string) {
	reason := run.adoption(before, p, transition(before, p.Spec.Upstream.ClientStatus))
	msg := setProjectApplied(p, &run.link.Spec, hash, run.now)
	pushedOrders.WithLabelValues(transitionLabel(reason)).Inc()
	if reason == "" {
		return
	}
	run.countTransition(reason)
	if reason != sharev1.ReasonImported && reason != sharev1.ReasonAdopted {
		// A first import is told once, on the link, with its count: an
		// event per new project would double the writes of a large import.
		r.Recorder.Eventf(p, nil, corev1.EventTypeNormal, reason, "Apply", "%s", msg)
	}
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

// keepApplied records a project applied in this run: in the link's memory,
// and in the run's counts, which is all the rest of the run reads of it.
// The run lets go of its copy: a large import holds one copy of each
// project (the cache's) rather than two.
func (run *importRun) keepApplied(p *sharev1.SharedProject) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.mem.recordApplied(p)
	run.appliedCounts = sumCounts(run.appliedCounts, countProjects([]*sharev1.SharedProject{p}))
	delete(run.byNumber, p.Spec.WorkOrderNumber)
	run.applied[p.Spec.WorkOrderNumber] = true
}

// countTransition counts a project's transition for the link's event.
func (run *importRun) countTransition(reason string) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.counts[reason]++
}

// recordPushRefusal records on the link a project the vendor account
// refused in this run.
func (run *importRun) recordPushRefusal(number, msg string) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.failures++
	run.link.Status.RecentFailures = pushFailure(run.link.Status.RecentFailures, sharev1.Failure{
		Time: metav1.NewTime(run.now), Subject: truncate(number, 64), Reason: sharev1.ReasonRefused, Message: msg,
	})
}

// sumCounts adds two links' worth of project counts.
func sumCounts(a, b sharev1.ProjectCounts) sharev1.ProjectCounts {
	return sharev1.ProjectCounts{
		Total: a.Total + b.Total, Active: a.Active + b.Active, Cancelled: a.Cancelled + b.Cancelled,
		Deleted: a.Deleted + b.Deleted, Failed: a.Failed + b.Failed, Adopted: a.Adopted + b.Adopted,
	}
}

func transitionLabel(reason string) string {
	if reason == "" {
		return "resent"
	}
	return strings.ToLower(reason)
}
