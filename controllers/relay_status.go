package controllers

// The relay's status computation: pure functions of status.relay, shared by
// the relay's writes and events, the import's Relayed condition (setRelayed)
// and the predicate that wakes the import when Relayed must change.

import (
	"fmt"
	"math"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// relayOutcomeOf derives Relayed from status.relay: True while no item
// failed, False RelayFailed otherwise. Relayed is not one of Ready's
// concerns: a photo the provider refuses must not stop the link.
func relayOutcomeOf(link *sharev1.ShareLink) relayOutcome {
	switch n := link.Status.Relay.Failed; {
	case !link.Spec.RelayEnabled():
		return relayOutcome{}
	case n > 0:
		return relayOutcome{relays: true, status: metav1.ConditionFalse, reason: sharev1.ReasonRelayFailed, message: relayFailedMessage(n)}
	default:
		return relayOutcome{relays: true, status: metav1.ConditionTrue, reason: sharev1.ReasonSucceeded, message: "no item failed to relay"}
	}
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
// conditions, derives Relayed again.
func RelayOutcomeChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, ok1 := e.ObjectOld.(*sharev1.ShareLink)
			n, ok2 := e.ObjectNew.(*sharev1.ShareLink)
			return ok1 && ok2 && relayOutcomeOf(o) != relayOutcomeOf(n)
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
