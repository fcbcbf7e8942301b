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

// classifyPage decides what becomes of each item of a page: its results,
// in feed order, and those of them to relay. retry says whether the failed
// items of a work order are tried again.
func classifyPage(run *relayRun, items []protocol.FeedItem, retry func(number string) bool) (results, jobs []*itemResult) {
	results = make([]*itemResult, len(items))
	for i := range items {
		number := items[i].Item.WorkOrderNumber
		res := &itemResult{feed: items[i]}
		res.outcome = classify(&items[i], run.projects[number], retry != nil && retry(number))
		if res.outcome == outcomeUnsettled {
			jobs = append(jobs, res)
		}
		results[i] = res
	}
	return results, jobs
}

// runPage classifies the items of a page and relays those that need it.
func (r *RelayReconciler) runPage(ctx context.Context, run *relayRun, items []protocol.FeedItem, retry func(number string) bool) ([]*itemResult, error) {
	results, jobs := classifyPage(run, items, retry)
	err := run.relayer.relayAll(ctx, jobs)
	if err == nil && unsettled(results) > 0 {
		err = errInterrupted
	}
	return results, err
}

// errInterrupted says a page's items were left unsettled without a failure
// of their own to tell.
var errInterrupted = errors.New("relay interrupted")

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

// A pass of the main feed relays pages while the feed has more, up to
// relayPassPages pages and for relayPassTime: then it comes back at once,
// so that what changed meanwhile (a project suspended, the relay turned
// off) is read again, and other links get their turn.
const (
	relayPassPages = 10
	relayPassTime  = 10 * time.Second
)

// feedPage is a page of the feed on its way in a pass: its items' results,
// and the batch of those relayed.
type feedPage struct {
	resp    *protocol.ItemFeedResponse
	results []*itemResult
	batch   *relayBatch
}

// startPage reads the page after cursor and hands its items to relay to
// the pool.
func startPage(ctx context.Context, run *relayRun, pool *relayPool, cursor string) (*feedPage, error) {
	resp, err := readPage(ctx, run, cursor)
	if err != nil {
		return nil, err
	}
	results, jobs := classifyPage(run, resp.Items, nil)
	return &feedPage{resp: resp, results: results, batch: pool.submit(jobs)}, nil
}

// mainPage relays the pages after the link's cursor. While a page's items
// relay, the next page is read and its items queued behind them, so the
// workers go on from one page to the next, and a page's status writes
// overlap the next page's transfers. Pages are committed in feed order,
// each once every item of it is settled or held (commitPage); the first
// page with an item left unsettled ends the pass, and the cursor stays
// before it. It returns the account-side failure that interrupted the pass
// apart from other errors.
func (r *RelayReconciler) mainPage(ctx context.Context, run *relayRun) (passResult, error) {
	pool := run.relayer.start(ctx)
	defer pool.close()
	start := r.Clock.Now()
	written := writtenProjects{}
	found := false
	page, err := startPage(ctx, run, pool, run.link.Status.Relay.Cursor)
	if err != nil {
		return interrupted(err), nil
	}
	for n := 1; ; n++ {
		found = found || len(page.resp.Items) > 0
		var next *feedPage
		var nextErr error
		if page.resp.More && n < relayPassPages && r.Clock.Since(start) < relayPassTime && pool.stopped() == nil {
			next, nextErr = startPage(ctx, run, pool, page.resp.Cursor)
		}
		page.batch.wait()
		if unsettled(page.results) > 0 {
			return r.stopPass(run, pool, page, next), nil
		}
		if err := r.commitPage(ctx, run, page, written); err != nil {
			return passResult{}, err
		}
		switch {
		case nextErr != nil:
			return interrupted(nextErr), nil
		case next == nil && page.resp.More:
			return requeueAfter(nextPageDelay), nil
		case next == nil:
			return r.idleWait(run, found), nil
		}
		page = next
	}
}

