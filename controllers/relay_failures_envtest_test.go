package controllers_test

// Issue #5, continued: the relay through operator restarts, provider faults
// and a provider's permanent refusal, in the world of relay_envtest_test.go.

import (
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

// TestRelayOperatorRestarts: 60 photos relay while the operator is killed
// and started again at random points, three times; the provider ends with
// exactly the 60, and only items in flight at a kill were sent twice. The
// vendor's feed answers pages of 7, so that a kill may land while a pass
// has one page committing and the next relaying.
func TestRelayOperatorRestarts(t *testing.T) {
	const photos, rounds, concurrency = 60, 3, 2
	rw := newRelayWorld(t, true, accountserver.WithLimits(accountserver.Limits{FeedPage: 7}))
	g := rw.g
	numbers := []string{"7401", "7402", "7403"}
	rw.createProviderOrders(numbers...)
	op := rw.startRelayLink(numbers)
	// Slow the relay down, so that the kills land in the middle of it: the
	// provider answers each upload after 80ms, the vendor each report after
	// 40ms.
	g.Expect(rw.prov.InjectFault(accountserver.Fault{Call: accountserver.CallUploadPictures, Kind: accountserver.FaultLatency, Latency: 80 * time.Millisecond})).To(Succeed())
	g.Expect(rw.srv.InjectFault(accountserver.Fault{Call: accountserver.CallItemResults, Kind: accountserver.FaultLatency, Latency: 40 * time.Millisecond})).To(Succeed())
	for i := range photos {
		rw.crewPhoto(numbers[i%3], i, 20_000)
	}

	seed := time.Now().UnixNano()
	t.Logf("random seed %d", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 7))
	for round := range rounds {
		time.Sleep(time.Duration(300+rnd.IntN(900)) * time.Millisecond)
		done := len(rw.providerItems(g, numbers...))
		op.stop(t)
		t.Logf("round %d: killed the operator with %d of %d photos at the provider", round+1, done, photos)
		op = rw.startOperator(rw.relayConfig)
	}
	rw.waitRelayed(photos, numbers...)
	uploads := rw.prov.Requests(accountserver.CallUploadPictures)
	t.Logf("%d uploads for %d photos", uploads, photos)
	// In flight at a kill: an item streaming (concurrency at once) or
	// uploaded and not yet reported (a report's worth more, eight, gathered
	// while the transfers go on). The provider keeps one copy of each
	// whatever.
	g.Expect(uploads).To(BeNumerically("<=", photos+rounds*(concurrency+8)), "only items in flight are sent again")

	// The link's totals move with its cursor: exact, whatever the kills.
	g.Eventually(func(g Gomega) {
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(photos))
		g.Expect(l.Status.Relay.Failed).To(BeZero())
		g.Expect(l.Status.Relay.Pending).To(BeZero())
	}).Should(Succeed())

	// A retry request on the link rescans the feed and recounts every
	// project: no item is sent again, and the counts are exact.
	rw.prov.ClearFaults()
	rw.srv.ClearFaults()
	rw.annotate(linkName, sharev1.AnnotationRetryRequestedAt, "recount")
	g.Eventually(func(g Gomega) {
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.LastHandledRetryAt).To(Equal("recount"))
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(photos))
		total := int32(0)
		for _, n := range numbers {
			total += rw.project(g, linkName, n).Status.Relay.Relayed
		}
		g.Expect(total).To(BeEquivalentTo(photos))
	}).Should(Succeed())
	g.Expect(rw.prov.Requests(accountserver.CallUploadPictures)).To(Equal(uploads))
}

// TestRelayProviderFaults: the provider answers 503 for a while, then 429
// with Retry-After, times out, cuts answers short and sends garbage; every
// photo relays once the faults stop, none twice, and the link says what
// happened with one event each way.
func TestRelayProviderFaults(t *testing.T) {
	const photos = 5
	rw := newRelayWorld(t, true)
	rw.idleTimeout = time.Second // an upload the provider does not answer fails after 1s
	g := rw.g
	numbers := []string{"7501"}
	rw.createProviderOrders(numbers...)
	rw.startRelayLink(numbers)

	upload := func(f accountserver.Fault) accountserver.Fault {
		f.Call, f.Account = accountserver.CallUploadPictures, providerAccount
		return f
	}
	g.Expect(rw.prov.InjectFault(upload(accountserver.Fault{Kind: accountserver.FaultStatus, Status: 503}))).To(Succeed())
	for i := range photos {
		rw.crewPhoto("7501", i, 30_000)
	}
	// While the provider is down: nothing at the provider, the backlog and
	// its age in status, a warning on the link.
	g.Eventually(func(g Gomega) {
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Pending).To(BeNumerically(">", 0))
		g.Expect(l.Status.Relay.OldestPendingTime).NotTo(BeNil())
		g.Expect(rw.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonRelayFailed))
	}).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(rw.providerItems(g, numbers...)).To(BeEmpty())
	}, "1s", "100ms").Should(Succeed())
	g.Expect(rw.prov.Requests(accountserver.CallUploadPictures)).To(BeNumerically("<=", 20), "backoff: no retry storm")

	// The outage ends in a series of other faults.
	rw.prov.ClearFaults()
	for _, f := range []accountserver.Fault{
		{Kind: accountserver.FaultStatus, Status: 429, RetryAfter: time.Second, Times: 2},
		{Kind: accountserver.FaultLatency, Latency: 3 * time.Second, Times: 2},
		{Kind: accountserver.FaultTruncate, Times: 2},
		{Kind: accountserver.FaultGarbage, Times: 1},
		{Kind: accountserver.FaultDrop, Times: 1},
	} {
		g.Expect(rw.prov.InjectFault(upload(f))).To(Succeed())
	}
	rw.waitRelayed(photos, numbers...)
	g.Expect(rw.prov.Faults()).To(BeEmpty(), "every fault was met")
	g.Expect(rw.prov.Requests(accountserver.CallUploadPictures)).To(BeNumerically(">", photos+8))
	g.Eventually(func(g Gomega) {
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(photos))
		g.Expect(l.Status.Relay.Failed).To(BeZero())
		g.Expect(l.Status.Relay.Pending).To(BeZero())
		g.Expect(l.Status.Relay.OldestPendingTime).To(BeNil())
		reasons := rw.eventReasons(g, "ShareLink", linkName)
		g.Expect(reasons).To(ContainElement(sharev1.ReasonRecovered))
	}).Should(Succeed())
	rw.expectNoSecretsAnywhere(g)
}

