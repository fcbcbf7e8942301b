package controllers_test

// Issue #5: the crew's photos and check-ins relay back to the provider.
//
// Each test runs two reference servers: the world's, which holds the
// vendor's own account (and the crew), and one of its own for the provider
// account, so that a fault of one side never touches the other.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// relayWorld is a world whose provider account lives on a server of its own.
type relayWorld struct {
	*world
	prov *accountserver.TestServer
	// idleTimeout is the protocol clients' idle timeout: long, so that a
	// busy machine causes no retry a test does not expect, unless a test
	// wants timeouts.
	idleTimeout time.Duration
}

// newRelayWorld makes the world, a provider server with the provider account
// and the vendor's sub-user, and sets the vendor integration's QA.
func newRelayWorld(t *testing.T, autoRelay bool) *relayWorld {
	t.Helper()
	w := newWorld(t)
	g, ctx := w.g, w.ctx
	prov := accountserver.NewTestServer(t)
	acct, err := prov.CreateAccount(ctx, providerAccount)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = prov.CreateUser(ctx, providerAccount, accountserver.NewUser{Username: vendorLogin, Role: accountserver.RoleCrew, Password: w.password})
	g.Expect(err).NotTo(HaveOccurred())
	w.providerToken = acct.Token
	g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: loginSecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyToken] = []byte(acct.Token)
		g.Expect(w.c.Update(ctx, s)).To(Succeed())
	}).Should(Succeed())
	_, err = w.srv.SetAutoRelay(ctx, vendorAccount, clientCode, autoRelay)
	g.Expect(err).NotTo(HaveOccurred())
	rw := &relayWorld{world: w, prov: prov, idleTimeout: 15 * time.Second}
	t.Cleanup(rw.dumpRelayOnFailure)
	return rw
}

func (rw *relayWorld) dumpRelayOnFailure() {
	if !rw.t.Failed() {
		return
	}
	rw.t.Logf("provider server requests: %v", rw.prov.RequestCounts())
	var list sharev1.SharedProjectList
	if err := rw.c.List(context.Background(), &list, client.InNamespace(rw.ns)); err == nil {
		for _, p := range list.Items {
			b, _ := json.Marshal(p.Status)
			rw.t.Logf("SharedProject %s (suspend %v): %s", p.Name, p.Spec.Suspend, b)
		}
	}
}

// createProviderOrders creates plain orders assigned to the vendor's
// sub-user in the provider account.
func (rw *relayWorld) createProviderOrders(numbers ...string) {
	rw.t.Helper()
	for _, n := range numbers {
		o := order(n)
		_, err := rw.prov.CreateOrder(rw.ctx, providerAccount, o)
		rw.g.Expect(err).NotTo(HaveOccurred(), "creating provider order %s", n)
	}
}

// startRelayLink starts the operator, creates the link against the two
// servers, and waits until the orders are imported and the link is Ready.
func (rw *relayWorld) startRelayLink(numbers []string, mutate ...func(*sharev1.ShareLink)) *operator {
	rw.t.Helper()
	op := rw.startOperator(rw.relayConfig)
	rw.createLink(linkName, append([]func(*sharev1.ShareLink){func(l *sharev1.ShareLink) {
		l.Spec.Provider.URL = rw.prov.AccountURL(providerAccount)
	}}, mutate...)...)
	rw.waitImported(linkName, numbers)
	rw.waitReady(linkName)
	return op
}

// relayConfig polls the feed often.
func (rw *relayWorld) relayConfig(c *controllers.Config) {
	c.RelayInterval = 200 * time.Millisecond
	c.CallTimeout = max(c.CallTimeout, rw.idleTimeout)
	c.Clients = controllers.HTTPClientFactory(protocol.WithIdleTimeout(rw.idleTimeout))
}

// photoMeta is what the crew's app sends with a photo.
func photoMeta(i int) protocol.Item {
	return protocol.Item{
		ServiceName:  "Grass Cut",
		EvidenceType: []string{"before", "during", "after"}[i%3],
		FileName:     fmt.Sprintf("yard-%03d.jpg", i),
		FileExt:      "jpg",
		Notes:        fmt.Sprintf("photo %d of the back yard", i),
		Timestamp:    1_900_000_000 + int64(i),
		GPSLatitude:  39.7817 + float64(i)/1e4,
		GPSLongitude: -89.6501,
		GPSAccuracy:  4.5,
		GPSTimestamp: 1_900_000_000 + int64(i),
	}
}

