package controllers

// Step tests of a page of the feed (relay_page.go), with the world of
// relay_controller_test.go.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// The cursor never passes an item that is not settled: a transient failure
// leaves it where it was, and the next pass sends only what is not yet at
// the provider.
func TestRelayCursorWaitsForUnsettledItems(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	rt.feed.release("7001", "b", protocol.FileTypePicture, photo(2))
	rt.feed.release("7002", "c", protocol.FileTypePicture, photo(3))
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "b" {
			return transient("Service Unavailable")
		}
		return nil
	})

	_, err := rt.reconcile()
	g.Expect(err).To(MatchError(ContainSubstring("Service Unavailable")))
	l := rt.link()
	g.Expect(l.Status.Relay.Cursor).To(BeEmpty(), "the cursor must not pass b")
	g.Expect(l.Status.Relay.Relayed).To(BeZero())
	g.Expect(l.Status.Relay.Pending).To(BeEquivalentTo(2), "b and c are read and not relayed")
	g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
	g.Expect(rt.feed.status("a")).To(Equal(protocol.RelayPublished))
	g.Expect(rt.feed.status("b")).To(Equal(protocol.RelayPendingQA))
	g.Expect(rt.provider.attemptsOf("c")).To(BeZero(), "nothing new starts after a transient failure")
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRelayFailed))

	// The provider recovers; the same page is read again.
	rt.provider.setRefuse(nil)
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically(">=", time.Minute))
	g.Expect(rt.feed.cursors).To(Equal([]string{"", ""}))
	g.Expect(rt.provider.attemptsOf("a")).To(Equal(1), "a was settled: not sent again")
	g.Expect(rt.provider.attemptsOf("b")).To(Equal(2))
	g.Expect(rt.provider.attemptsOf("c")).To(Equal(1))
	l = rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 3, Cursor: "c3"}))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(2))
	g.Expect(rt.project("7002").Status.Relay.Relayed).To(BeEquivalentTo(1))
	g.Expect(rt.project("7001").Status.Relay.LastRelayTime).NotTo(BeNil())
	g.Expect(strings.Join(rt.events(), "\n")).To(ContainSubstring(sharev1.ReasonRecovered))
	g.Expect(rt.provider.stored["a"].ServiceName).To(Equal("Grass Cut"))
}

// A permanent refusal of one item marks it failed with its reason and does
// not hold back the others.
func TestRelayPermanentFailureDoesNotBlockOthers(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	for i, uuid := range []string{"a", "b", "c", "d"} {
		rt.feed.release("7001", uuid, protocol.FileTypePicture, photo(i))
	}
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "b" {
			return &protocol.APIError{Call: protocol.CallUploadPictures, StatusCode: 404, Kind: protocol.KindNotFound,
				Message: `no work order "7001" for user "fieldco"`}
		}
		return nil
	})
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	l := rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(3))
	g.Expect(l.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(l.Status.Relay.Cursor).To(Equal("c4"))
	g.Expect(rt.feed.status("b")).To(Equal(protocol.RelayFailed))
	var report protocol.ItemResultRequest
	for _, r := range rt.feed.reports {
		if r.UUID == "b" {
			report = r
		}
	}
	g.Expect(report.Message).To(ContainSubstring("no work order"))
	p := rt.project("7001")
	g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(3))
	g.Expect(p.Status.Relay.Failed).To(BeEquivalentTo(1))
	g.Expect(p.Status.Relay.RecentFailures).To(HaveLen(1))
	g.Expect(p.Status.Relay.RecentFailures[0].Subject).To(Equal("b"))
	g.Expect(p.Status.Relay.RecentFailures[0].Reason).To(Equal(sharev1.ReasonRelayFailed))
	g.Expect(p.Status.Relay.RecentFailures[0].Message).To(ContainSubstring("no work order"))
	g.Expect(meta.FindStatusCondition(p.Status.Conditions, sharev1.ConditionRelayed)).To(BeNil(), "the relay writes no condition")
	evs := strings.Join(rt.events(), "\n")
	g.Expect(strings.Count(evs, sharev1.ReasonRelayFailed)).To(Equal(2), "one event on the link, one on the project: %s", evs)

	// Nothing new: an idle pass reads one page and writes nothing.
	rv := rt.link().ResourceVersion
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().ResourceVersion).To(Equal(rv))
	g.Expect(rt.vendorF.Calls("ListItems")).To(Equal(2))
	g.Expect(rt.provF.Calls("UploadItem")).To(Equal(4))
	g.Expect(rt.events()).To(BeEmpty())
}

