package controllers

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// reconcileImport pulls the provider's orders when due, records them as
// SharedProjects, and applies what changed to the vendor account in batched
// pushes. Sets Imported; on an idle refresh it writes nothing.
func (r *ShareLinkReconciler) reconcileImport(ctx context.Context, run *linkRun) (ctrl.Result, error) {
	link := run.link
	plan := planImport(link, run.mem, run.now)
	projects, err := r.listProjects(ctx, link)
	if err != nil {
		return ctrl.Result{}, err
	}
	im := &importRun{linkRun: run, byNumber: indexProjects(projects), plan: plan, counts: map[string]int{}, applied: map[string]bool{}}
	if plan.full || plan.refreshAt != "" {
		// Work a person asked for, or a long one, shows as running; an idle
		// periodic refresh writes nothing.
		if err := r.markRunning(ctx, run); err != nil {
			return ctrl.Result{}, err
		}
	}
	if plan.pull {
		if res, err, done := r.pull(ctx, im); done {
			return res, err
		}
	}
	if err := r.applyProjects(ctx, im); err != nil {
		return r.fail(run, sharev1.ConditionImported, "vendor account", err)
	}
	r.finishImport(im)
	return ctrl.Result{RequeueAfter: nextWake(link, run.mem, run.now)}, nil
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
	// applied are the order numbers applied in this run.
	applied   map[string]bool
	watermark int64
	counts    map[string]int // transitions, for the link's event
	failures  int
	// answered says the pull answered any order, accepted or refused.
	answered bool
	// refused sums up the orders refused in this run; refusedNumbers are
	// their numbers, and unnamedRefusal says one had none that could be
	// read, so that a full import cancels none of them for being missing.
	refused        refusalSummary
	refusedNumbers map[string]bool
	unnamedRefusal bool
}

func indexProjects(projects []sharev1.SharedProject) map[string]*sharev1.SharedProject {
	m := make(map[string]*sharev1.SharedProject, len(projects))
	for i := range projects {
		m[projects[i].Spec.WorkOrderNumber] = &projects[i]
	}
	return m
}