func photoContent(i, size int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(i*31 + j*7)
	}
	return b
}

// crewPhoto uploads a photo as crew1 does, to the vendor's project of an
// order.
func (rw *relayWorld) crewPhoto(number string, i, size int) accountserver.Item {
	rw.t.Helper()
	it, err := rw.srv.UploadItem(rw.ctx, vendorAccount, projectName(number), crew1, photoMeta(i), bytes.NewReader(photoContent(i, size)))
	rw.g.Expect(err).NotTo(HaveOccurred())
	return it
}

// providerItems lists the items the provider holds for orders, by uuid,
// failing on a uuid held twice.
func (rw *relayWorld) providerItems(g Gomega, numbers ...string) map[string]accountserver.Item {
	out := map[string]accountserver.Item{}
	for _, n := range numbers {
		items, err := rw.prov.ListItems(rw.ctx, providerAccount, n)
		g.Expect(err).NotTo(HaveOccurred())
		for _, it := range items {
			g.Expect(out).NotTo(HaveKey(it.UUID), "item %s is at the provider twice", it.UUID)
			out[it.UUID] = it
		}
	}
	return out
}

// vendorItems lists the vendor's items of orders.
func (rw *relayWorld) vendorItems(g Gomega, numbers ...string) []accountserver.Item {
	var out []accountserver.Item
	for _, n := range numbers {
		items, err := rw.srv.ListItems(rw.ctx, vendorAccount, projectName(n))
		g.Expect(err).NotTo(HaveOccurred())
		out = append(out, items...)
	}
	return out
}

// waitRelayed waits until every vendor item of the orders is published and
// the provider holds exactly those items, once each.
func (rw *relayWorld) waitRelayed(total int, numbers ...string) {
	rw.t.Helper()
	rw.g.Eventually(func(g Gomega) {
		vendor := rw.vendorItems(g, numbers...)
		g.Expect(vendor).To(HaveLen(total))
		at := rw.providerItems(g, numbers...)
		for _, it := range vendor {
			g.Expect(it.RelayStatus).To(Equal(protocol.RelayPublished), "item %s: %s", it.UUID, it.RelayMessage)
			g.Expect(at).To(HaveKey(it.UUID))
		}
		g.Expect(at).To(HaveLen(total))
	}, 2*timeout).Should(Succeed())
}

func (rw *relayWorld) expectNoSecretsAnywhere(g Gomega) {
	texts := rw.eventTexts(g)
	var links sharev1.ShareLinkList
	g.Expect(rw.c.List(rw.ctx, &links, client.InNamespace(rw.ns))).To(Succeed())
	var projects sharev1.SharedProjectList
	g.Expect(rw.c.List(rw.ctx, &projects, client.InNamespace(rw.ns))).To(Succeed())
	for _, o := range []any{links, projects} {
		b, err := json.Marshal(o)
		g.Expect(err).NotTo(HaveOccurred())
		texts = append(texts, string(b))
	}
	items, err := rw.srv.ListItems(rw.ctx, vendorAccount, "")
	g.Expect(err).NotTo(HaveOccurred())
	for _, it := range items {
		texts = append(texts, it.RelayMessage)
	}
	for _, text := range texts {
		for _, s := range rw.secrets() {
			g.Expect(text).NotTo(ContainSubstring(s))
		}
		g.Expect(text).NotTo(ContainSubstring("apiKey"))
	}
}

func relayedCondition(l *sharev1.ShareLink) *metav1.Condition {
	return meta.FindStatusCondition(l.Status.Conditions, sharev1.ConditionRelayed)
}

