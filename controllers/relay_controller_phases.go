package controllers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// relayPageSize is how many items one read of the feed asks for.
const relayPageSize = 100

// nextPageDelay requeues a link at once when the feed has more to read.
const nextPageDelay = time.Millisecond

// relayRun is one reconcile of a link's relay: what the steps share.
type relayRun struct {
	link *sharev1.ShareLink
	// before is the link as last written, the base of the next status
	// patch; read is its relay status as read, for the events.
	before *sharev1.ShareLink
	read   sharev1.LinkRelayStatus
	mem    *relayMemory
	rl     *relayer
	// projects are the link's SharedProjects by work-order number, as the
	// cache has them, and as this run wrote them.
	projects map[string]*sharev1.SharedProject
	now      time.Time
}

// reconcileRelay runs one pass: a page of the feed after the cursor, or a
// page of a rescan; then writes the link's relay status when it changed.
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
	relayPending.WithLabelValues(link.Namespace, link.Name).Set(float64(link.Status.Relay.Pending))
	recordRelayBacklog(link, run.held())
	if err != nil {
		return ctrl.Result{}, err
	}
	if passErr != nil {
		if d, ok := protocol.RetryAfter(passErr); ok {
			ctrl.LoggerFrom(ctx).V(1).Info("relay waits for the account", "retryAfter", d)
			return ctrl.Result{RequeueAfter: d}, nil
		}
		return ctrl.Result{}, passErr
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
	creds, err := readCredentials(ctx, r.APIReader, link)
	var se *secretError
	switch {
	case errors.As(err, &se):
		return nil, nil
	case err != nil:
		return nil, err
	}
	vendor, err := r.Accounts.Get(link.Spec.Account.URL)
	if err != nil {
		return nil, nil //nolint:nilerr // an unusable URL stalls the link on the import side
	}
	provider, err := r.Accounts.Get(link.Spec.Provider.URL)
	if err != nil {
		return nil, nil //nolint:nilerr // as above
	}
	// The cache's own objects, not copies: the relay only reads them and
	// writes fresh copies from the API server, and a copy of every project
	// on every pass would be most of the relay's garbage.
	var list sharev1.SharedProjectList
	if err := r.List(ctx, &list, client.InNamespace(link.Namespace), client.MatchingLabels{sharev1.LabelLink: link.Name},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("listing the link's SharedProjects: %w", err)
	}
	projects := make(map[string]*sharev1.SharedProject, len(list.Items))
	for i := range list.Items {
		if p := &list.Items[i]; p.Spec.LinkName == link.Name {
			projects[p.Spec.WorkOrderNumber] = p
		}
	}
	return &relayRun{
		link:   link,
		before: link.DeepCopy(),
		read:   *link.Status.Relay.DeepCopy(),
		mem:    r.memory(link),
		rl: &relayer{
			vendor: vendor, provider: provider,
			pushKey: creds.PushKey, creds: creds.Provider,
			concurrency: link.Spec.RelayConcurrency(),
			callTimeout: r.CallTimeout,
		},
		projects: projects,
		now:      r.Clock.Now(),
	}, nil
}

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
	err := run.rl.relayAll(ctx, jobs)
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

// checkPage refuses a feed answer the cursor cannot follow.
func checkPage(resp *protocol.ItemFeedResponse) error {
	if len(resp.Items) > 0 && resp.Cursor == "" {
		return &protocol.APIError{Call: protocol.CallItems, Kind: protocol.KindTransient, Message: "the item feed answered items without a cursor"}
	}
	return nil
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
	resp, err := run.rl.listItems(ctx, st.Cursor, relayPageSize)
	if err == nil {
		err = checkPage(resp)
	}
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
	if len(results) > 0 {
		ctrl.LoggerFrom(ctx).V(1).Info("relayed a page of items", "items", len(results),
			"published", tally.relayed, "failed", tally.failed, "held", tally.pending, "more", resp.More)
	}
	if resp.More {
		return requeueAfter(nextPageDelay), nil
	}
	return requeueAfter(jitter(r.Interval)), nil
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

// setPending records the backlog and the time it started.
func setPending(st *sharev1.LinkRelayStatus, n int64, now time.Time) {
	st.Pending = clampInt32(n)
	switch {
	case n <= 0:
		st.OldestPendingTime = nil
	case st.OldestPendingTime == nil:
		t := metav1.NewTime(now)
		st.OldestPendingTime = &t
	}
}

func clampInt32(n int64) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
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

// patchProjectRelay writes a project's relay status when it changed, with an
// event when its items start failing.
func (r *RelayReconciler) patchProjectRelay(ctx context.Context, before, after *sharev1.SharedProject) error {
	if equalStatus(before.Status, after.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, after, client.MergeFrom(before)); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("writing the relay status of SharedProject %s: %w", after.Name, err)
	}
	if before.Status.Relay.Failed == 0 && after.Status.Relay.Failed > 0 {
		msg := fmt.Sprintf("%d items failed to relay", after.Status.Relay.Failed)
		if f := after.Status.Relay.RecentFailures; len(f) > 0 {
			msg += ": " + f[0].Message
		}
		r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, sharev1.ReasonRelayFailed, "Relay", "%s", msg)
	}
	return nil
}