// listProjects returns the cache's own objects, not copies, so that an import
// does not hold a second copy of every project: the import only reads them,
// and markApplied copies one before it changes it.
func (r *ShareLinkReconciler) listProjects(ctx context.Context, link *sharev1.ShareLink) ([]sharev1.SharedProject, error) {
	var list sharev1.SharedProjectList
	if err := r.List(ctx, &list, client.InNamespace(link.Namespace),
		client.MatchingLabels{sharev1.LabelLink: link.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the link's SharedProjects: %w", err)
	}
	return list.Items, nil
}

// pull calls getWorkOrders and records each changed order.
func (r *ShareLinkReconciler) pull(ctx context.Context, im *importRun) (ctrl.Result, error, bool) {
	var since *int64
	if !im.plan.full {
		s := im.mem.watermark - int64(r.Overlap.Seconds())
		since = &s
	}
	var resp *protocol.GetWorkOrdersResponse
	err := im.provider.Do(ctx, r.CallTimeout, func(ctx context.Context) error {
		var err error
		resp, err = im.provider.GetWorkOrders(ctx, im.creds.Provider, since)
		return err
	})
	if err != nil {
		res, err := r.fail(im.linkRun, sharev1.ConditionImported, "provider account", err)
		return res, err, true
	}
	im.watermark = resp.ServerTime
	if im.watermark <= 0 {
		im.watermark = im.now.Unix()
	}
	im.answered = len(resp.WorkOrders) > 0 || len(resp.Refused) > 0
	// An answer that names a number twice counts its last order, as if the
	// orders were recorded in turn: the writes of a part run in parallel.
	// An order that cannot be stored safely is refused alone.
	latest, refusals := pulledOrders(resp.WorkOrders, resp.Refused, im.link.Spec.ClientCode)
	for _, rf := range refusals {
		im.refuse(rf)
	}
	im.seen = make(map[string]bool, len(latest))
	for number := range latest {
		im.seen[number] = true
	}
	// A large pull is recorded and applied a push at a time: projects reach
	// the vendor account while the rest are written, and the import holds at
	// most one push's projects beside the cache. The last part waits for
	// applyProjects, to go out with whatever else is due.
	for start := 0; start < len(resp.WorkOrders); start += protocol.MaxPushOrders {
		part := resp.WorkOrders[start:min(start+protocol.MaxPushOrders, len(resp.WorkOrders))]
		recorded, err := r.recordAll(ctx, im, part, func(i int) bool {
			j, ok := latest[part[i].WorkOrderNumber]
			return ok && j == start+i
		})
		if err != nil {
			return ctrl.Result{}, err, true
		}
		if len(part) < protocol.MaxPushOrders {
			break
		}
		if err := r.applySome(ctx, im, recorded); err != nil {
			res, err := r.fail(im.linkRun, sharev1.ConditionImported, "vendor account", err)
			return res, err, true
		}
	}
	if im.plan.full {
		if err := r.cancelMissing(ctx, im); err != nil {
			return ctrl.Result{}, err, true
		}
	}
	return ctrl.Result{}, nil, false
}

// recordAll records the pulled orders that keep says to, importWriters at
// a time, and returns their projects. The orders are cleared as they are
// recorded, so that a large pull's memory goes as it goes.
func (r *ShareLinkReconciler) recordAll(ctx context.Context, im *importRun, orders []protocol.WorkOrder, keep func(i int) bool) ([]*sharev1.SharedProject, error) {
	err := inParallel(ctx, len(orders), func(ctx context.Context, i int) error {
		if !keep(i) {
			return nil
		}
		return r.record(ctx, im, &orders[i])
	})
	if err != nil {
		return nil, err
	}
	recorded := make([]*sharev1.SharedProject, 0, len(orders))
	for i := range orders {
		if p := im.project(orders[i].WorkOrderNumber); p != nil && keep(i) {
			recorded = append(recorded, p)
		}
		orders[i] = protocol.WorkOrder{}
	}
	return recorded, nil
}

// record turns one pulled order into its SharedProject's upstream, writing
// only when it differs from what was last seen.
func (r *ShareLinkReconciler) record(ctx context.Context, im *importRun, w *protocol.WorkOrder) error {
	number := w.WorkOrderNumber
	existing := im.project(number)
	var up sharev1.UpstreamOrder
	if w.IsTombstone() {
		if existing == nil {
			return nil // never imported: nothing to cancel
		}
		up = tombstoned(existing.Spec.Upstream, number, protocol.Value(w.ClientStatus))
	} else {
		up = toUpstream(w)
	}
	if kind, msg := upstreamRefusal(&up); kind != "" {
		im.refuse(refusal{number: number, kind: kind, message: msg})
		return nil
	}
	return r.writeUpstream(ctx, im, existing, up)
}

// cancelMissing treats an active project that a full answer lacks, with no
// tombstone, as Cancelled. A refused order is not missing: the provider
// still has it. When the answer refused an order whose number could not be
// read, any project may be that order, and none is cancelled.
func (r *ShareLinkReconciler) cancelMissing(ctx context.Context, im *importRun) error {
	if im.unnamedRefusal {
		ctrl.LoggerFrom(ctx).Info("not cancelling projects missing from the full import: it refused an order whose number could not be read")
		return nil
	}
	for number, p := range im.byNumber {
		if im.seen[number] || im.refusedNumbers[number] || p.Spec.Upstream == nil || !sharev1.IsActiveClientStatus(p.Spec.Upstream.ClientStatus) {
			continue
		}
		up := tombstoned(p.Spec.Upstream, number, sharev1.ClientStatusCancelled)
		if err := r.writeUpstream(ctx, im, p, up); err != nil {
			return err
		}
	}
	return nil
}

func (r *ShareLinkReconciler) writeUpstream(ctx context.Context, im *importRun, existing *sharev1.SharedProject, up sharev1.UpstreamOrder) error {
	if existing != nil && existing.Spec.Upstream != nil && equality.Semantic.DeepEqual(*existing.Spec.Upstream, up) {
		return nil
	}
	p, err := r.applySpec(ctx, im.link, up)
	if apierrors.IsInvalid(err) || apierrors.IsRequestEntityTooLargeError(err) {
		// A hostile or broken order: refuse it alone, keep the rest. The
		// API server quotes values with %q.
		im.refuse(refusal{number: up.WorkOrderNumber, kind: refusedByAPIServer,
			message: "the provider's order is not valid: " + truncate(err.Error(), 300)})
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing SharedProject for order %s: %w", displayNumber(up.WorkOrderNumber), err)
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	im.byNumber[up.WorkOrderNumber] = p
	im.changed++
	return nil
}

// project is the run's copy of a project, nil when there is none.
func (im *importRun) project(number string) *sharev1.SharedProject {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.byNumber[number]
}

// refuse records an order refused in this run: counted and summed up in
// the link's event; the first few are named in status.recentFailures.
func (im *importRun) refuse(rf refusal) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if rf.number == "" {
		im.unnamedRefusal = true
	} else {
		if im.refusedNumbers == nil {
			im.refusedNumbers = map[string]bool{}
		}
		im.refusedNumbers[rf.number] = true
	}
	im.refused.add(rf)
	refusedOrders.WithLabelValues(string(rf.kind)).Inc()
	if im.refused.count <= maxNamedRefusals {
		im.link.Status.RecentFailures = pushFailure(im.link.Status.RecentFailures, sharev1.Failure{
			Time: metav1.NewTime(im.now), Subject: refusedSubject(rf.number), Reason: sharev1.ReasonRefused,
			Message: "refused the provider's order: " + rf.message,
		})
	}
}

// fail records a project refused in this run on the link.
func (im *importRun) fail(number, msg string) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.failures++
	im.link.Status.RecentFailures = pushFailure(im.link.Status.RecentFailures, sharev1.Failure{
		Time: metav1.NewTime(im.now), Subject: truncate(number, 64), Reason: sharev1.ReasonRefused, Message: msg,
	})
}