// After a crash in the middle of a page, only the items in flight travel
// again; the counts are exact, since they move with the cursor.
func TestRelayAfterCrashSendsOnlyInFlightItems(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	const items = 24
	for i := range items {
		rt.feed.release("7001", fmt.Sprintf("i%d", i), protocol.FileTypePicture, photo(i))
	}
	ctx, kill := context.WithCancel(context.Background())
	rt.ctx = ctx
	rt.provider.setRefuse(func(ctx context.Context, it protocol.Item) error {
		if it.UUID == "i15" {
			kill() // the process dies while i15 (and perhaps i14 or i16) is on its way
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	_, err := rt.reconcile()
	g.Expect(err).To(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Cursor).To(BeEmpty())

	rt.restart()
	rt.ctx = context.Background()
	rt.provider.setRefuse(nil)
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	resent := 0
	for i := range items {
		uuid := fmt.Sprintf("i%d", i)
		g.Expect(rt.feed.status(uuid)).To(Equal(protocol.RelayPublished), uuid)
		g.Expect(rt.provider.attemptsOf(uuid)).To(BeNumerically(">=", 1))
		resent += rt.provider.attemptsOf(uuid) - 1
	}
	// In flight: streaming (concurrency 2) or uploaded and not yet reported
	// (a report's worth more, gathered while the transfers go on).
	g.Expect(resent).To(BeNumerically("<=", 2+relayReportBatch), "only the items in flight are sent again")
	g.Expect(rt.provider.stored).To(HaveLen(items))
	l := rt.link()
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(items))
	g.Expect(l.Status.Relay.Cursor).To(Equal(fmt.Sprintf("c%d", items)))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(items))
}

func TestClassify(t *testing.T) {
	suspended := &sharev1.SharedProject{Spec: sharev1.SharedProjectSpec{Suspend: true}}
	active := &sharev1.SharedProject{}
	tests := []struct {
		status string
		p      *sharev1.SharedProject
		retry  bool
		want   itemOutcome
	}{
		{protocol.RelayPendingQA, active, false, outcomeUnsettled},
		{protocol.RelayPendingQA, nil, false, outcomeUnsettled},
		{"", active, false, outcomeUnsettled},
		{protocol.RelayPendingQA, suspended, false, outcomeHeld},
		{protocol.RelayPublished, suspended, true, outcomePublished},
		{protocol.RelayFailed, active, false, outcomeFailed},
		{protocol.RelayFailed, active, true, outcomeUnsettled},
		{protocol.RelayFailed, suspended, true, outcomeFailed},
	}
	for _, tc := range tests {
		fi := &protocol.FeedItem{RelayStatus: tc.status}
		NewWithT(t).Expect(classify(fi, tc.p, tc.retry)).To(Equal(tc.want), "%+v", tc)
	}
}

// A feed that answers items without a cursor cannot be followed: nothing
// relays and the cursor stays, as after any transient failure.
func TestRelayRefusesPageWithoutCursor(t *testing.T) {
	rt := newRelayTest(t, 1)
	g := rt.g
	rt.feed.release("7001", "a", protocol.FileTypePicture, photo(1))
	rt.vendorF.ListItemsFunc = func(ctx context.Context, pushKey, cursor string, limit int) (*protocol.ItemFeedResponse, error) {
		resp, err := rt.feed.listItems(ctx, pushKey, cursor, limit)
		if resp != nil {
			resp.Cursor = ""
		}
		return resp, err
	}
	_, err := rt.reconcile()
	g.Expect(err).To(MatchError(ContainSubstring("without a cursor")))
	g.Expect(rt.provF.Calls("UploadItem")).To(BeZero())
	g.Expect(rt.link().Status.Relay.Cursor).To(BeEmpty())
}

// releaseMany releases n small photos, alternating between 7001 and 7002,
// with uuids i0, i1, ….
func (rt *relayTest) releaseMany(n int) {
	for i := range n {
		rt.feed.release([]string{"7001", "7002"}[i%2], fmt.Sprintf("i%d", i), protocol.FileTypePicture, []byte(fmt.Sprint(i)))
	}
}

// A pass goes from one page to the next without coming back: each page is
// committed in order, the next read with the cursor of the one before.
func TestRelayPassRelaysPagesInOrder(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.releaseMany(2*relayPageSize + 50)
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(BeNumerically(">=", time.Minute), "the feed has no more: back at the interval")
	g.Expect(rt.feed.cursors).To(Equal([]string{"", "c100", "c200"}))
	l := rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 250, Cursor: "c250"}))
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(125))
	g.Expect(rt.project("7002").Status.Relay.Relayed).To(BeEquivalentTo(125))
	g.Expect(rt.provider.stored).To(HaveLen(250))
	for i := range 250 {
		g.Expect(rt.provider.attemptsOf(fmt.Sprintf("i%d", i))).To(Equal(1))
	}
}