// patchLinkRelay writes the link's relay status when it changed.
func (r *RelayReconciler) patchLinkRelay(ctx context.Context, run *relayRun) error {
	if equalStatus(run.before.Status, run.link.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, run.link, client.MergeFrom(run.before)); err != nil {
		return client.IgnoreNotFound(err)
	}
	run.before = run.link.DeepCopy()
	return nil
}

// --- tallies ---

// projectTally counts a project's items of a page or a rescan by outcome.
type projectTally struct {
	// failed may be negative on a page: failures resolved.
	relayed, failed, pending, checkIns int32
	// relayedNow and checkedInNow say an item or a check-in relayed in this
	// pass, for the last-relay times.
	relayedNow, checkedInNow bool
	// failures are the items this pass saw refused, oldest first.
	failures []sharev1.Failure
}

// relayTally counts the items of a page or a rescan by outcome, for the link
// and by work-order number.
type relayTally struct {
	relayed, failed, pending int64
	projects                 map[string]*projectTally
}

// add counts settled and held items; unsettled ones are not counted.
// counted, when set, says which items their project counts as failed
// already (a page of the main pass); a rescan counts every item afresh.
func (t *relayTally) add(results []*itemResult, now time.Time, counted func(number, uuid string) bool) {
	if t.projects == nil {
		t.projects = map[string]*projectTally{}
	}
	for _, res := range results {
		if res.outcome == outcomeUnsettled {
			continue
		}
		number, uuid := res.feed.Item.WorkOrderNumber, res.feed.Item.UUID
		pt := t.projects[number]
		if pt == nil {
			pt = &projectTally{}
			t.projects[number] = pt
		}
		already := counted != nil && counted(number, uuid)
		switch res.outcome {
		case outcomePublished:
			t.relayed++
			pt.relayed++
			pt.relayedNow = pt.relayedNow || res.fresh
			if isCheckIn(&res.feed.Item) {
				pt.checkIns++
				pt.checkedInNow = pt.checkedInNow || res.fresh
			}
			if already {
				t.failed--
				pt.failed--
			}
		case outcomeFailed:
			if !already {
				t.failed++
				pt.failed++
			}
			msg := res.message
			if !res.fresh {
				if counted == nil || already {
					continue // a rescan, or on record already
				}
				msg = "refused by the provider (reported before a restart)"
			}
			pt.failures = append(pt.failures, sharev1.Failure{
				Time: metav1.NewTime(now), Subject: failureSubject(uuid),
				Reason: sharev1.ReasonRelayFailed, Message: truncate(msg, 300),
			})
		case outcomeHeld:
			t.pending++
			pt.pending++
		}
	}
}

// tallyMode says how a tally goes into a project's status.
type tallyMode int

const (
	// addHeld adds the held items alone.
	addHeld tallyMode = iota
	// addCounts adds everything but the held items.
	addCounts
	// setAll replaces the counts: a rescan counted every item.
	setAll
)

// applyProjectTally puts a tally into a project's status.
func applyProjectTally(st *sharev1.SharedProjectStatus, pt *projectTally, now time.Time, mode tallyMode) {
	if pt == nil {
		pt = &projectTally{}
	}
	rs := &st.Relay
	switch mode {
	case addHeld:
		rs.Pending += pt.pending
		return
	case addCounts:
		rs.Relayed += pt.relayed
		rs.Failed = max(rs.Failed+pt.failed, 0)
	case setAll:
		rs.Relayed, rs.Failed, rs.Pending = pt.relayed, pt.failed, pt.pending
	}
	t := metav1.NewTime(now)
	if pt.relayedNow {
		rs.LastRelayTime = &t
	}
	for _, f := range pt.failures {
		rs.RecentFailures = pushRelayFailure(rs.RecentFailures, f)
	}
	count := pt.checkIns
	if mode == addCounts && st.CheckIn != nil {
		count += st.CheckIn.Count
	}
	if st.CheckIn == nil && (count > 0 || pt.checkedInNow) {
		st.CheckIn = &sharev1.CheckInStatus{}
	}
	if st.CheckIn != nil {
		st.CheckIn.Count = count
		if pt.checkedInNow {
			st.CheckIn.LastCheckInTime = &t
		}
	}
}