// importWriters is how many SharedProject writes an import has in flight: a
// large import waits on apiserver round trips, which overlap well. The
// client's QPS limit (--kube-api-qps) still holds.
const importWriters = 8

// inParallel calls f for 0..n-1, importWriters at a time, and returns the
// first error; after one it starts no more calls.
func inParallel(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(importWriters)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// applySpec writes a SharedProject's identity and upstream order with
// server-side apply under the operator's field manager, leaving the
// overrides a person set alone.
func (r *ShareLinkReconciler) applySpec(ctx context.Context, link *sharev1.ShareLink, up sharev1.UpstreamOrder) (*sharev1.SharedProject, error) {
	labels := map[string]string{}
	for k, v := range link.Labels {
		labels[k] = v // so that --watch-label-selector shards projects with their link
	}
	labels[sharev1.LabelLink] = link.Name
	upstream, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&up)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": sharev1.GroupVersion.String(),
		"kind":       "SharedProject",
		"metadata": map[string]any{
			"name":      sharev1.SharedProjectName(link.Name, up.WorkOrderNumber),
			"namespace": link.Namespace,
			"labels":    toAnyMap(labels),
			"ownerReferences": []any{map[string]any{
				"apiVersion": sharev1.GroupVersion.String(), "kind": "ShareLink",
				"name": link.Name, "uid": string(link.UID),
				"controller": true, "blockOwnerDeletion": true,
			}},
		},
		"spec": map[string]any{
			"linkName":        link.Name,
			"workOrderNumber": up.WorkOrderNumber,
			"upstream":        upstream,
		},
	}}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return nil, err
	}
	p := &sharev1.SharedProject{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, p); err != nil {
		return nil, err
	}
	p.ManagedFields = nil // as the cache keeps them: the run holds every project it writes
	return p, nil
}

func toAnyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// markRunning shows the integration as running while an import goes on.
// What it writes becomes the base of the run's final status patch, which
// thus sets the state back to idle (or error) even when that equals the
// state the run started from.
func (r *ShareLinkReconciler) markRunning(ctx context.Context, run *linkRun) error {
	link := run.link
	link.Status.IntegrationState = sharev1.IntegrationRunning
	sharev1.SetCondition(link, sharev1.ConditionReconciling, metav1.ConditionTrue, sharev1.ReasonProgressing, "importing the provider's orders")
	if err := r.patchStatus(ctx, run.base, link); err != nil {
		return err
	}
	run.base.Status = *link.Status.DeepCopy()
	return nil
}
