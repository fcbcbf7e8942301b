package controllers_test

// Issue #4: the cost of a refresh grows with the number of changes, not with
// the number of projects; a refresh with nothing new writes nothing.

import (
	"fmt"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// settled waits until the operator's own cache shows every project applied,
// and then until nothing is written for a while: the reconciles that the
// import's own writes woke are over.
func (w *world) settled(op *operator, n int) {
	w.t.Helper()
	// Cheap first: the link counts its projects when an import ends.
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.Status.Projects.Total).To(BeEquivalentTo(n))
		g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionImported)).To(BeTrue())
	}, bulkTimeout, 250*time.Millisecond).Should(Succeed())
	w.g.Eventually(func(g Gomega) {
		var list sharev1.SharedProjectList
		g.Expect(op.mgr.GetCache().List(w.ctx, &list, client.InNamespace(w.ns))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(n))
		for i := range list.Items {
			applied(g, &list.Items[i])
		}
	}, timeout, 500*time.Millisecond).Should(Succeed())
	before := w.resourceVersions(w.g)
	link := w.link(linkName).ResourceVersion
	w.g.Consistently(func(g Gomega) {
		g.Expect(changedKeys(before, w.resourceVersions(g))).To(BeEmpty())
		g.Expect(getLink(g, w, linkName).ResourceVersion).To(Equal(link))
	}, "1s", "250ms").Should(Succeed())
}

func TestRefreshCostFollowsChanges(t *testing.T) {
	t.Parallel()
	const orders = 2000
	w := newWorld(t)
	g := w.g
	start := time.Now()
	numbers := w.seedBulk(70000, orders)
	t.Logf("seeded %d provider orders in %s", orders, time.Since(start))

	// The reconcilers' clock stands still unless the test moves it, so
	// periodic refreshes happen only when the test says.
	clk := clocktesting.NewFakeClock(time.Now())
	op := w.startOperator(withClock(clk), func(c *controllers.Config) { c.CallTimeout = 30 * time.Second })
	start = time.Now()
	w.createLink(linkName)
	w.settled(op, orders)
	t.Logf("imported %d orders in %s", orders, time.Since(start))
	w.waitReady(linkName)
	g.Expect(vendorOrders(g, w)).To(HaveLen(orders))
	// The first import cost one pull and one push per 1,000 orders.
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(orders / protocol.MaxPushOrders))
	// ... and one lookup per 1,000 new orders (adopt.go); refreshes, none.
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)).To(Equal(orders / protocol.MaxPushOrders))

	// Five orders change upstream; a refresh writes those five and no
	// other project, with one pull and one push.
	changed := []string{numbers[3], numbers[404], numbers[999], numbers[1000], numbers[1999]}
	var want []string
	for i, n := range changed {
		w.editUpstream(n, protocol.WorkOrder{ClientInstructions: protocol.String(fmt.Sprintf("change %d", i))})
		want = append(want, sharev1.SharedProjectName(linkName, n))
	}
	sort.Strings(want)
	before := w.resourceVersions(g)
	w.srv.ResetCounters()
	w.refresh(linkName, "five-changes")
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallValidate)).To(BeZero())
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)).To(BeZero())
	for i, n := range changed {
		g.Expect(protocol.Value(w.vendorOrder(n).WorkOrder.ClientInstructions)).To(Equal(fmt.Sprintf("change %d", i)))
	}
	w.settled(op, orders)
	got := changedKeys(before, w.resourceVersions(g))
	sort.Strings(got)
	g.Expect(got).To(Equal(want))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(Equal(1))

	// A periodic refresh with nothing new changes no SharedProject and not
	// the ShareLink either.
	before = w.resourceVersions(g)
	linkRV := w.link(linkName).ResourceVersion
	w.srv.ResetCounters()
	clk.Step(11 * time.Second)
	g.Eventually(func() int {
		return w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)
	}, timeout, 100*time.Millisecond).Should(Equal(1))
	g.Consistently(func(g Gomega) {
		g.Expect(changedKeys(before, w.resourceVersions(g))).To(BeEmpty())
		g.Expect(getLink(g, w, linkName).ResourceVersion).To(Equal(linkRV))
	}, "2s", "250ms").Should(Succeed())
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(BeZero())
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))

	// A requested refresh with nothing new writes only its acknowledgement.
	w.srv.ResetCounters()
	w.refresh(linkName, "nothing-new")
	g.Expect(changedKeys(before, w.resourceVersions(g))).To(BeEmpty())
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallLookup)).To(BeZero())
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(Equal(1))
	g.Expect(w.srv.AccountRequests(vendorAccount, accountserver.CallPush)).To(BeZero())
}
