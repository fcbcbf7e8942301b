package controllers

// One page of the item feed: classify its items, relay those that need it,
// and count the page on the link and its projects.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// relayPageSize is how many items one read of the feed asks for.
const relayPageSize = 100

// nextPageDelay requeues a link at once when the feed has more to read.
const nextPageDelay = time.Millisecond

// classify decides what a page does with an item, from the status the
// vendor account shows on it: an item already published or failed is
// settled (after a crash, or in a rescan) unless a retry asks for its
// failure to be tried again; an item of a suspended project is held;
// anything else is relayed (outcomeUnsettled).
func classify(fi *protocol.FeedItem, p *sharev1.SharedProject, retry bool) itemOutcome {
	suspended := p != nil && p.Spec.Suspend
	switch fi.RelayStatus {
	case protocol.RelayPublished:
		return outcomePublished
	case protocol.RelayFailed:
		if retry && !suspended {
			return outcomeUnsettled
		}
		return outcomeFailed
	}
	if suspended {
		return outcomeHeld
	}
	return outcomeUnsettled
}

// runPage classifies the items of a page and relays those that need it.
// retry says whether the failed items of a work order are tried again.
func (r *RelayReconciler) runPage(ctx context.Context, run *relayRun, items []protocol.FeedItem, retry func(number string) bool) ([]*itemResult, error) {
	results := make([]*itemResult, len(items))
	var jobs []*itemResult
	for i := range items {
		number := items[i].Item.WorkOrderNumber
		res := &itemResult{feed: items[i]}
		res.outcome = classify(&items[i], run.projects[number], retry != nil && retry(number))
		if res.outcome == outcomeUnsettled {
			jobs = append(jobs, res)
		}
		results[i] = res
	}
	err := run.relayer.relayAll(ctx, jobs)
	if err == nil && unsettled(results) > 0 {
		err = errors.New("relay interrupted")
	}
	return results, err
}

func unsettled(results []*itemResult) int {
	n := 0
	for _, res := range results {
		if res.outcome == outcomeUnsettled {
			n++
		}
	}
	return n
}

// readPage reads the page of the feed after cursor. It refuses an answer
// the cursor cannot follow.
func readPage(ctx context.Context, run *relayRun, cursor string) (*protocol.ItemFeedResponse, error) {
	resp, err := run.relayer.listItems(ctx, cursor, relayPageSize)
	if err != nil {
		return nil, err
	}
	if len(resp.Items) > 0 && resp.Cursor == "" {
		return nil, &protocol.APIError{Call: protocol.CallItems, Kind: protocol.KindTransient, Message: "the item feed answered items without a cursor"}
	}
	return resp, nil
}

// mainPage relays the page after the link's cursor. When every item of the
// page is settled or held it writes, in this order: the held items on their
// projects (so that they are on record before the cursor passes them); the
// cursor with the link's totals, in one write, which commits the page; the
// other counts of the projects. After a crash before the second write the
// page is read again and counted then; after one between the second and the
// third, the projects miss the page's counts until a retry request recounts
// them. It returns the account-side failure that interrupted the page apart
// from other errors.
func (r *RelayReconciler) mainPage(ctx context.Context, run *relayRun) (passResult, error) {
	st := &run.link.Status.Relay
	resp, err := readPage(ctx, run, st.Cursor)
	if err != nil {
		return interrupted(err), nil
	}
	results, passErr := r.runPage(ctx, run, resp.Items, nil)
	if passErr != nil {
		setPending(st, run.held()+int64(unsettled(results)), run.now)
		return interrupted(passErr), nil
	}
	page, err := r.readProjects(ctx, run, results)
	if err != nil {
		return passResult{}, err
	}
	var tally relayTally
	tally.add(results, run.now, page.counted)
	if err := r.patchProjects(ctx, run, page, &tally, addHeld); err != nil {
		return passResult{}, err
	}
	st.Relayed += tally.relayed
	st.Failed = max(st.Failed+tally.failed, 0)
	if resp.Cursor != "" {
		st.Cursor = resp.Cursor
	}
	setPending(st, run.held(), run.now)
	if err := r.patchLinkRelay(ctx, run); err != nil {
		return passResult{}, err
	}
	if err := r.patchProjects(ctx, run, page, &tally, addCounts); err != nil {
		return passResult{}, err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("relayed a page of items", "items", len(results),
		"published", tally.relayed, "failed", tally.failed, "held", tally.pending, "cursor", st.Cursor, "more", resp.More)
	if resp.More {
		return requeueAfter(nextPageDelay), nil
	}
	return requeueAfter(jitter(r.Interval)), nil
}

// pageProjects are the SharedProjects of a page's items, read fresh: the
// cache may not have our last write, and counts are added to what is there.
type pageProjects map[string]*sharev1.SharedProject

// counted says whether the project counts the item as failed already: its
// recent failures name it. A failed item staff publish again comes back to
// the feed; it must not count twice, and relaying it resolves its failure.
func (pp pageProjects) counted(number, uuid string) bool {
	p := pp[number]
	if p == nil {
		return false
	}
	for _, f := range p.Status.Relay.RecentFailures {
		if f.Subject == failureSubject(uuid) {
			return true
		}
	}
	return false
}

func failureSubject(uuid string) string { return truncate(uuid, 64) }

func (r *RelayReconciler) readProjects(ctx context.Context, run *relayRun, results []*itemResult) (pageProjects, error) {
	pp := pageProjects{}
	for _, res := range results {
		number := res.feed.Item.WorkOrderNumber
		cached := run.projects[number]
		if _, done := pp[number]; done || cached == nil {
			continue // no SharedProject: counted on the link alone
		}
		p := &sharev1.SharedProject{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cached), p); err != nil {
			if apierrors.IsNotFound(err) {
				pp[number] = nil
				continue
			}
			return nil, fmt.Errorf("reading SharedProject %s: %w", cached.Name, err)
		}
		pp[number] = p
	}
	return pp, nil
}

// patchProjects writes a part of a page's tally to its projects.
func (r *RelayReconciler) patchProjects(ctx context.Context, run *relayRun, pp pageProjects, tally *relayTally, mode tallyMode) error {
	numbers := make([]string, 0, len(tally.projects))
	for n := range tally.projects {
		numbers = append(numbers, n)
	}
	sort.Strings(numbers)
	for _, number := range numbers {
		p := pp[number]
		if p == nil {
			continue
		}
		before := p.DeepCopy()
		applyProjectTally(&p.Status, tally.projects[number], run.now, mode)
		if err := r.patchProjectRelay(ctx, before, p); err != nil {
			return err
		}
		run.projects[number] = p
	}
	return nil
}
