package controllers

// The plan step: what a full import would do, computed without applying
// it. In Plan mode it replaces the import; in Live mode it answers the
// plan-requested-at annotation before the import runs, so that the plan
// shows the drift from the provider as it was.

import (
	"context"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// planRequest is what asks for a plan in this run.
type planRequest struct {
	due bool
	// trigger and requestedAt go to status.plan.
	trigger, requestedAt string
	// refreshAt and fullImportAt are refresh and full-import requests a
	// link in Plan mode answers with a plan.
	refreshAt, fullImportAt string
}

// planDue decides whether a plan is due: a new plan-requested-at value
// always; in Plan mode also a plan that is missing, older than the spec
// (a change of autoAdmin or defaultWorkType shows at once), a refresh or
// full-import request (the bookmark refreshes the plan), and, while
// autoImport is on, a plan older than the full-import period.
func planDue(link *sharev1.ShareLink, now time.Time) planRequest {
	var req planRequest
	if v := sharev1.RequestedAt(link.Annotations, sharev1.AnnotationPlanRequestedAt); v != "" && v != link.Status.LastHandledPlanAt {
		req = planRequest{due: true, trigger: sharev1.PlanTriggerAnnotation, requestedAt: v}
	}
	if !link.Spec.Planning() {
		return req
	}
	if v := sharev1.RequestedAt(link.Annotations, sharev1.AnnotationRefreshRequestedAt); v != "" && v != link.Status.LastHandledRefreshAt {
		req.due, req.refreshAt = true, v
	}
	if v := sharev1.RequestedAt(link.Annotations, sharev1.AnnotationFullImportRequestedAt); v != "" && v != link.Status.LastHandledFullImportAt {
		req.due, req.fullImportAt = true, v
	}
	p := link.Status.Plan
	switch {
	case p == nil || p.Trigger != sharev1.PlanTriggerMode || p.Generation != link.Generation || p.AppliedTime != nil:
		req.due = true
	case link.Spec.AutoImportEnabled() && !now.Before(p.ComputedTime.Add(link.Spec.FullImportPeriod())):
		req.due = true
	}
	// The plan of a link in Plan mode is the one switching to Live applies,
	// whatever asked for it.
	req.trigger = sharev1.PlanTriggerMode
	return req
}

// nextPlan is when a link in Plan mode next looks at its plan: when it is
// a full-import period old (without autoImport a look that finds nothing
// due, which costs no call).
func nextPlan(link *sharev1.ShareLink, now time.Time) time.Duration {
	next := link.Spec.FullImportPeriod()
	if p := link.Status.Plan; p != nil {
		next = p.ComputedTime.Add(next).Sub(now)
	}
	return jitter(max(next, time.Second))
}

// reconcilePlan computes the plan when one is due (planDue) and writes it
// to status.plan. Sets Planned, or on a failed call what failCall sets;
// while it computes, Reconciling. In Plan mode it ends the run: nothing is
// imported or applied.
func (r *ShareLinkReconciler) reconcilePlan(ctx context.Context, run *linkRun) (stepResult, error) {
	req := planDue(run.link, run.now)
	if req.due {
		if res, err := r.computePlan(ctx, run, req); res.stop || err != nil {
			return res, err
		}
	}
	if !run.link.Spec.Planning() {
		return stepResult{}, nil
	}
	res := stopped(sharev1.ReasonPlanned, "Plan mode: the import waits for mode Live")
	res.RequeueAfter = nextPlan(run.link, run.now)
	return res, nil
}

// computePlan pulls every order, reads the link's projects and the vendor
// account's copies, and records the plan. Its calls: one getWorkOrders and
// one lookup per protocol.MaxPushOrders orders. The pull is the import's
// own (stashWorkOrders): the orders are held as their records' JSON, read
// a part at a time when the provider's client can stream them.
func (r *ShareLinkReconciler) computePlan(ctx context.Context, run *linkRun, req planRequest) (stepResult, error) {
	setPlanRunning(run.link)
	if err := r.writeStatusEarly(ctx, run); err != nil {
		return stepResult{}, err
	}
	stash, err := r.stashWorkOrders(ctx, &importRun{linkRun: run, plan: importPlan{pull: true, full: true}})
	if err != nil {
		return r.failCall(run, sharev1.ConditionPlanned, "provider account", err)
	}
	projects, err := r.allProjects(ctx, run.link)
	if err != nil {
		return stepResult{}, err
	}
	pl := newPlanner(&run.link.Spec, projects)
	lookups, err := pl.planAll(stash, func(numbers []string) (map[string]protocol.WorkOrder, error) {
		return r.vendorCopies(ctx, run, numbers)
	})
	if err != nil {
		return r.failCall(run, sharev1.ConditionPlanned, "vendor account", err)
	}
	recordPlan(run, req, stash.serverTime, pl)
	ctrl.LoggerFrom(ctx).V(1).Info("plan computed", "orders", len(stash.orders), "lookups", lookups)
	return stepResult{}, nil
}

// planAll plans every order of a full answer, and every active project it
// lacks, looking the vendor's copies up protocol.MaxPushOrders at a time:
// the plan holds one lookup's copies at once. It returns how many lookups
// it made.
func (pl *planner) planAll(stash *pullStash, lookup func(numbers []string) (map[string]protocol.WorkOrder, error)) (int, error) {
	orders, numbers := planOrders(pl, stash)
	lookups := 0
	for start := 0; start < len(numbers); start += protocol.MaxPushOrders {
		part := numbers[start:min(start+protocol.MaxPushOrders, len(numbers))]
		copies, err := lookup(part)
		lookups++
		if err != nil {
			return lookups, err
		}
		for _, n := range part {
			var cur *protocol.WorkOrder
			if c, ok := copies[n]; ok {
				cur = &c
			}
			o := orders[n]
			pl.order(n, o, cur)
			if o != nil {
				o.raw = nil // planned: its memory goes as the plan goes
			}
		}
	}
	return lookups, nil
}

// planOrders hands the answer's refusals to the planner and returns the
// orders the import would record by number (the copy that counts, as
// pulledNumbers decides for the import), and the numbers to look up in the
// vendor account, sorted: those orders and the active projects a full
// answer lacks, which a full import marks Cancelled (none when an order
// whose number could not be read was refused: any project may be it).
func planOrders(pl *planner, stash *pullStash) (map[string]*pulledOrder, []string) {
	latest, refusals := pulledNumbers(len(stash.orders), func(i int) string { return stash.orders[i].number },
		stash.refused, pl.link.ClientCode)
	unnamed := false
	refused := map[string]bool{}
	for _, rf := range refusals {
		pl.refuse(rf.number, rf.message)
		unnamed = unnamed || rf.number == ""
		refused[rf.number] = true
	}
	orders := make(map[string]*pulledOrder, len(latest))
	numbers := make([]string, 0, len(latest))
	for n, i := range latest {
		o := &stash.orders[i]
		if o.tombstone != "" && pl.projects[n] == nil {
			continue // never imported: nothing to cancel
		}
		orders[n] = o
		numbers = append(numbers, n)
	}
	for n, p := range pl.projects {
		_, pulled := latest[n]
		if unnamed || pulled || refused[n] || p.Spec.Upstream == nil || !sharev1.IsActiveClientStatus(p.Spec.Upstream.ClientStatus) {
			continue
		}
		numbers = append(numbers, n)
	}
	slices.SortFunc(numbers, compareNumbers)
	return orders, numbers
}

// recordPlan writes the plan, the request it answers, and Planned.
func recordPlan(run *linkRun, req planRequest, watermark int64, pl *planner) {
	link := run.link
	if watermark <= 0 {
		watermark = run.now.Unix()
	}
	counts, entries, truncated := pl.result()
	link.Status.Plan = &sharev1.LinkPlan{
		ComputedTime: metav1.NewTime(run.now), Watermark: watermark, Generation: link.Generation,
		Trigger: req.trigger, RequestedAt: req.requestedAt,
		Counts: counts, Entries: entries, Truncated: truncated,
	}
	if req.requestedAt != "" {
		link.Status.LastHandledPlanAt = req.requestedAt
	}
	if req.refreshAt != "" {
		link.Status.LastHandledRefreshAt = req.refreshAt
	}
	if req.fullImportAt != "" {
		link.Status.LastHandledFullImportAt = req.fullImportAt
	}
	setPlanned(link)
}

// allProjects reads every SharedProject of the link from the API server,
// a page at a time: the plan needs each project's whole upstream record,
// which the cache may not keep. What the plan does not read of a project
// the vendor account holds (all of its upstream but the client status) is
// dropped as it is read, so that a large link's plan holds little.
func (r *ShareLinkReconciler) allProjects(ctx context.Context, link *sharev1.ShareLink) (map[string]*sharev1.SharedProject, error) {
	out := map[string]*sharev1.SharedProject{}
	cont := ""
	for {
		var list sharev1.SharedProjectList
		if err := r.APIReader.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingLabels{sharev1.LabelLink: link.Name},
			client.Limit(planListPage), client.Continue(cont)); err != nil {
			return nil, fmt.Errorf("listing the link's SharedProjects: %w", err)
		}
		for i := range list.Items {
			p := slimProject(&list.Items[i])
			out[p.Spec.WorkOrderNumber] = p
		}
		if cont = list.Continue; cont == "" {
			return out, nil
		}
	}
}

