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
	"github.com/pruvan-share/share-operator/internal/testworld"
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
// and the vendor's sub-user, and sets the vendor integration's QA. opts go
// to the world's server, the vendor's.
func newRelayWorld(t *testing.T, autoRelay bool, opts ...accountserver.Option) *relayWorld {
	t.Helper()
	w := newWorld(t, opts...)
	g, ctx := w.g, w.ctx
	prov := accountserver.NewTestServer(t)
	w.providerToken = testworld.SeedProvider(t, prov, w.password)
	g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(w.c.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: loginSecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyToken] = []byte(w.providerToken)
		g.Expect(w.c.Update(ctx, s)).To(Succeed())
	}).Should(Succeed())
	_, err := w.srv.SetAutoRelay(ctx, vendorAccount, clientCode, autoRelay)
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
	g.Expect(counts[accountserver.CallItemContent] + counts[accountserver.CallItemResult] + counts[accountserver.CallItemResults]).To(BeZero())
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