// TestRelayAutoRelay: under Auto Relay the crew's photos appear at the
// provider with their metadata and content, the vendor shows them
// published, and the counts are in status; an idle relay writes nothing.
func TestRelayAutoRelay(t *testing.T) {
	rw := newRelayWorld(t, true)
	g := rw.g
	numbers := []string{"7001", "7002"}
	rw.createProviderOrders(numbers...)
	rw.startRelayLink(numbers)

	sent := map[string]accountserver.Item{}
	sums := map[string]string{}
	for i := range 5 {
		n := numbers[i%2]
		it := rw.crewPhoto(n, i, 40_000+i)
		sent[it.UUID] = it
		sum := sha256.Sum256(photoContent(i, 40_000+i))
		sums[it.UUID] = hex.EncodeToString(sum[:])
	}
	rw.waitRelayed(5, numbers...)

	at := rw.providerItems(g, numbers...)
	for uuid, v := range sent {
		p := at[uuid]
		g.Expect(p.UploadedBy).To(Equal(vendorLogin), "recorded as the link's sub-user")
		g.Expect(p.SHA256).To(Equal(sums[uuid]), "the content arrived whole")
		g.Expect(p.Size).To(Equal(v.Size))
		g.Expect(p.Project).To(Equal(strings.TrimPrefix(v.Project, clientCode+"::")), "the provider's own order")
		m, want := p.Meta, v.Meta
		g.Expect(m.ServiceName).To(Equal(want.ServiceName))
		g.Expect(m.EvidenceType).To(Equal(want.EvidenceType))
		g.Expect(m.FileName).To(Equal(want.FileName))
		g.Expect(m.FileExt).To(Equal(want.FileExt))
		g.Expect(m.Notes).To(Equal(want.Notes))
		g.Expect(m.Timestamp).To(Equal(want.Timestamp))
		g.Expect(m.GPSLatitude).To(Equal(want.GPSLatitude))
		g.Expect(m.GPSLongitude).To(Equal(want.GPSLongitude))
		g.Expect(m.GPSAccuracy).To(Equal(want.GPSAccuracy))
		g.Expect(m.GPSTimestamp).To(Equal(want.GPSTimestamp))
		g.Expect(m.CreatedBy).To(Equal(crew1))
		g.Expect(p.CheckIn).To(BeFalse())
	}

	var l *sharev1.ShareLink
	g.Eventually(func(g Gomega) {
		l = getLink(g, rw.world, linkName)
		g.Expect(l.Status.Relay.Relayed).To(BeEquivalentTo(5))
		g.Expect(l.Status.Relay.Failed).To(BeZero())
		g.Expect(l.Status.Relay.Pending).To(BeZero())
		g.Expect(l.Status.Relay.OldestPendingTime).To(BeNil())
		g.Expect(l.Status.Relay.Cursor).NotTo(BeEmpty())
		c := relayedCondition(l)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		total := int32(0)
		for _, n := range numbers {
			p := rw.project(g, linkName, n)
			g.Expect(p.Status.Relay.LastRelayTime).NotTo(BeNil())
			total += p.Status.Relay.Relayed
		}
		g.Expect(total).To(BeEquivalentTo(5))
	}).Should(Succeed())
	g.Expect(l.IsReady()).To(BeTrue())

	// Idle: the feed is read every 200ms, one call a pass, and nothing is
	// written.
	rw.srv.ResetCounters()
	rv := l.ResourceVersion
	before := rw.resourceVersions(g)
	g.Eventually(func() int { return rw.srv.Requests(accountserver.CallItems) }).Should(BeNumerically(">=", 3))
	g.Expect(getLink(g, rw.world, linkName).ResourceVersion).To(Equal(rv))
	g.Expect(changedKeys(before, rw.resourceVersions(g))).To(BeEmpty())
	counts := rw.srv.RequestCounts()
	g.Expect(counts[accountserver.CallItemContent] + counts[accountserver.CallItemResult]).To(BeZero())
	g.Expect(rw.prov.Requests(accountserver.CallUploadPictures)).To(Equal(5))

	// The metrics count items and bytes by type and result.
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	g.Expect(names).To(HaveKey("share_relay_items_total"))
	g.Expect(names).To(HaveKey("share_relay_bytes_total"))
	rw.expectNoSecretsAnywhere(g)
}

