package controllers

// Tallies: a page's or a rescan's items counted by outcome, for the link and
// each project, and how a tally goes into a project's status.

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// projectTally counts a project's items of a page or a rescan by outcome.
type projectTally struct {
	// failed may be negative on a page: failures resolved.
	relayed, failed, pending, checkIns int32
	// relayedNow and checkedInNow say an item or a check-in relayed in this
	// pass, for the last-relay times.
	relayedNow, checkedInNow bool
	// failures are the items this pass saw refused, oldest first.
	failures []sharev1.Failure
	// resolved are the failure subjects of items that relayed in this pass
	// after failing: their entries leave the project's list.
	resolved map[string]bool
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
				if pt.resolved == nil {
					pt.resolved = map[string]bool{}
				}
				pt.resolved[failureSubject(uuid)] = true
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
				msg = "refused by the provider (reported by an earlier pass, its reason not kept)"
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
	relay := &st.Relay
	switch mode {
	case addHeld:
		relay.Pending += pt.pending
		return
	case addCounts:
		relay.Relayed += pt.relayed
		relay.Failed = max(relay.Failed+pt.failed, 0)
	case setAll:
		relay.Relayed, relay.Failed, relay.Pending = pt.relayed, pt.failed, pt.pending
	}
	t := metav1.NewTime(now)
	if pt.relayedNow {
		relay.LastRelayTime = &t
	}
	relay.RecentFailures = dropFailures(relay.RecentFailures, pt.resolved)
	for _, f := range pt.failures {
		relay.RecentFailures = pushRelayFailure(relay.RecentFailures, f)
	}
	relay.RecentFailures = pruneFailures(relay.RecentFailures, now, sharev1.FailureRetention, sharev1.MaxProjectFailures)
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
