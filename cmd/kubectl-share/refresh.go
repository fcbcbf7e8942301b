package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func newRefreshCmd(o *options) *cobra.Command {
	r := refreshOptions{timeout: 5 * time.Minute}
	cmd := &cobra.Command{
		Use:   "refresh LINK",
		Short: "Ask a link for a refresh (or a full import) and, with --wait, follow it to its outcome",
		Long: `refresh sets the link's share.pruvan.io/refresh-requested-at annotation (with
--full, full-import-requested-at), as a tap on the bookmark does.

With --wait it shows the refresh's progress (projects pulled from the provider
and applied to the vendor account, as the link and its projects write it in
status) until the link records the request as handled, then tells what the
refresh created, updated, cancelled, deleted and reactivated, and what failed.
It exits 0 only if the link is then Ready; 1 when it is not (or it stalled,
needing a person); 2 when --timeout passed first.`,
		Example: `  kubectl share refresh acme
  kubectl share refresh acme --wait
  kubectl share refresh acme --full --wait --timeout 30m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			return o.refresh(cmd.Context(), args[0], r)
		},
	}
	cmd.Flags().BoolVar(&r.full, "full", false, "ask for a full import rather than an incremental refresh")
	cmd.Flags().BoolVar(&r.wait, "wait", false, "follow the refresh until the link has handled it, and exit 0 only if the link is Ready")
	cmd.Flags().DurationVar(&r.timeout, "timeout", r.timeout, "with --wait, how long to wait")
	return cmd
}

type refreshOptions struct {
	full, wait bool
	timeout    time.Duration
}

// stallGrace is how long a link that was already stalled before the
// request may stay so, unchanged, before the wait believes it: a request
// makes the operator try again, and a fixed Secret may unstall it.
const stallGrace = 15 * time.Second

func (o *options) refresh(ctx context.Context, name string, r refreshOptions) error {
	l, err := o.linkNamed(ctx, name)
	if err != nil {
		return err
	}
	key, what := sharev1.AnnotationRefreshRequestedAt, "a refresh"
	if r.full {
		key, what = sharev1.AnnotationFullImportRequestedAt, "a full import"
	}
	var tr *tracker
	if r.wait {
		// The projects as they were before the request: the outcome is
		// the difference.
		if tr, err = o.startTracker(ctx, l); err != nil {
			return err
		}
		if r.full {
			tr.what = "the full import"
		}
	}
	start := o.now()
	value := requestValue(start)
	if err := o.annotate(ctx, l, key, value); err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "Asked ShareLink %s/%s for %s: %s=%s\n", l.Namespace, name, what, key, value)
	if l.Spec.Suspend {
		fmt.Fprintf(o.streams.ErrOut, "warning: ShareLink %s is suspended: the request waits until spec.suspend is false\n", name)
		if r.wait {
			return &exitError{code: exitFailed, err: fmt.Errorf("not waiting for a suspended link")}
		}
	}
	if !r.wait {
		fmt.Fprintf(o.streams.Out, "Follow it with: kubectl share status %s (or kubectl share refresh %s --wait)\n", name, name)
		return nil
	}
	return o.follow(ctx, r.timeout, tr, l, r.full, value, start)
}

// readTimeout bounds each read of the link while waiting.
const readTimeout = 10 * time.Second

// follow shows progress until the link handles the request, then the
// outcome. A read that fails (the API server restarting, a network blip)
// is shown and tried again until the timeout; a link deleted meanwhile
// ends the wait.
func (o *options) follow(ctx context.Context, timeout time.Duration, tr *tracker, l *sharev1.ShareLink, full bool, value string, start time.Time) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	trackCtx, stopTracking := context.WithCancel(ctx)
	defer stopTracking()
	go tr.run(trackCtx)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	pr := newProgress(o.streams.Out, o.colors(o.streams.Out), o.now)
	defer pr.stop()
	stalledBefore := condition(l.Status.Conditions, sharev1.ConditionStalled)
	baseRV := ""
	ticker := time.NewTicker(pr.interval())
	defer ticker.Stop()
	var cur *sharev1.ShareLink
	var readErr error
	for {
		now := &sharev1.ShareLink{}
		getCtx, cancel := context.WithTimeout(ctx, readTimeout)
		readErr = c.Get(getCtx, client.ObjectKeyFromObject(l), now)
		cancel()
		switch {
		case readErr == nil:
			cur = now
		case ctx.Err() != nil:
			pr.stop()
			return ctx.Err()
		case apierrors.IsNotFound(readErr):
			pr.stop()
			return fmt.Errorf("ShareLink %s was deleted while waiting", l.Name)
		}
		if readErr != nil {
			pr.show(progressState{link: l.Name, phase: "cannot read the link: " + truncate(readErr.Error(), 80),
				counts: tr.counts(), elapsed: o.now().Sub(start)})
		} else if cur != nil {
			if baseRV == "" {
				baseRV = cur.ResourceVersion
			}
			handled := cur.Status.LastHandledRefreshAt
			if full {
				handled = cur.Status.LastHandledFullImportAt
			}
			if handled == value {
				pr.clear()
				stopTracking()
				return o.outcome(ctx, tr, cur, start)
			}
			if st := condition(cur.Status.Conditions, sharev1.ConditionStalled); st != nil && st.Status == metav1.ConditionTrue &&
				stalledForUs(st, stalledBefore, start, o.now(), cur.ResourceVersion != baseRV) {
				pr.stop()
				fmt.Fprintf(o.streams.Out, "%s ShareLink %s is stalled and needs a person: %s: %s\n",
					pr.p.bad("✗"), l.Name, words(st.Reason), st.Message)
				fmt.Fprintf(o.streams.Out, "The request stays recorded; the link handles it once fixed. Details: kubectl share status %s\n", l.Name)
				return &silentExit{code: exitFailed}
			}
			pr.show(progressLine(cur, tr.counts(), o.now().Sub(start)))
		}
		select {
		case <-ctx.Done():
			pr.stop()
			return ctx.Err()
		case <-deadline.C:
			pr.stop()
			msg := "the operator has not handled the request"
			if readErr != nil {
				msg += "; the last read of the link failed: " + readErr.Error()
			} else if cur != nil {
				state, m := readyWords(cur.Status.Conditions)
				msg += fmt.Sprintf("; ShareLink %s is %s: %s", l.Name, state, m)
			}
			return &exitError{code: exitTimeout, err: fmt.Errorf("timed out after %s: %s", o.now().Sub(start).Round(time.Second), msg)}
		case <-ticker.C:
		}
	}
}

// stalledForUs says whether a Stalled condition answers the request rather
// than being left from before it: it changed since the request, or the
// operator wrote the link since, or it has stood unchanged for stallGrace.
func stalledForUs(st, before *metav1.Condition, start, now time.Time, written bool) bool {
	if before == nil || before.Status != metav1.ConditionTrue {
		return true
	}
	if !st.LastTransitionTime.Time.Before(start.Add(-time.Second)) || st.Message != before.Message || written {
		return true
	}
	return now.Sub(start) > stallGrace
}

// progressLine says where the refresh stands.
func progressLine(l *sharev1.ShareLink, n progressCounts, elapsed time.Duration) progressState {
	phase := "waiting for the operator to take the request"
	rec := condition(l.Status.Conditions, sharev1.ConditionReconciling)
	switch {
	case l.Status.IntegrationState == sharev1.IntegrationRunning:
		phase = "importing the provider's orders"
		if rec != nil && rec.Message != "" {
			phase = rec.Message
		}
	case rec != nil && rec.Status == metav1.ConditionTrue && rec.Reason != sharev1.ReasonProgressing:
		phase = fmt.Sprintf("%s: %s", rec.Message, readyReason(l))
	}
	return progressState{link: l.Name, phase: phase, counts: n, elapsed: elapsed}
}

func readyReason(l *sharev1.ShareLink) string {
	c := readyOf(l.Status.Conditions)
	if c == nil {
		return "no word yet"
	}
	return fmt.Sprintf("%s, %s", words(c.Reason), c.Message)
}

// outcome tells what the refresh did, from a fresh list of the projects,
// and ends with the link's Ready.
func (o *options) outcome(ctx context.Context, tr *tracker, l *sharev1.ShareLink, start time.Time) error {
	after := map[string]projectState{}
	err := o.eachProject(ctx, l.Namespace, projectQuery{link: l.Name}, func(p *sharev1.SharedProject) {
		after[p.Name] = stateOf(p)
	})
	if err != nil {
		return err
	}
	ch := diffProjects(tr.before, after)
	var linkFailed []sharev1.Failure
	for _, f := range l.Status.RecentFailures {
		if !f.Time.Time.Before(start.Add(-time.Second)) {
			linkFailed = append(linkFailed, f)
		}
	}
	w := o.streams.Out
	p := o.colors(w)
	fmt.Fprintf(w, "%s handled in %s:\n", strings.ToUpper(tr.what[:1])+tr.what[1:], o.now().Sub(start).Round(100*time.Millisecond))
	tw := newTable(w)
	for _, row := range []struct {
		label   string
		numbers []string
	}{
		{"created", ch.created}, {"updated", ch.updated}, {"cancelled", ch.cancelled},
		{"deleted", ch.deleted}, {"reactivated", ch.reactivated}, {"failed", ch.failed},
	} {
		count := fmt.Sprint(len(row.numbers))
		if row.label == "failed" && len(row.numbers) > 0 {
			count = p.bad(count)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", row.label, count, p.dim(listNumbers(row.numbers, 8)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := l.Status.RefusedOrders; n > 0 {
		fmt.Fprintf(w, "  the pull refused %s orders it could not store\n", p.bad(fmt.Sprint(n)))
	}
	for _, f := range linkFailed {
		subject := ""
		if f.Subject != "" {
			subject = " " + f.Subject
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", p.bad("✗"), words(f.Reason), subject, truncate(f.Message, 160))
	}
	if len(ch.failed) > 0 || len(linkFailed) > 0 {
		fmt.Fprintf(w, "  details: kubectl share failures %s\n", l.Name)
	}
	state, msg := readyWords(l.Status.Conditions)
	if l.IsReady() {
		fmt.Fprintf(w, "%s ShareLink %s is %s: %s\n", p.good("✓"), l.Name, p.good(state), msg)
		return nil
	}
	fmt.Fprintf(w, "%s ShareLink %s is %s: %s\n", p.bad("✗"), l.Name, p.bad(state), msg)
	return &silentExit{code: exitFailed}
}

// listNumbers lists up to n work-order numbers.
func listNumbers(numbers []string, n int) string {
	if len(numbers) <= n {
		return strings.Join(numbers, ", ")
	}
	return strings.Join(numbers[:n], ", ") + fmt.Sprintf(" and %d more", len(numbers)-n)
}

// projectState is what the wait keeps of a project: enough to count
// progress and tell transitions, a small part of a SharedProject.
type projectState struct {
	number       string
	generation   int64
	observed     int64
	created      bool
	clientStatus string
	// applied is the Applied condition's status, "" when absent.
	applied     metav1.ConditionStatus
	lastApplied time.Time
}

func stateOf(p *sharev1.SharedProject) projectState {
	s := projectState{number: p.Spec.WorkOrderNumber, generation: p.Generation, observed: p.Status.ObservedGeneration,
		created: p.Status.Created, clientStatus: p.Status.ClientStatus}
	if c := condition(p.Status.Conditions, sharev1.ConditionApplied); c != nil {
		s.applied = c.Status
	}
	if p.Status.LastAppliedTime != nil {
		s.lastApplied = p.Status.LastAppliedTime.Time
	}
	return s
}

// pulled: new since the request, or its order changed.
func pulled(before map[string]projectState, name string, now projectState) bool {
	b, ok := before[name]
	return !ok || now.generation > b.generation
}

// settledNow: written for its generation, applied or refused.
func (s projectState) settledNow() bool { return s.observed == s.generation && s.applied != "" }

// changes are the work-order numbers by what the refresh did to them.
type changes struct {
	created, updated, cancelled, deleted, reactivated, failed []string
}

func diffProjects(before, after map[string]projectState) changes {
	var ch changes
	for name, a := range after {
		b, existed := before[name]
		touched := !existed || a.generation > b.generation || !a.lastApplied.Equal(b.lastApplied) ||
			a.clientStatus != b.clientStatus || a.applied != b.applied
		if !touched {
			continue
		}
		switch {
		case a.applied == metav1.ConditionFalse && a.observed == a.generation:
			ch.failed = append(ch.failed, a.number)
		case !existed || !b.created && a.created:
			ch.created = append(ch.created, a.number)
		case a.clientStatus == b.clientStatus:
			ch.updated = append(ch.updated, a.number)
		case a.clientStatus == sharev1.ClientStatusCancelled:
			ch.cancelled = append(ch.cancelled, a.number)
		case a.clientStatus == sharev1.ClientStatusDeleted:
			ch.deleted = append(ch.deleted, a.number)
		case !sharev1.IsActiveClientStatus(b.clientStatus):
			ch.reactivated = append(ch.reactivated, a.number)
		default:
			ch.updated = append(ch.updated, a.number)
		}
	}
	for _, l := range [][]string{ch.created, ch.updated, ch.cancelled, ch.deleted, ch.reactivated, ch.failed} {
		sortNumbers(l)
	}
	return ch
}

// sortNumbers sorts work-order numbers, numerically where they are numbers
// of one length.
func sortNumbers(s []string) {
	sort.Slice(s, func(i, j int) bool {
		if len(s[i]) != len(s[j]) {
			return len(s[i]) < len(s[j])
		}
		return s[i] < s[j]
	})
}

// --- following the projects ---

// tracker follows a link's projects with a watch from a list, so progress
// costs one list and then only the changes, however many projects.
type tracker struct {
	o      *options
	link   *sharev1.ShareLink
	what   string
	before map[string]projectState
	rv     string

	mu     sync.Mutex
	latest progressCounts
}

// progressCounts are the projects the refresh has pulled, and of those the
// ones applied and refused.
type progressCounts struct {
	pulled, applied, refused int
}

func (o *options) startTracker(ctx context.Context, l *sharev1.ShareLink) (*tracker, error) {
	tr := &tracker{o: o, link: l, what: "the refresh", before: map[string]projectState{}}
	rv, err := tr.list(ctx, tr.before)
	if err != nil {
		return nil, err
	}
	tr.rv = rv
	return tr, nil
}

// list reads every project of the link into m, page by page, and returns
// the list's resourceVersion to watch from.
func (tr *tracker) list(ctx context.Context, m map[string]projectState) (string, error) {
	c, err := tr.o.client()
	if err != nil {
		return "", err
	}
	q := projectQuery{link: tr.link.Name}
	cont, rv := "", ""
	for {
		var list sharev1.SharedProjectList
		if err := c.List(ctx, &list, client.InNamespace(tr.link.Namespace), q.selector(), client.Limit(listPage), client.Continue(cont)); err != nil {
			return "", tr.o.explain(fmt.Errorf("listing the SharedProjects of %s: %w", tr.link.Name, err))
		}
		if rv == "" {
			rv = list.ResourceVersion
		}
		for i := range list.Items {
			if q.matches(&list.Items[i]) {
				m[list.Items[i].Name] = stateOf(&list.Items[i])
			}
		}
		if cont = list.Continue; cont == "" {
			return rv, nil
		}
	}
}

// run watches the projects until ctx ends, publishing progress counts. A
// watch that ends (the API server closes watches now and then, or the
// resourceVersion expired) is replaced, after a fresh list.
func (tr *tracker) run(ctx context.Context) {
	cur := make(map[string]projectState, len(tr.before))
	for k, v := range tr.before {
		cur[k] = v
	}
	rv := tr.rv
	for ctx.Err() == nil {
		if rv == "" {
			fresh := map[string]projectState{}
			r, err := tr.list(ctx, fresh)
			if err != nil {
				if !sleepCtx(ctx, time.Second) {
					return
				}
				continue
			}
			cur, rv = fresh, r
			tr.publish(cur)
		}
		rv = tr.watch(ctx, cur, rv)
	}
}

// watch applies one watch's events to cur; it returns the resourceVersion
// to go on from, or "" to list again.
func (tr *tracker) watch(ctx context.Context, cur map[string]projectState, rv string) string {
	c, err := tr.o.client()
	if err != nil {
		return ""
	}
	w, err := c.Watch(ctx, &sharev1.SharedProjectList{}, client.InNamespace(tr.link.Namespace), projectQuery{link: tr.link.Name}.selector(),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
	if err != nil {
		sleepCtx(ctx, time.Second)
		return ""
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			p, isProject := ev.Object.(*sharev1.SharedProject)
			switch {
			case ev.Type == watch.Error || !isProject:
				return ""
			case ev.Type == watch.Bookmark:
			case ev.Type == watch.Deleted:
				delete(cur, p.Name)
			default:
				if p.Spec.LinkName == tr.link.Name {
					cur[p.Name] = stateOf(p)
				}
			}
			if isProject {
				rv = p.ResourceVersion
			}
			tr.publish(cur)
		}
	}
}

// publish hands the counts to the display without blocking the watch.
func (tr *tracker) publish(cur map[string]projectState) {
	var n progressCounts
	for name, s := range cur {
		if !pulled(tr.before, name, s) {
			continue
		}
		n.pulled++
		if !s.settledNow() {
			continue
		}
		switch s.applied {
		case metav1.ConditionTrue:
			n.applied++
		case metav1.ConditionFalse:
			n.refused++
		}
	}
	tr.mu.Lock()
	tr.latest = n
	tr.mu.Unlock()
}

// counts are the latest progress counts.
func (tr *tracker) counts() progressCounts {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.latest
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// --- the progress display ---

// progressState is one moment of the refresh.
type progressState struct {
	link    string
	phase   string
	counts  progressCounts
	elapsed time.Duration
}

func (s progressState) text(p palette) string {
	n := s.counts
	refused := fmt.Sprint(n.refused)
	if n.refused > 0 {
		refused = p.bad(refused)
	}
	return fmt.Sprintf("%s: %s · %d pulled · %d applied · %s refused", s.link, s.phase, n.pulled, n.applied, refused)
}

// progress draws the state: on a terminal one line redrawn in place with a
// spinner; elsewhere a line each time the state changes.
type progress struct {
	w     io.Writer
	p     palette
	tty   bool
	width int
	now   func() time.Time
	frame int
	last  string
	drawn bool
}

func newProgress(w io.Writer, p palette, now func() time.Time) *progress {
	return &progress{w: w, p: p, tty: isTerminal(w), width: terminalWidth(w), now: now}
}

func (pr *progress) interval() time.Duration {
	if pr.tty {
		return 150 * time.Millisecond
	}
	return 500 * time.Millisecond
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (pr *progress) show(s progressState) {
	if !pr.tty {
		line := s.text(palette{})
		if line != pr.last {
			fmt.Fprintf(pr.w, "  %s (%s)\n", line, s.elapsed.Round(time.Second))
			pr.last = line
		}
		return
	}
	pr.frame++
	plain := fmt.Sprintf("%s %s (%s)", spinner[pr.frame%len(spinner)], s.text(palette{}), s.elapsed.Round(time.Second))
	if pr.width > 0 && len([]rune(plain)) >= pr.width {
		// A wrapped line cannot be redrawn in place.
		fmt.Fprintf(pr.w, "\r\x1b[K%s", truncate(plain, pr.width-1))
	} else {
		fmt.Fprintf(pr.w, "\r\x1b[K%s %s (%s)", pr.p.warn(spinner[pr.frame%len(spinner)]), s.text(pr.p), s.elapsed.Round(time.Second))
	}
	pr.drawn = true
}

// clear removes the progress line: the outcome says the rest.
func (pr *progress) clear() {
	if pr.tty && pr.drawn {
		fmt.Fprint(pr.w, "\r\x1b[K")
		pr.drawn = false
	}
}

// stop leaves the last progress line on screen and ends it.
func (pr *progress) stop() {
	if pr.tty && pr.drawn {
		fmt.Fprintln(pr.w)
		pr.drawn = false
	}
}