// TestRelayPermanentRefusal: the provider no longer has one project for the
// vendor; its photos are marked failed with the reason, the others relay;
// once the provider assigns it again, a retry request on the project
// relays them.
func TestRelayPermanentRefusal(t *testing.T) {
	rw := newRelayWorld(t, false)
	g := rw.g
	numbers := []string{"7601", "7602"}
	rw.createProviderOrders(numbers...)
	rw.startRelayLink(numbers)
	for i := range 4 {
		rw.crewPhoto(numbers[i%2], i, 10_000)
	}
	_, err := rw.prov.UnassignOrder(rw.ctx, providerAccount, "7602")
	g.Expect(err).NotTo(HaveOccurred())
	for _, n := range numbers {
		_, err := rw.srv.PublishItems(rw.ctx, vendorAccount, projectName(n))
		g.Expect(err).NotTo(HaveOccurred())
	}

	var refused []string
	g.Eventually(func(g Gomega) {
		refused = nil
		for _, it := range rw.vendorItems(g, numbers...) {
			if strings.HasSuffix(it.Project, "7602") {
				g.Expect(it.RelayStatus).To(Equal(protocol.RelayFailed))
				g.Expect(it.RelayMessage).To(ContainSubstring("no work order"))
				refused = append(refused, it.UUID)
			} else {
				g.Expect(it.RelayStatus).To(Equal(protocol.RelayPublished))
			}
		}
		g.Expect(rw.providerItems(g, "7601")).To(HaveLen(2))
	}).Should(Succeed())
	sort.Strings(refused)
	g.Eventually(func(g Gomega) {
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(2))
		g.Expect(l.Status.Relay.Failed).To(BeEquivalentTo(2))
		c := relayedCondition(l)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(sharev1.ReasonRelayFailed))
		g.Expect(l.IsReady()).To(BeTrue(), "a refused photo does not stop the link")
		p := rw.project(g, linkName, "7602")
		g.Expect(p.Status.Relay.Failed).To(BeEquivalentTo(2))
		var subjects []string
		for _, f := range p.Status.Relay.RecentFailures {
			g.Expect(f.Reason).To(Equal(sharev1.ReasonRelayFailed))
			g.Expect(f.Message).To(ContainSubstring("no work order"))
			subjects = append(subjects, f.Subject)
		}
		sort.Strings(subjects)
		g.Expect(subjects).To(Equal(refused))
		g.Expect(rw.eventReasons(g, "SharedProject", p.Name)).To(ContainElement(sharev1.ReasonRelayFailed))
		g.Expect(rw.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonRelayFailed))
	}).Should(Succeed())

	// The provider assigns the order again; the vendor asks for a retry of
	// the project.
	_, err = rw.prov.AssignOrder(rw.ctx, providerAccount, "7602", vendorLogin)
	g.Expect(err).NotTo(HaveOccurred())
	name := sharev1.SharedProjectName(linkName, "7602")
	g.Eventually(func(g Gomega) {
		p := rw.project(g, linkName, "7602")
		metav1.SetMetaDataAnnotation(&p.ObjectMeta, sharev1.AnnotationRetryRequestedAt, "after-reassign")
		g.Expect(rw.c.Update(rw.ctx, p)).To(Succeed())
	}).Should(Succeed())
	rw.waitRelayed(4, numbers...)
	g.Eventually(func(g Gomega) {
		p := rw.project(g, linkName, "7602")
		g.Expect(p.Status.LastHandledRetryAt).To(Equal("after-reassign"))
		g.Expect(p.Status.Relay.Failed).To(BeZero())
		g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(2))
		l := getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(4))
		g.Expect(l.Status.Relay.Failed).To(BeZero())
		g.Expect(relayedCondition(l).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(rw.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonRecovered))
	}).Should(Succeed(), name)
	rw.expectNoSecretsAnywhere(g)
}