// planListPage is the page size of the plan's list of projects.
const planListPage = 500

// slimProject is what the plan reads of a project: its overrides, whether
// the vendor account holds it, and its upstream record, of which a created
// project's push after a tombstone carries only the client status.
func slimProject(p *sharev1.SharedProject) *sharev1.SharedProject {
	s := &sharev1.SharedProject{Spec: p.Spec, Status: sharev1.SharedProjectStatus{Created: p.Status.Created, ClientStatus: p.Status.ClientStatus}}
	if u := p.Spec.Upstream; u != nil && p.Status.Created {
		s.Spec.Upstream = &sharev1.UpstreamOrder{WorkOrderNumber: u.WorkOrderNumber, ClientStatus: u.ClientStatus}
	}
	return s
}

// reconcileLiveImport runs the import; when the link has just come back
// to Live from Plan mode, it makes the import full, so that what the plan
// showed (a change of autoAdmin, defaultWorkType, the projects' overrides)
// is applied at once rather than at the next full-import period, and
// records on the plan that it was applied.
func (r *ShareLinkReconciler) reconcileLiveImport(ctx context.Context, run *linkRun) (stepResult, error) {
	p := run.link.Status.Plan
	run.applyPlan = p != nil && p.Trigger == sharev1.PlanTriggerMode && p.AppliedTime == nil
	res, err := r.reconcileImport(ctx, run)
	if err == nil && !res.stop && run.applyPlan {
		now := metav1.NewTime(run.now)
		run.link.Status.Plan.AppliedTime = &now
	}
	return res, err
}
