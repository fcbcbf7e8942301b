package controllers

// The relay's status computation: pure functions of status.relay, shared by
// the relay's writes and events, the import's Relayed condition (setRelayed)
// and the predicate that wakes the import when Relayed must change.

import (
	"fmt"
	"math"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// relayOutcome is the Relayed condition a link's status.relay calls for.
type relayOutcome struct {
	// relays is false when the link has relay off: it has no Relayed
	// condition then.
	relays  bool
	status  metav1.ConditionStatus
	reason  string
	message string
}

// relayBacklogAge is how long an item may wait to be relayed before the
// link's Relayed turns False (RelayBacklog): a relay keeps up within a few
// feed reads, so a backlog this old is stuck.
const relayBacklogAge = 10 * time.Minute

// reasonRelayBacklog is Relayed's reason while items wait longer than
// relayBacklogAge.
const reasonRelayBacklog = "RelayBacklog"

// relayOutcomeOf derives Relayed from status.relay at now: False
// RelayFailed while items failed, False RelayBacklog while the oldest
// pending item waits longer than relayBacklogAge, True otherwise. Relayed is
// not one of Ready's concerns: a photo the provider refuses must not stop
// the link.
func relayOutcomeOf(link *sharev1.ShareLink, now time.Time) relayOutcome {
	st := link.Status.Relay
	switch n := st.Failed; {
	case !link.Spec.RelayEnabled():
		return relayOutcome{}
	case n > 0:
		return relayOutcome{relays: true, status: metav1.ConditionFalse, reason: sharev1.ReasonRelayFailed, message: relayFailedMessage(n)}
	case relayBacklogDue(st, now) == 0:
		// The message names the backlog's start, not its age, so that it
		// changes only when the backlog does.
		return relayOutcome{relays: true, status: metav1.ConditionFalse, reason: reasonRelayBacklog,
			message: fmt.Sprintf("%d items wait to be relayed since %s, longer than %s",
				st.Pending, st.OldestPendingTime.UTC().Format(time.RFC3339), relayBacklogAge)}
	default:
		return relayOutcome{relays: true, status: metav1.ConditionTrue, reason: sharev1.ReasonSucceeded, message: "no item failed to relay"}
	}
}

// relayBacklogDue is how long until the backlog of st is relayBacklogAge
// old: zero once it is, negative when nothing is pending.
func relayBacklogDue(st sharev1.LinkRelayStatus, now time.Time) time.Duration {
	if st.Pending <= 0 || st.OldestPendingTime == nil {
		return -1
	}
	return max(st.OldestPendingTime.Add(relayBacklogAge).Sub(now), 0)
}

// setOn puts the outcome on the link as its Relayed condition.
func (o relayOutcome) setOn(link *sharev1.ShareLink) {
	if !o.relays {
		sharev1.RemoveCondition(link, sharev1.ConditionRelayed)
		return
	}
	sharev1.SetCondition(link, sharev1.ConditionRelayed, o.status, o.reason, o.message)
}

// relayFailedMessage says how many of a link's items failed and how to
// retry them: Relayed's message and the link's event.
func relayFailedMessage(n int64) string {
	return fmt.Sprintf("%d items failed to relay; annotate %s to retry", n, sharev1.AnnotationRetryRequestedAt)
}

// projectRelayFailedMessage is the event of a project whose items start
// failing: how many, and the latest reason.
func projectRelayFailedMessage(st sharev1.ProjectRelayStatus) string {
	msg := fmt.Sprintf("%d items failed to relay", st.Failed)
	if f := st.RecentFailures; len(f) > 0 {
		msg += ": " + f[0].Message
	}
	return msg
}

// RelayOutcomeChanged passes link updates that change the Relayed condition
// status.relay calls for, so that the import reconciler, which owns the
// conditions, derives Relayed again; and those where a backlog starts or
// ends, so that it looks again when the backlog grows old.
func RelayOutcomeChanged(clk clock.PassiveClock) predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*sharev1.ShareLink)
			n, ok2 := e.ObjectNew.(*sharev1.ShareLink)
			if !ok1 || !ok2 {
				return false
			}
			now := clk.Now()
			return relayOutcomeOf(o, now) != relayOutcomeOf(n, now) ||
				(o.Status.Relay.OldestPendingTime == nil) != (n.Status.Relay.OldestPendingTime == nil)
		},
	}
}

// setPending records the link's backlog and the time it started.
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
