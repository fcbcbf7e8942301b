package controllers

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// rescan is a read of the whole feed from its beginning that retries failed
// items and relays held ones, tallying every item (docs/relay.md,
// "Retry"). It lives in memory only.
type rescan struct {
	cursor string
	// linkRetry is the link's retry-requested-at value it handles, if any;
	// then every failed item is retried.
	linkRetry string
	// retry are the work-order numbers whose failed items are retried.
	retry map[string]bool
	// projectRetry are the retry-requested-at values of projects it
	// handles, by SharedProject name.
	projectRetry map[string]string
	tally        relayTally
}

func (scan *rescan) retries(number string) bool { return scan.linkRetry != "" || scan.retry[number] }

// planRescan starts a rescan when a retry is requested on the link or one
// of its projects, or a project that holds items is no longer suspended.
func (r *RelayReconciler) planRescan(ctx context.Context, run *relayRun) error {
	if run.mem.rescan != nil {
		return nil
	}
	scan := &rescan{retry: map[string]bool{}, projectRetry: map[string]string{}}
	scan.linkRetry = unhandledRetry(run.link, run.link.Status.LastHandledRetryAt)
	start := scan.linkRetry != ""
	for number, cached := range run.projects {
		if !wantsRescan(cached) {
			continue
		}
		// The cache may not have our last write yet: ask the API server.
		p := &sharev1.SharedProject{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cached), p); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return fmt.Errorf("reading SharedProject %s: %w", cached.Name, err)
		}
		run.projects[number] = p
		if v := unhandledRetry(p, p.Status.LastHandledRetryAt); v != "" {
			scan.retry[number] = true
			scan.projectRetry[p.Name] = v
		}
		start = start || wantsRescan(p)
	}
	if start {
		ctrl.LoggerFrom(ctx).Info("rescanning the item feed", "linkRetry", scan.linkRetry, "projectRetries", len(scan.projectRetry))
		run.mem.rescan = scan
	}
	return nil
}

// wantsRescan: a retry request not handled yet, or held items of a project
// no longer suspended.
func wantsRescan(p *sharev1.SharedProject) bool {
	return unhandledRetry(p, p.Status.LastHandledRetryAt) != "" || (p.Status.Relay.Pending > 0 && !p.Spec.Suspend)
}

// unhandledRetry is the object's retry-requested-at value when it asks for
// a retry not handled yet, or "".
func unhandledRetry(obj metav1.Object, handled string) string {
	if v := obj.GetAnnotations()[sharev1.AnnotationRetryRequestedAt]; v != handled {
		return v
	}
	return ""
}

// rescanPage reads and relays one page of the rescan; at the end of the feed
// it writes the counts it tallied.
func (r *RelayReconciler) rescanPage(ctx context.Context, run *relayRun) (passResult, error) {
	scan := run.mem.rescan
	resp, err := readPage(ctx, run, scan.cursor)
	if err != nil {
		return interrupted(err), nil
	}
	results, passErr := r.runPage(ctx, run, resp.Items, scan.retries)
	if passErr != nil {
		// The page is read again; what relayed meanwhile shows as
		// published then.
		return interrupted(passErr), nil
	}
	scan.tally.add(results, run.now, nil)
	if resp.Cursor != "" {
		scan.cursor = resp.Cursor
	}
	ctrl.LoggerFrom(ctx).V(1).Info("rescanned a page of items", "items", len(results), "cursor", scan.cursor, "more", resp.More)
	if resp.More {
		return requeueAfter(nextPageDelay), nil
	}
	if err := r.finishRescan(ctx, run); err != nil {
		return passResult{}, err
	}
	return requeueAfter(jitter(r.Interval)), nil
}

// finishRescan replaces the counts of the link and its projects with the
// rescan's tally (and the relay failures of the projects it retried with the
// items that failed again), records the retry requests handled, and moves the cursor
// to the end of the feed. Projects are written first, from a fresh list, so
// that held items are on record before the cursor moves.
func (r *RelayReconciler) finishRescan(ctx context.Context, run *relayRun) error {
	scan := run.mem.rescan
	var list sharev1.SharedProjectList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(run.link.Namespace),
		client.MatchingLabels{sharev1.LabelLink: run.link.Name}); err != nil {
		return fmt.Errorf("listing the link's SharedProjects: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	projects := make(map[string]*sharev1.SharedProject, len(list.Items))
	var held int64
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.LinkName != run.link.Name {
			continue
		}
		before := p.DeepCopy()
		if scan.retries(p.Spec.WorkOrderNumber) {
			// Every failed item was tried again: those that failed again,
			// in the tally, are the project's failures now.
			p.Status.Relay.RecentFailures = nil
		}
		applyProjectTally(&p.Status, scan.tally.projects[p.Spec.WorkOrderNumber], run.now, setAll)
		if v, ok := scan.projectRetry[p.Name]; ok {
			p.Status.LastHandledRetryAt = v
		}
		if err := r.patchProjectRelay(ctx, before, p); err != nil {
			return err
		}
		projects[p.Spec.WorkOrderNumber] = p
		held += int64(p.Status.Relay.Pending)
	}
	run.projects = projects
	st := &run.link.Status.Relay
	st.Relayed, st.Failed = scan.tally.relayed, scan.tally.failed
	st.Cursor = scan.cursor
	setPending(st, max(held, scan.tally.pending), run.now)
	if scan.linkRetry != "" {
		run.link.Status.LastHandledRetryAt = scan.linkRetry
	}
	run.mem.rescan = nil
	ctrl.LoggerFrom(ctx).Info("rescanned the item feed", "relayed", st.Relayed, "failed", st.Failed, "held", st.Pending)
	return nil
}
