package controllers

import (
	"math"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/event"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

func TestSetRelayed(t *testing.T) {
	g := NewWithT(t)
	l := linkWith(nil)
	setRelayed(l, t0)
	c := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	l.Status.Relay.Failed = 2
	setRelayed(l, t0)
	c = meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal(sharev1.ReasonRelayFailed))
	g.Expect(c.Message).To(ContainSubstring("2 items"))
	l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: false}
	setRelayed(l, t0)
	g.Expect(meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)).To(BeNil())
	// Relayed is not one of Ready's concerns.
	g.Expect(linkConcerns).NotTo(ContainElement(sharev1.ConditionRelayed))
}

// The Relayed condition status.relay calls for, and the same condition
// applied to a link: one computation for setRelayed and the predicate.
func TestRelayOutcomeOf(t *testing.T) {
	off := &sharev1.PhotoRelaySpec{Enabled: false}
	tests := []struct {
		name      string
		relay     *sharev1.PhotoRelaySpec
		failed    int64
		pending   int32
		since     time.Duration // how long the oldest pending item waits
		want      relayOutcome
		condition bool
	}{
		{name: "none failed", want: relayOutcome{relays: true, status: metav1.ConditionTrue, reason: sharev1.ReasonSucceeded,
			message: "no item failed to relay"}, condition: true},
		{name: "some failed", failed: 3, want: relayOutcome{relays: true, status: metav1.ConditionFalse, reason: sharev1.ReasonRelayFailed,
			message: "3 items failed to relay; annotate " + sharev1.AnnotationRetryRequestedAt + " to retry"}, condition: true},
		{name: "relay off", relay: off, failed: 3, want: relayOutcome{}},
		{name: "young backlog", pending: 34, since: relayBacklogAge - time.Second, want: relayOutcome{relays: true, status: metav1.ConditionTrue,
			reason: sharev1.ReasonSucceeded, message: "no item failed to relay"}, condition: true},
		{name: "old backlog", pending: 34, since: relayBacklogAge, want: relayOutcome{relays: true, status: metav1.ConditionFalse, reason: reasonRelayBacklog,
			message: "34 items wait to be relayed since 2026-11-28T11:50:00Z, longer than 10m0s"}, condition: true},
		{name: "failed and old backlog", failed: 1, pending: 34, since: time.Hour, want: relayOutcome{relays: true, status: metav1.ConditionFalse,
			reason: sharev1.ReasonRelayFailed, message: relayFailedMessage(1)}, condition: true},
		{name: "old backlog, relay off", relay: off, pending: 34, since: time.Hour, want: relayOutcome{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			l := linkWith(func(l *sharev1.ShareLink) {
				l.Spec.PhotoRelay = tc.relay
				l.Status.Relay.Failed = tc.failed
				if tc.pending > 0 {
					setPending(&l.Status.Relay, int64(tc.pending), t0.Add(-tc.since))
				}
			})
			g.Expect(relayOutcomeOf(l, t0)).To(Equal(tc.want))
			// A stale condition is replaced, or removed when the relay is off.
			sharev1.SetCondition(l, sharev1.ConditionRelayed, metav1.ConditionUnknown, "Stale", "stale")
			relayOutcomeOf(l, t0).setOn(l)
			c := meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
			if !tc.condition {
				g.Expect(c).To(BeNil())
				return
			}
			g.Expect(c).NotTo(BeNil())
			g.Expect([]string{string(c.Status), c.Reason, c.Message}).To(Equal([]string{string(tc.want.status), tc.want.reason, tc.want.message}))
		})
	}
}

// The import looks again when the Relayed condition status.relay calls for
// changes, and only then.
func TestRelayOutcomeChanged(t *testing.T) {
	g := NewWithT(t)
	withFailed := func(n int64) *sharev1.ShareLink {
		return linkWith(func(l *sharev1.ShareLink) { l.Status.Relay.Failed = n })
	}
	update := func(o, n *sharev1.ShareLink) bool {
		return RelayOutcomeChanged(clocktesting.NewFakeClock(t0)).Update(event.UpdateEvent{ObjectOld: o, ObjectNew: n})
	}
	g.Expect(update(withFailed(0), withFailed(2))).To(BeTrue(), "items start failing")
	g.Expect(update(withFailed(2), withFailed(3))).To(BeTrue(), "the message counts them")
	g.Expect(update(withFailed(2), withFailed(0))).To(BeTrue(), "every item relayed")
	busy := withFailed(2)
	busy.Status.Relay.Relayed, busy.Status.Relay.Cursor = 40, "c40"
	g.Expect(update(withFailed(2), busy)).To(BeFalse(), "progress alone changes nothing of Relayed")
	// A backlog starting or ending wakes the import, to look again when it
	// grows old; its growing alone does not.
	pending := func(n int64, since time.Duration) *sharev1.ShareLink {
		l := withFailed(0)
		setPending(&l.Status.Relay, n, t0.Add(-since))
		return l
	}
	g.Expect(update(withFailed(0), pending(3, 0))).To(BeTrue(), "a backlog starts")
	g.Expect(update(pending(3, 0), pending(5, 0))).To(BeFalse(), "a young backlog grows")
	g.Expect(update(pending(3, time.Minute), pending(5, time.Hour))).To(BeTrue(), "the backlog is old")
	g.Expect(update(pending(3, 0), withFailed(0))).To(BeTrue(), "the backlog is relayed")
	g.Expect(RelayOutcomeChanged(clocktesting.NewFakeClock(t0)).Create(event.CreateEvent{Object: withFailed(1)})).To(BeFalse())
}

// relayBacklogDue says when the link must look again at its backlog.
func TestRelayBacklogDue(t *testing.T) {
	g := NewWithT(t)
	var st sharev1.LinkRelayStatus
	g.Expect(relayBacklogDue(st, t0)).To(BeNumerically("<", 0))
	setPending(&st, 34, t0)
	g.Expect(relayBacklogDue(st, t0.Add(time.Minute))).To(Equal(relayBacklogAge - time.Minute))
	g.Expect(relayBacklogDue(st, t0.Add(time.Hour))).To(BeZero())
}

func TestSetPending(t *testing.T) {
	g := NewWithT(t)
	var st sharev1.LinkRelayStatus
	setPending(&st, 3, t0)
	g.Expect(st.Pending).To(BeEquivalentTo(3))
	g.Expect(st.OldestPendingTime.Time).To(Equal(t0))
	setPending(&st, 5, t0.Add(time.Minute))
	g.Expect(st.Pending).To(BeEquivalentTo(5))
	g.Expect(st.OldestPendingTime.Time).To(Equal(t0), "the backlog started at its oldest item")
	setPending(&st, 0, t0.Add(2*time.Minute))
	g.Expect(st.Pending).To(BeZero())
	g.Expect(st.OldestPendingTime).To(BeNil())
	setPending(&st, math.MaxInt64, t0)
	g.Expect(st.Pending).To(BeEquivalentTo(math.MaxInt32))
}

func TestProjectRelayFailedMessage(t *testing.T) {
	g := NewWithT(t)
	st := sharev1.ProjectRelayStatus{Failed: 2}
	g.Expect(projectRelayFailedMessage(st)).To(Equal("2 items failed to relay"))
	st.RecentFailures = []sharev1.Failure{{Subject: "b", Message: "not a picture"}, {Subject: "a", Message: "older"}}
	g.Expect(projectRelayFailedMessage(st)).To(Equal("2 items failed to relay: not a picture"))
}