// A failure on the second page: the first is committed, the cursor stays
// before the second, and the next pass sends only what is not at the
// provider yet.
func TestRelayPassCommitsPagesBeforeAFailure(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.releaseMany(2*relayPageSize + 50)
	rt.provider.setRefuse(func(_ context.Context, it protocol.Item) error {
		if it.UUID == "i150" {
			return transient("Service Unavailable")
		}
		return nil
	})
	_, err := rt.reconcile()
	g.Expect(err).To(MatchError(ContainSubstring("Service Unavailable")))
	l := rt.link()
	g.Expect(l.Status.Relay.Cursor).To(Equal("c100"))
	g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(100))
	// i150 and what had not started when it failed are read and not
	// relayed; the other slot may have gone on for a few items meanwhile.
	g.Expect(l.Status.Relay.Pending).To(BeNumerically(">=", 1))
	g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
	g.Expect(rt.project("7001").Status.Relay.Relayed + rt.project("7002").Status.Relay.Relayed).To(BeEquivalentTo(100))

	rt.provider.setRefuse(nil)
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	l = rt.link()
	g.Expect(l.Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 250, Cursor: "c250"}))
	g.Expect(rt.provider.stored).To(HaveLen(250))
	for i := range 150 {
		g.Expect(rt.provider.attemptsOf(fmt.Sprintf("i%d", i))).To(Equal(1), "i%d was settled before the failure", i)
	}
	g.Expect(rt.provider.attemptsOf("i150")).To(Equal(2))
}

// A pass ends after relayPassPages pages and comes back at once for the
// rest.
func TestRelayPassStopsAfterItsPages(t *testing.T) {
	rt := newRelayTest(t, 4)
	g := rt.g
	rt.releaseMany(relayPassPages*relayPageSize + 5)
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(nextPageDelay))
	g.Expect(rt.feed.cursors).To(HaveLen(relayPassPages))
	g.Expect(rt.link().Status.Relay.Relayed).To(BeEquivalentTo(relayPassPages * relayPageSize))
	g.Expect(rt.provF.Calls("UploadItem")).To(Equal(relayPassPages*relayPageSize), "the page after the pass's last is not read")

	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.link().Status.Relay.Relayed).To(BeEquivalentTo(relayPassPages*relayPageSize + 5))
}

// A pass reads no new page once it has run for relayPassTime: here the
// clock moves past it while the second page is read, so the pass ends
// with that page.
func TestRelayPassStopsAfterItsTime(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	rt.releaseMany(3*relayPageSize + 1)
	rt.feed.onList = func(cursor string) {
		if cursor == "c100" {
			rt.clock.Step(relayPassTime)
		}
	}
	res, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.RequeueAfter).To(Equal(nextPageDelay))
	g.Expect(rt.feed.cursors).To(Equal([]string{"", "c100"}))
	g.Expect(rt.link().Status.Relay).To(Equal(sharev1.LinkRelayStatus{Relayed: 200, Cursor: "c200"}))
}

// projectGets counts the SharedProjects read through a client.Reader.
type projectGets struct {
	client.Reader
	mu sync.Mutex
	n  int
}

func (c *projectGets) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*sharev1.SharedProject); ok {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.Reader.Get(ctx, key, obj, opts...)
}

// A pass reads each project from the API server once, before its first
// write: after that, the answer to its own write is as fresh (only the
// link's relay writes a project's relay counts). The next pass reads again.
func TestRelayPassReadsEachProjectOnce(t *testing.T) {
	rt := newRelayTest(t, 2)
	g := rt.g
	gets := &projectGets{Reader: rt.c}
	rt.r.APIReader = gets
	rt.releaseMany(3*relayPageSize + 10)
	_, err := rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(rt.feed.cursors).To(HaveLen(4))
	g.Expect(gets.n).To(Equal(2), "7001 and 7002, once each over four pages")
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(155))
	g.Expect(rt.project("7002").Status.Relay.Relayed).To(BeEquivalentTo(155))

	rt.releaseMany(2) // i0 and i1 again under the same uuids: new items of the feed
	_, err = rt.reconcile()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(gets.n).To(Equal(4), "a new pass reads afresh")
	g.Expect(rt.project("7001").Status.Relay.Relayed).To(BeEquivalentTo(156))
}
