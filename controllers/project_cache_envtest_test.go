package controllers_test

// The cache keeps a SharedProject without its upstream order (a digest
// instead, controllers.TrimProjectForCache): the import still sees what
// changed, cancels with the rest of the record kept, and re-applies a
// project a person changed with the whole order, read from the API server.

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestTrimmedCacheUpdatesCancelsReapplies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("5001"), order("5002"))
	op := w.startOperator()
	w.createLink(linkName)
	w.waitImported(linkName, []string{"5001", "5002"})

	// The cache's copy holds the number, the client status and a digest;
	// the API server's the whole order and no trace of the digest.
	key := client.ObjectKey{Namespace: w.ns, Name: sharev1.SharedProjectName(linkName, "5001")}
	g.Eventually(func(g Gomega) {
		cached := &sharev1.SharedProject{}
		g.Expect(op.mgr.GetCache().Get(w.ctx, key, cached)).To(Succeed())
		g.Expect(cached.Spec.Upstream).To(Equal(&sharev1.UpstreamOrder{ClientStatus: "Open"}))
		g.Expect(metav1.Object(cached).GetSelfLink()).To(HavePrefix("cached-upstream-digest:"))
		g.Expect(cached.ManagedFields).To(BeEmpty())
	}).Should(Succeed())
	stored := w.project(g, linkName, "5001")
	g.Expect(stored.Spec.Upstream.City).To(Equal("Springfield"))
	g.Expect(metav1.Object(stored).GetSelfLink()).To(BeEmpty())

	// An update: the digest differs, the order is written and pushed.
	w.editUpstream("5001", protocol.WorkOrder{Instructions: protocol.String("Cut the back yard only")})
	w.refresh(linkName, "update")
	g.Eventually(func(g Gomega) {
		p := w.project(g, linkName, "5001")
		g.Expect(p.Spec.Upstream.Instructions).To(Equal("Cut the back yard only"))
		g.Expect(p.Spec.Upstream.City).To(Equal("Springfield"))
		applied(g, p)
		g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.Instructions)).To(Equal("Cut the back yard only"))
	}).Should(Succeed())

	// A cancel: the tombstone keeps the rest of the last order, which the
	// cache does not hold.
	_, err := w.srv.UnassignOrder(w.ctx, providerAccount, "5002")
	g.Expect(err).NotTo(HaveOccurred())
	w.refresh(linkName, "cancel")
	g.Eventually(func(g Gomega) {
		p := w.project(g, linkName, "5002")
		g.Expect(p.Spec.Upstream.ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
		g.Expect(p.Spec.Upstream.Address1).To(Equal("5002 Elm St"))
		g.Expect(p.Spec.Upstream.Instructions).To(Equal("Cut front and back yard"))
		applied(g, p)
		g.Expect(p.Status.ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
		g.Expect(w.vendorOrder("5002").ClientStatus).To(Equal(sharev1.ClientStatusCancelled))
	}).Should(Succeed())

	// A person's change re-applies the project with the whole order: the
	// vendor's drifted address comes back from the stored upstream, which
	// only the API server holds.
	_, err = w.srv.EditOrder(w.ctx, vendorAccount, projectName("5001"), protocol.WorkOrder{Address1: protocol.String("9 Drift Rd")})
	g.Expect(err).NotTo(HaveOccurred())
	p := w.project(g, linkName, "5001")
	base := p.DeepCopy()
	p.Spec.AutoAdmin = ptr.To(false)
	g.Expect(w.c.Patch(w.ctx, p, client.MergeFrom(base), client.FieldOwner("a-person"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		p := w.project(g, linkName, "5001")
		applied(g, p)
		g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.Address1)).To(Equal("5001 Elm St"))
	}).Should(Succeed())
	g.Expect(w.link(linkName).Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 2, Active: 1, Cancelled: 1}))
}
