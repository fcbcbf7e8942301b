package controllers

// Step tests of rescans (relay_rescan.go): held items and retry requests.

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// Items of a suspended project are held, on record, while the cursor goes
// on; when the project resumes, a rescan relays them.
func TestRelayHoldsItemsOfSuspendedProjects(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.updateProject("7002", func(p *sharev1.SharedProject) { p.Spec.Suspend = true })
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	rt.feed.release("7002", "held", protocol.FileTypePicture, photo(2))
	rt.feed.release("7001", "b", protocol.FileTypePicture, photo(3))

	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.provider.attemptsOf("held")).To(BeZero())
	g.Expect(rt.feed.status("held")).To(Equal(protocol.RelayPendingQA))
	l := rt.link()
	g.Expect(l.Status.Relay.Cursor).To(Equal("c3"))
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(l.Status.Relay.Pending).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
	g.Expect(rt.project("7002").Status.Relay.Pending).To(BeEquivalentTo(1))

	// Still suspended: nothing more.
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors).To(Equal([]string{"", "c3"}))

	rt.updateProject("7002", func(p *sharev1.SharedProject) { p.Spec.Suspend = false })
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors[2]).To(BeEmpty(), "the rescan reads from the beginning")
	g.Expect(rt.provider.attemptsOf("held")).To(Equal(1))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "a settled item is tallied, not sent again")
	l = rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	p := rt.project("7002")
	g.Expect(p.Status.Relay.Pending).To(BeZero())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))

	// The rescan is over: the next pass reads after the cursor.
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors[len(rt.feed.cursors)-1]).To(Equal("c3"))
}

// A retry request on a project retries its failed items; one on the link
// retries every failed item; each is recorded as handled.
func TestRelayRetryRequests(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	refused := &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 400, Kind: protocol.KindRefused, Message: "the file is not a picture"}
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if strings.HasPrefix(it.UUID, "bad") {
			return refused
		}
		return nil
	})
	rt.feed.release("7001", "bad1", protocol.FileTypePicture, photo(1))
	rt.feed.release("7002", "bad2", protocol.FileTypePicture, photo(2))
	rt.feed.release("7002", "ok", protocol.FileTypePicture, photo(3))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(2))

	retryProjectFailures(rt)
	retryLinkFailures(rt)
	republishFailedItem(rt, refused)
}

// retryProjectFailures: a retry request on project 7001 retries its
// failed item alone.
func retryProjectFailures(rt *relayTest) {
	rt.t.Helper()
	g := rt.g
	// The provider accepts them now; retry 7001's only.
	rt.provider.setRefuse(nil)
	rt.updateProject("7001", func(p *sharev1.SharedProject) {
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, sharev1.AnnotationRetryRequestedAt, "r1")
	})
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("bad1")).To(Equal(protocol.RelayPublished))
	g.Expect(rt.feed.status("bad2")).To(Equal(protocol.RelayFailed))
	p := rt.project("7001")
	g.Expect(p.Status.LastHandledRetryAt).To(Equal("r1"))
	g.Expect(p.Status.Relay.Failed).To(BeZero())
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(p.Status.Relay.RecentFailures).To(BeEmpty(), "a handled retry clears the failures it retried")
	g.Expect(rt.project("7002").Status.Relay.RecentFailures).To(HaveLen(1), "a project not retried keeps its failures")
	l := rt.link()
	g.Expect(l.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(l.Status.LastHandledRetryAt).To(BeEmpty())
}

// retryLinkFailures: a retry request on the link retries every failed
// item.
func retryLinkFailures(rt *relayTest) {
	rt.t.Helper()
	g := rt.g
	// A retry on the link takes every failed item.
	rt.updateLink(func(l *sharev1.ShareLink) {
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRetryRequestedAt, "l1")
	})
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("bad2")).To(Equal(protocol.RelayPublished))
	l := rt.link()
	g.Expect(l.Status.LastHandledRetryAt).To(Equal("l1"))
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	g.Expect(rt.project("7002").Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7002").Status.Relay.RecentFailures).To(BeEmpty(), "a retry of the link clears every project's")
	g.Expect(rt.provider.attemptsOf("ok")).To(Equal(1))
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRecovered))
}

// republishFailedItem: an item staff publish again comes back at the end
// of the feed, counts once while refused, and is resolved when relayed.
func republishFailedItem(rt *relayTest, refused error) {
	rt.t.Helper()
	g := rt.g
	// Staff publishing a failed item again sends it to the end of the feed:
	// the main pass takes it.
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "late" {
			return refused
		}
		return nil
	})
	rt.feed.release("7001", "late", protocol.FileTypePicture, photo(4))
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(1))
	// Published again and refused again: still one failed item.
	rt.feed.republish("late")
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.status("late")).To(Equal(protocol.RelayFailed))
	g.Expect(rt.link().Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.RecentFailures).To(HaveLen(1), "one entry per item")
	// Published again and accepted: the failure is resolved.
	rt.provider.setRefuse(nil)
	rt.feed.republish("late")
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.project("7001").Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7001").Status.Relay.RecentFailures).To(BeEmpty(), "an item that relays leaves the list")
	g.Expect(rt.feed.status("late")).To(Equal(protocol.RelayPublished))
	l := rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(4))
	g.Expect(l.Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7001").Status.Relay.Failed).To(BeZero())
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))
}
