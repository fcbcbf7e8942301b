package controllers_test

// A link is an identity (issue #12): the envtest cases of what only the
// operator can see. Admission's share is in test/admission.

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
)

// secondNamespace makes another namespace with copies of the world's
// Secrets; its name sorts after the world's, so that of two links created
// in the same second the world's is the older.
func (w *world) secondNamespace() string {
	w.t.Helper()
	ns := w.ns + "-b"
	w.g.Expect(w.c.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	for _, name := range []string{loginSecret, keySecret} {
		s := &corev1.Secret{}
		w.g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, s)).To(Succeed())
		w.g.Expect(w.c.Create(w.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: s.Data})).To(Succeed())
	}
	return ns
}

func stalledAs(g Gomega, l *sharev1.ShareLink, reason string) *metav1.Condition {
	c := condition(l, sharev1.ConditionStalled)
	g.Expect(c).NotTo(BeNil(), "Ready: %v", readyOf(l))
	g.Expect(c.Reason).To(Equal(reason), "Ready: %v", readyOf(l))
	ready := condition(l, sharev1.ConditionReady)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Reason).To(Equal(reason))
	return c
}

// TestDuplicateLinks: two links of one integration, in two namespaces, the
// second written with its URLs another way. The older works; the newer
// stalls naming it, and works once it is deleted.
func TestDuplicateLinks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(7101, 2)
	ns2 := w.secondNamespace()
	w.startOperatorIn(w.ns, ns2)

	w.createLink(linkName)
	w.waitImported(linkName, numbers)
	w.waitReady(linkName)

	second := w.newLink("acme-again", func(l *sharev1.ShareLink) {
		l.Namespace = ns2
		l.Spec.Provider.URL = strings.ToUpper(l.Spec.Provider.URL[:7]) + l.Spec.Provider.URL[7:] + "/"
		l.Spec.Account.URL += "/"
	})
	g.Expect(w.c.Create(w.ctx, second)).To(Succeed())
	key := client.ObjectKeyFromObject(second)
	g.Eventually(func(g Gomega) {
		l := &sharev1.ShareLink{}
		g.Expect(w.c.Get(w.ctx, key, l)).To(Succeed())
		c := stalledAs(g, l, sharev1.ReasonDuplicateLink)
		g.Expect(c.Message).To(ContainSubstring("ShareLink " + w.ns + "/" + linkName + " "))
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
	}).Should(Succeed())
	// The first goes on; the second imported nothing.
	w.waitReady(linkName)
	var projects sharev1.SharedProjectList
	g.Expect(w.c.List(w.ctx, &projects, client.InNamespace(ns2))).To(Succeed())
	g.Expect(projects.Items).To(BeEmpty())

	// Deleting the first lets the second work.
	g.Expect(w.c.Delete(w.ctx, w.link(linkName))).To(Succeed())
	g.Eventually(func(g Gomega) {
		l := &sharev1.ShareLink{}
		g.Expect(w.c.Get(w.ctx, key, l)).To(Succeed())
		g.Expect(l.IsReady()).To(BeTrue(), "Ready: %v", readyOf(l))
		g.Expect(condition(l, sharev1.ConditionStalled)).To(BeNil())
		g.Expect(l.Status.Projects.Total).To(Equal(int32(len(numbers))))
	}).Should(Succeed())
	g.Expect(vendorOrders(g, w)).To(HaveLen(len(numbers)), "the vendor's projects once each")
}

// TestClientCodeMismatch: the push key is the integration ACME's, the link
// says WRONG. The first push tells (the feed is empty); the link stalls
// with both codes and marks no project applied to WRONG::…; it does not push
// again.
func TestClientCodeMismatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createNumbered(7201, 1)
	w.startOperator()
	w.createLink(linkName, func(l *sharev1.ShareLink) { l.Spec.ClientCode = "WRONG" })

	g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		c := stalledAs(g, l, sharev1.ReasonClientCodeMismatch)
		g.Expect(c.Message).To(ContainSubstring(`the push key opens the integration "ACME" of the vendor account, but clientCode is "WRONG"`))
		g.Expect(c.Message).To(ContainSubstring(`"ACME::7201", not "WRONG::7201"`))
		g.Expect(condition(l, sharev1.ConditionAccountReady).Reason).To(Equal(sharev1.ReasonClientCodeMismatch))
	}).Should(Succeed())
	for _, p := range w.projects(g, linkName) {
		g.Expect(p.Status.Created).To(BeFalse(), "project %s marked applied", p.Name)
		g.Expect(p.Status.Project).NotTo(HavePrefix("WRONG::"))
	}
	pushes := w.srv.AccountRequests(vendorAccount, accountserver.CallPush)
	g.Expect(pushes).To(Equal(1))

	// A refresh asked for does not push again into the wrong integration.
	w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, "again")
	g.Consistently(func() int { return w.srv.AccountRequests(vendorAccount, accountserver.CallPush) }, 2*time.Second).Should(Equal(pushes))
	stalledAs(g, w.link(linkName), sharev1.ReasonClientCodeMismatch)
}

// TestPasswordEndingInASpace: the Secret's password is used as it is.
func TestPasswordEndingInASpace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	const user, password = "fieldco-spaced", "pw ends in a space "
	_, err := w.srv.CreateUser(w.ctx, providerAccount, accountserver.NewUser{Username: user, Role: accountserver.RoleCrew, Password: password})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: loginSecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyUsername] = []byte(user)
		s.Data[sharev1.SecretKeyPassword] = []byte(password)
		g.Expect(w.c.Update(w.ctx, s)).To(Succeed())
	}).Should(Succeed())
	w.startOperator()
	w.createLink(linkName)
	w.waitReady(linkName)
	g.Expect(condition(w.link(linkName), sharev1.ConditionProviderReady).Status).To(Equal(metav1.ConditionTrue))
}

// TestOversizedRefreshAnnotation: a refresh asked for with a 200 KB value
// (an object admitted before the CRD's rules, or a value CEL cannot see) is
// ignored, not copied into status; the link goes on working.
func TestOversizedRefreshAnnotation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createNumbered(7301, 1)
	w.startOperator()
	w.createLink(linkName, manualImport)
	w.waitReady(linkName)

	huge := strings.Repeat("7", 200*1024)
	w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, huge)
	w.fullImport(linkName, "after-the-huge-one")
	l := w.waitReady(linkName)
	g.Expect(len(l.Status.LastHandledRefreshAt)).To(BeNumerically("<=", sharev1.MaxRequestedAtLength))
	g.Expect(l.Annotations).To(HaveKey(sharev1.AnnotationRefreshRequestedAt), "the annotation is the user's: it stays")

	w.refresh(linkName, "a-timestamp")
}