// TestRelayBackOfficeQA: with back-office QA nothing relays until staff
// publish a project's items; then all of them do.
func TestRelayBackOfficeQA(t *testing.T) {
	rw := newRelayWorld(t, false)
	g := rw.g
	numbers := []string{"7301", "7302"}
	rw.createProviderOrders(numbers...)
	rw.startRelayLink(numbers)
	for i := range 6 {
		rw.crewPhoto(numbers[i%2], i, 10_000)
	}
	g.Consistently(func(g Gomega) {
		g.Expect(rw.providerItems(g, numbers...)).To(BeEmpty())
		for _, it := range rw.vendorItems(g, numbers...) {
			g.Expect(it.RelayStatus).To(Equal(protocol.RelayPendingQA))
		}
	}, "1500ms", "100ms").Should(Succeed())
	g.Expect(rw.srv.Requests(accountserver.CallItemContent)).To(BeZero())

	// Staff publish one project: only its items go.
	n, err := rw.srv.PublishItems(rw.ctx, vendorAccount, projectName("7301"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(n).To(Equal(3))
	rw.waitRelayed(3, "7301")
	g.Consistently(func(g Gomega) {
		g.Expect(rw.providerItems(g, "7302")).To(BeEmpty())
	}, "600ms", "100ms").Should(Succeed())

	_, err = rw.srv.PublishItems(rw.ctx, vendorAccount, projectName("7302"))
	g.Expect(err).NotTo(HaveOccurred())
	rw.waitRelayed(6, numbers...)
	g.Eventually(func(g Gomega) {
		g.Expect(getLink(g, rw.world, linkName).Status.Relay.Relayed).To(BeEquivalentTo(6))
	}).Should(Succeed())
}

// TestRelayOperatorRestarts: 60 photos relay while the operator is killed
// and started again at random points, three times; the provider ends with
// exactly the 60, and only items in flight at a kill were sent twice.
func TestRelayOperatorRestarts(t *testing.T) {
	const photos, rounds, concurrency = 60, 3, 2
	rw := newRelayWorld(t, true)
	g := rw.g
	numbers := []string{"7401", "7402", "7403"}
	rw.createProviderOrders(numbers...)
	op := rw.startRelayLink(numbers)
	// Slow the relay down, so that the kills land in the middle of it: the
	// provider answers each upload after 80ms, the vendor each report after
	// 40ms.
	g.Expect(rw.prov.InjectFault(accountserver.Fault{Call: accountserver.CallUploadPictures, Kind: accountserver.FaultLatency, Latency: 80 * time.Millisecond})).To(Succeed())
	g.Expect(rw.srv.InjectFault(accountserver.Fault{Call: accountserver.CallItemResult, Kind: accountserver.FaultLatency, Latency: 40 * time.Millisecond})).To(Succeed())
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
	g.Expect(uploads).To(BeNumerically("<=", photos+rounds*concurrency), "only items in flight are sent again")

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

// TestRelayCheckIn: a link with check-in on imports projects that ask for
// one; the crew's check-in relays and is recorded at the provider as a
// check-in by the link's sub-user.
func TestRelayCheckIn(t *testing.T) {
	rw := newRelayWorld(t, true)
	g := rw.g
	numbers := []string{"7701"}
	rw.createProviderOrders(numbers...)
	rw.startRelayLink(numbers, func(l *sharev1.ShareLink) {
		l.Spec.CheckIn = &sharev1.CheckInSpec{Enabled: true}
	})
	opts := rw.vendorOrder("7701").WorkOrder.Options
	g.Expect(opts).To(HaveKeyWithValue("check_in_required", "true"))
	g.Expect(opts).To(HaveKeyWithValue("check_in_provider", sharev1.DefaultCheckInProvider))

	ci, err := rw.srv.CheckIn(rw.ctx, vendorAccount, projectName("7701"), crew1, protocol.Item{
		CheckInID: "DL-4242", Notes: "on site, gate open",
		GPSLatitude: 39.7817, GPSLongitude: -89.6501, GPSAccuracy: 3, GPSTimestamp: 1_900_000_100, Timestamp: 1_900_000_100,
	})
	g.Expect(err).NotTo(HaveOccurred())
	rw.crewPhoto("7701", 1, 5_000)
	rw.waitRelayed(2, numbers...)

	at := rw.providerItems(g, numbers...)[ci.UUID]
	g.Expect(at.CheckIn).To(BeTrue())
	g.Expect(at.FileType).To(Equal(protocol.FileTypeCheckIn))
	g.Expect(at.UploadedBy).To(Equal(vendorLogin), "checked in as the link's sub-user")
	g.Expect(at.Meta.CheckInID).To(Equal("DL-4242"))
	g.Expect(at.Meta.CreatedBy).To(Equal(crew1))
	g.Expect(at.Meta.GPSLatitude).To(Equal(39.7817))
	g.Expect(at.Size).To(BeZero())
	g.Eventually(func(g Gomega) {
		p := rw.project(g, linkName, "7701")
		g.Expect(p.Status.CheckIn).NotTo(BeNil())
		g.Expect(p.Status.CheckIn.Required).To(BeTrue())
		g.Expect(p.Status.CheckIn.Count).To(BeEquivalentTo(1))
		g.Expect(p.Status.CheckIn.LastCheckInTime).NotTo(BeNil())
		g.Expect(p.Status.Relay.Relayed).To(BeEquivalentTo(2))
	}).Should(Succeed())
}
