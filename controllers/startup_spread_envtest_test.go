package controllers_test

// Issue #14: a restarted manager does not pull every link at once.

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

// TestRestartDoesNotPullImportedLinks: a manager started afresh (its
// reconciler's memory empty) leaves a link that heard from its provider a
// moment ago alone until its interval is up, neither pulling it nor
// checking its logins, though its last change is older than the interval;
// yet it imports a new link at once and answers a refresh request at once.
func TestRestartDoesNotPullImportedLinks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(1001, 2)
	first := w.startOperator()
	w.createLink(linkName, testworld.WithInterval(time.Hour))
	w.waitImported(linkName, numbers)
	w.waitReady(linkName)
	first.stop(t)
	// A quiet link: its last change two hours ago, its last contact now.
	l := w.link(linkName)
	base := l.DeepCopy()
	changed, contact := metav1.NewTime(time.Now().Add(-2*time.Hour)), metav1.Now()
	l.Status.LastRefreshTime, l.Status.LastContactTime = &changed, &contact
	g.Expect(w.c.Status().Patch(w.ctx, l, client.MergeFrom(base))).To(Succeed())
	pulls := func() int { return w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders) }
	validations := func() int { return w.srv.AccountRequests(providerAccount, accountserver.CallValidate) }
	pulled, validated := pulls(), validations()

	// A new link, on accounts of its own so that its calls count apart.
	other := accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	acc := testworld.Seed(t, other, other, "pw-other-"+w.ns+"-Zq7", testworld.VendorOptions{})
	_, err := other.CreateOrder(w.ctx, providerAccount, order("2001"))
	g.Expect(err).NotTo(HaveOccurred())
	for _, s := range acc.Secrets(w.ns) {
		s.(*corev1.Secret).Name = "other-" + s.GetName()
		g.Expect(w.c.Create(w.ctx, s)).To(Succeed())
	}
	fresh := acc.Link(w.ns, "fresh", testworld.WithInterval(time.Hour))
	fresh.Spec.Provider.SecretRef.Name = "other-" + testworld.LoginSecret
	fresh.Spec.Account.SecretRef.Name = "other-" + testworld.KeySecret

	w.startOperator()
	g.Expect(w.c.Create(w.ctx, fresh)).To(Succeed())
	g.Eventually(func(g Gomega) {
		l := getLink(g, w, "fresh")
		g.Expect(l.Status.LastFullImportTime).NotTo(BeNil())
		g.Expect(l.Status.Projects.Total).To(BeEquivalentTo(1))
	}).Should(Succeed())
	g.Expect(other.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(BeNumerically(">=", 1), "the new link pulled")
	g.Expect(pulls()).To(Equal(pulled), "the imported link did not pull at start")
	g.Expect(validations()).To(Equal(validated), "nor check its logins")

	// A request is answered at once, with the logins checked first; had
	// the start pulled, there would be two pulls.
	w.refresh(linkName, "after-restart")
	g.Expect(pulls()).To(Equal(pulled+1), "one pull: the requested one")
	g.Expect(validations()).To(Equal(validated+1), "the logins were checked with the requested pull, not at start")
	g.Expect(w.link(linkName).IsReady()).To(BeTrue())
}