// pushRelayFailure puts a failure at the head of a project's bounded list,
// once per item: a newer failure of the same item replaces the older.
func pushRelayFailure(list []sharev1.Failure, f sharev1.Failure) []sharev1.Failure {
	out := make([]sharev1.Failure, 0, len(list)+1)
	out = append(out, f)
	for _, old := range list {
		if old.Subject != f.Subject {
			out = append(out, old)
		}
	}
	if len(out) > sharev1.MaxRecentFailures {
		out = out[:sharev1.MaxRecentFailures]
	}
	return out
}

// --- rescans ---

// rescan is a read of the whole feed from its beginning that retries failed
// items and relays held ones, tallying every item (see the package notes in
// relay_controller.go). It lives in memory only.
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

func (rs *rescan) retries(number string) bool { return rs.linkRetry != "" || rs.retry[number] }

// planRescan starts a rescan when a retry is requested on the link or one
// of its projects, or a project that holds items is no longer suspended.
func (r *RelayReconciler) planRescan(ctx context.Context, run *relayRun) error {
	if run.mem.rescan != nil {
		return nil
	}
	rs := &rescan{retry: map[string]bool{}, projectRetry: map[string]string{}}
	if v := run.link.Annotations[sharev1.AnnotationRetryRequestedAt]; v != "" && v != run.link.Status.LastHandledRetryAt {
		rs.linkRetry = v
	}
	start := rs.linkRetry != ""
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
		if v := p.Annotations[sharev1.AnnotationRetryRequestedAt]; v != "" && v != p.Status.LastHandledRetryAt {
			rs.retry[number] = true
			rs.projectRetry[p.Name] = v
			start = true
		}
		start = start || (p.Status.Relay.Pending > 0 && !p.Spec.Suspend)
	}
	if start {
		ctrl.LoggerFrom(ctx).Info("rescanning the item feed", "linkRetry", rs.linkRetry, "projectRetries", len(rs.projectRetry))
		run.mem.rescan = rs
	}
	return nil
}

// wantsRescan: a retry request not handled yet, or held items of a project
// no longer suspended.
func wantsRescan(p *sharev1.SharedProject) bool {
	if v := p.Annotations[sharev1.AnnotationRetryRequestedAt]; v != "" && v != p.Status.LastHandledRetryAt {
		return true
	}
	return p.Status.Relay.Pending > 0 && !p.Spec.Suspend
}

// rescanPage reads and relays one page of the rescan; at the end of the feed
// it writes the counts it tallied.
func (r *RelayReconciler) rescanPage(ctx context.Context, run *relayRun) (passResult, error) {
	rs := run.mem.rescan
	resp, err := run.rl.listItems(ctx, rs.cursor, relayPageSize)
	if err == nil {
		err = checkPage(resp)
	}
	if err != nil {
		return interrupted(err), nil
	}
	results, passErr := r.runPage(ctx, run, resp.Items, rs.retries)
	if passErr != nil {
		// The page is read again; what relayed meanwhile shows as
		// published then.
		return interrupted(passErr), nil
	}
	rs.tally.add(results, run.now, nil)
	if resp.Cursor != "" {
		rs.cursor = resp.Cursor
	}
	if resp.More {
		return requeueAfter(nextPageDelay), nil
	}
	if err := r.finishRescan(ctx, run); err != nil {
		return passResult{}, err
	}
	return requeueAfter(jitter(r.Interval)), nil
}

// finishRescan replaces the counts of the link and its projects with the
// rescan's tally, records the retry requests handled, and moves the cursor
// to the end of the feed. Projects are written first, from a fresh list, so
// that held items are on record before the cursor moves.
func (r *RelayReconciler) finishRescan(ctx context.Context, run *relayRun) error {
	rs := run.mem.rescan
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
		applyProjectTally(&p.Status, rs.tally.projects[p.Spec.WorkOrderNumber], run.now, setAll)
		if v, ok := rs.projectRetry[p.Name]; ok {
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
	st.Relayed, st.Failed = rs.tally.relayed, rs.tally.failed
	st.Cursor = rs.cursor
	setPending(st, max(held, rs.tally.pending), run.now)
	if rs.linkRetry != "" {
		run.link.Status.LastHandledRetryAt = rs.linkRetry
	}
	run.mem.rescan = nil
	ctrl.LoggerFrom(ctx).Info("rescanned the item feed", "relayed", st.Relayed, "failed", st.Failed, "held", st.Pending)
	return nil
}
