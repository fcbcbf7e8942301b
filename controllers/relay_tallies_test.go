package controllers

import (
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// A check-in travels without content and counts on the project.
func TestRelayCheckInCounts(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.feed.release("7001", "ci", protocol.FileTypeCheckIn, nil)
	rt.feed.release("7001", "pic", protocol.FileTypePicture, photo(1))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.opened["ci"]).To(BeZero(), "a check-in without content is not downloaded")
	g.Expect(rt.provider.stored).To(HaveKey("ci"))
	p := rt.project("7001")
	g.Expect(p.Status.CheckIn).NotTo(BeNil())
	g.Expect(p.Status.CheckIn.Count).To(BeEquivalentTo(1))
	g.Expect(p.Status.CheckIn.LastCheckInTime).NotTo(BeNil())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(2))
}

func pageItem(number, uuid, fileType string, outcome itemOutcome, fresh bool, message string) *itemResult {
	return &itemResult{feed: protocol.FeedItem{Item: protocol.Item{UUID: uuid, WorkOrderNumber: number, FileType: fileType}},
		outcome: outcome, fresh: fresh, message: message}
}

// A page counts what it settled and held; a failure its project counts
// already is not counted twice, and relaying it resolves it.
func TestRelayTallyAdd(t *testing.T) {
	g := NewWithT(t)
	results := []*itemResult{
		pageItem("7001", "a", protocol.FileTypePicture, outcomePublished, true, ""),
		pageItem("7001", "ci", protocol.FileTypeCheckIn, outcomePublished, false, ""),
		pageItem("7001", "b", protocol.FileTypePicture, outcomeFailed, true, "not a picture"),
		pageItem("7001", "old", protocol.FileTypePicture, outcomePublished, true, ""), // failed before
		pageItem("7002", "c", protocol.FileTypePicture, outcomeFailed, false, ""),     // reported by an earlier pass
		pageItem("7002", "h", protocol.FileTypePicture, outcomeHeld, false, ""),
		pageItem("7002", "u", protocol.FileTypePicture, outcomeUnsettled, false, ""),
	}
	counted := func(_, uuid string) bool { return uuid == "old" }
	var page relayTally
	page.add(results, t0, counted)
	g.Expect([]int64{page.relayed, page.failed, page.pending}).To(Equal([]int64{3, 1, 1}))
	p1, p2 := page.projects["7001"], page.projects["7002"]
	g.Expect([]int32{p1.relayed, p1.failed, p1.checkIns}).To(Equal([]int32{3, 0, 1}))
	g.Expect(p1.relayedNow).To(BeTrue())
	g.Expect(p1.checkedInNow).To(BeFalse(), "the check-in was found published")
	g.Expect(p1.failures).To(HaveLen(1))
	g.Expect(p1.failures[0].Message).To(Equal("not a picture"))
	g.Expect([]int32{p2.failed, p2.pending}).To(Equal([]int32{1, 1}))
	g.Expect(p2.failures).To(HaveLen(1))
	g.Expect(p2.failures[0].Message).To(ContainSubstring("reported by an earlier pass"))

	// A rescan counts every item afresh and records no old failure again.
	var scan relayTally
	scan.add(results, t0, nil)
	g.Expect([]int64{scan.relayed, scan.failed, scan.pending}).To(Equal([]int64{3, 2, 1}))
	g.Expect(scan.projects["7002"].failures).To(BeEmpty())
}

func TestApplyProjectTally(t *testing.T) {
	g := NewWithT(t)
	fail := sharev1.Failure{Time: metav1.NewTime(t0), Subject: "b", Reason: sharev1.ReasonRelayFailed, Message: "not a picture"}
	pt := &projectTally{relayed: 2, failed: 1, pending: 1, checkIns: 1, relayedNow: true, checkedInNow: true,
		failures: []sharev1.Failure{fail}}
	st := sharev1.SharedProjectStatus{Relay: sharev1.ProjectRelayStatus{Relayed: 5, Failed: 1, Pending: 2},
		CheckIn: &sharev1.CheckInStatus{Count: 4}}

	held := *st.DeepCopy()
	applyProjectTally(&held, pt, t0, addHeld)
	g.Expect(held.Relay).To(Equal(sharev1.ProjectRelayStatus{Relayed: 5, Failed: 1, Pending: 3}), "the held items alone")

	counts := *st.DeepCopy()
	applyProjectTally(&counts, pt, t0, addCounts)
	g.Expect([]int32{counts.Relay.Relayed, counts.Relay.Failed, counts.Relay.Pending}).To(Equal([]int32{7, 2, 2}))
	g.Expect(counts.Relay.LastRelayTime.Time).To(Equal(t0))
	g.Expect(counts.Relay.RecentFailures).To(Equal([]sharev1.Failure{fail}))
	g.Expect(counts.CheckIn.Count).To(BeEquivalentTo(5))
	g.Expect(counts.CheckIn.LastCheckInTime.Time).To(Equal(t0))

	all := *st.DeepCopy()
	applyProjectTally(&all, pt, t0, setAll)
	g.Expect([]int32{all.Relay.Relayed, all.Relay.Failed, all.Relay.Pending, all.CheckIn.Count}).To(Equal([]int32{2, 1, 1, 1}))

	// A rescan that found nothing of a project zeroes its counts.
	applyProjectTally(&all, nil, t0, setAll)
	g.Expect([]int32{all.Relay.Relayed, all.Relay.Failed, all.Relay.Pending, all.CheckIn.Count}).To(Equal([]int32{0, 0, 0, 0}))

	// Resolved failures never take the count below zero.
	low := sharev1.SharedProjectStatus{}
	applyProjectTally(&low, &projectTally{failed: -2}, t0, addCounts)
	g.Expect(low.Relay.Failed).To(BeZero())
	g.Expect(low.CheckIn).To(BeNil(), "no check-in: no check-in status")
}

// The list keeps one entry per item, newest first, and is bounded.
func TestPushRelayFailure(t *testing.T) {
	g := NewWithT(t)
	var list []sharev1.Failure
	for i := range sharev1.MaxProjectFailures + 2 {
		list = pushRelayFailure(list, sharev1.Failure{Time: metav1.NewTime(t0), Subject: fmt.Sprintf("i%d", i)})
	}
	g.Expect(list).To(HaveLen(sharev1.MaxProjectFailures))
	g.Expect(list[0].Subject).To(Equal(fmt.Sprintf("i%d", sharev1.MaxProjectFailures+1)))
	list = pushRelayFailure(list, sharev1.Failure{Time: metav1.NewTime(t0), Subject: "i3", Message: "again"})
	g.Expect(list).To(HaveLen(sharev1.MaxProjectFailures))
	g.Expect(list[0]).To(Equal(sharev1.Failure{Time: metav1.NewTime(t0), Subject: "i3", Message: "again"}))
	n := 0
	for _, f := range list {
		if f.Subject == "i3" {
			n++
		}
	}
	g.Expect(n).To(Equal(1))
}