// stopPass ends a pass at a page with items left unsettled: the pool
// finishes what it started, and the link's backlog counts what was read and
// not relayed. The cursor stays before the page.
func (r *RelayReconciler) stopPass(run *relayRun, pool *relayPool, page, next *feedPage) passResult {
	pool.close()
	failure := pool.failure(page.batch)
	if failure == nil {
		failure = errInterrupted
	}
	left := unsettled(page.results)
	if next != nil {
		left += unsettled(next.results)
	}
	setPending(&run.link.Status.Relay, run.held()+int64(left), r.Clock.Now())
	return interrupted(failure)
}

// commitPage counts a settled page on the link and its projects (written:
// those the pass wrote already), in this order: the held items on their
// projects (so that they are on record before the cursor passes them); the
// cursor with the link's totals, in one write, which commits the page; the
// other counts of the projects. After a crash before the second write the
// page is read again and counted then; after one between the second and the
// third, the projects miss the page's counts until a retry request recounts
// them.
func (r *RelayReconciler) commitPage(ctx context.Context, run *relayRun, page *feedPage, written writtenProjects) error {
	run.now = r.Clock.Now()
	st := &run.link.Status.Relay
	pp, err := r.readProjects(ctx, run, page.results, written)
	if err != nil {
		return err
	}
	var tally relayTally
	tally.add(page.results, run.now, pp.counted)
	if err := r.patchProjects(ctx, run, pp, &tally, addHeld, written); err != nil {
		return err
	}
	st.Relayed += tally.relayed
	st.Failed = max(st.Failed+tally.failed, 0)
	if page.resp.Cursor != "" {
		st.Cursor = page.resp.Cursor
	}
	setPending(st, run.held(), run.now)
	if err := r.patchLinkRelay(ctx, run); err != nil {
		return err
	}
	if err := r.patchProjects(ctx, run, pp, &tally, addCounts, written); err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).V(1).Info("relayed a page of items", "items", len(page.results),
		"published", tally.relayed, "failed", tally.failed, "held", tally.pending, "cursor", st.Cursor, "more", page.resp.More)
	return nil
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

// writtenProjects are the work-order numbers whose project a pass wrote
// (or found unchanged) from a fresh read: run.projects holds it as the API
// server answered that write. Only the link's relay writes a project's
// relay counts, one pass at a time, so that copy is as fresh as a read.
type writtenProjects map[string]bool

// readProjects reads the page's projects from the API server, several at
// once, but for those the pass has fresh from its own writes.
func (r *RelayReconciler) readProjects(ctx context.Context, run *relayRun, results []*itemResult, written writtenProjects) (pageProjects, error) {
	var numbers []string
	pp := pageProjects{}
	for _, res := range results {
		number := res.feed.Item.WorkOrderNumber
		_, seen := pp[number]
		switch {
		case seen || run.projects[number] == nil:
			// no SharedProject: counted on the link alone
		case written[number]:
			pp[number] = run.projects[number]
		default:
			pp[number] = nil
			numbers = append(numbers, number)
		}
	}
	read := make([]*sharev1.SharedProject, len(numbers))
	err := inParallel(ctx, len(numbers), func(ctx context.Context, i int) error {
		cached := run.projects[numbers[i]]
		p := &sharev1.SharedProject{}
		if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(cached), p); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("reading SharedProject %s: %w", cached.Name, err)
		}
		read[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, number := range numbers {
		pp[number] = read[i]
	}
	return pp, nil
}

// patchProjects writes a part of a page's tally to its projects, several
// at once, and records in written those it wrote.
func (r *RelayReconciler) patchProjects(ctx context.Context, run *relayRun, pp pageProjects, tally *relayTally, mode tallyMode, written writtenProjects) error {
	numbers := make([]string, 0, len(tally.projects))
	for n := range tally.projects {
		if pp[n] != nil {
			numbers = append(numbers, n)
		}
	}
	sort.Strings(numbers)
	wrote := make([]bool, len(numbers))
	err := inParallel(ctx, len(numbers), func(ctx context.Context, i int) error {
		p := pp[numbers[i]]
		before := p.DeepCopy()
		applyProjectTally(&p.Status, tally.projects[numbers[i]], run.now, mode)
		if err := r.patchProjectRelay(ctx, before, p); err != nil {
			return err
		}
		wrote[i] = true
		return nil
	})
	for i, number := range numbers {
		if wrote[i] {
			run.projects[number] = pp[number]
			written[number] = true
		}
	}
	return err
}
