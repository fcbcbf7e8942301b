// Package e2e runs the operator exactly as it is shipped: the install
// rendered from config/ or the Helm chart and applied by cluster-admin, the
// manager binary as its own processes (two replicas) with the identity of
// the shipped ServiceAccount, against a control plane with an audit log, a
// garbage collector and a namespace controller. It walks a link's whole
// life, then compares what the manager did (the audit log) with what its
// role grants.
package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/health"
	"github.com/pruvan-share/share-operator/internal/opsmetrics"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // envtest's own chatter
	os.Exit(m.Run())
}

func TestClusterWideInstall(t *testing.T) { runInstall(t, clusterWide) }

func TestNamespacedInstall(t *testing.T) { runInstall(t, namespaced) }

func TestHelmInstall(t *testing.T) { runInstall(t, helmChart) }

// runInstall installs in one mode, runs two replicas, walks a link's life,
// and checks the audit log.
func runInstall(t *testing.T, m mode) {
	c := startCluster(t)
	in := c.install(m)
	kubeconfig := c.serviceAccountKubeconfig(in.namespace, in.serviceAccount)
	leader := c.startManager(in, kubeconfig, "replica-1")
	leader.waitLeader(timeout)
	follower := c.startManager(in, kubeconfig, "replica-2")

	w := &walk{t: t, c: c, in: in, leader: leader, follower: follower, acc: newAccounts(t)}
	w.run()

	follower.stop()
	leader.stop()
	rep := checkAudit(t, c, in)
	if len(m.watched) > 0 {
		w.checkNamespaced(rep)
	}
}

// walk is a link's life under the installed operator.
type walk struct {
	t                *testing.T
	c                *cluster
	in               *installation
	leader, follower *manager
	acc              *accounts
	link             *linkSpace
	outside          *linkSpace
}

// linkNamespace is served in every mode (a namespaced install watches it).
const linkNamespace = "team-a"

func (w *walk) run() {
	t := w.t
	if len(w.in.mode.watched) > 0 {
		// A link in a namespace the manager does not serve, with Secrets
		// that would work: it must stay untouched.
		w.outside = w.c.newLink(w.acc, "outside", "acme")
	}
	orders := []string{"1001", "1002", "1003"}
	w.acc.createOrders(t, orders...)
	w.link = w.c.newLink(w.acc, linkNamespace, "acme")
	for _, step := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"import", func(*testing.T) { w.importOrders(orders) }},
		{"auto admin update", w.autoAdminUpdate},
		{"unassigned and deleted upstream", w.cancelAndDelete},
		{"photos and a check-in relayed", w.relay},
		{"a tap on either replica", w.tapReplicas},
		{"secret rotation", w.rotateSecrets},
		{"suspend and resume", w.suspendResume},
		{"metrics", w.scrapeMetrics},
		{"deleting the link", w.deleteLink},
		{"deleting a namespace", w.deleteNamespace},
	} {
		// Each step fails on its own; the later ones need the earlier.
		if !t.Run(step.name, func(t *testing.T) {
			w.link.t, w.link.g = t, NewWithT(t)
			step.run(t)
		}) {
			t.FailNow()
		}
	}
	if w.leader.exited() || w.follower.exited() {
		t.Fatal("a manager replica exited on its own")
	}
}

func (w *walk) importOrders(orders []string) {
	ls := w.link
	ls.waitReady()
	ls.waitLink("three projects counted", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.Projects.Active).To(BeEquivalentTo(len(orders)))
		g.Expect(l.Finalizers).To(ContainElement(sharev1.Finalizer))
	})
	for _, n := range orders {
		ls.g.Eventually(func() error { _, err := w.acc.vendorOrder(n); return err }).WithTimeout(timeout).Should(Succeed())
		o, _ := w.acc.vendorOrder(n)
		ls.g.Expect(o.AssignedTo).To(Equal(testworld.Crew), "the default assignee")
	}
	w.expectKStatus(health.Current)
}

func (w *walk) autoAdminUpdate(t *testing.T) {
	if _, err := w.acc.srv.EditOrder(context.Background(), testworld.ProviderAccount, "1001",
		protocol.WorkOrder{Description: protocol.String("Front yard only, the back is fenced off")}); err != nil {
		t.Fatal(err)
	}
	w.link.refresh()
	w.link.g.Eventually(func(g Gomega) {
		o, err := w.acc.vendorOrder("1001")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(o.WorkOrder.Description).To(HaveValue(Equal("Front yard only, the back is fenced off")))
	}).WithTimeout(timeout).Should(Succeed())
}

func (w *walk) cancelAndDelete(t *testing.T) {
	ctx := context.Background()
	if _, err := w.acc.srv.UnassignOrder(ctx, testworld.ProviderAccount, "1002"); err != nil {
		t.Fatal(err)
	}
	if err := w.acc.srv.DeleteOrder(ctx, testworld.ProviderAccount, "1003"); err != nil {
		t.Fatal(err)
	}
	w.link.refresh()
	for n, status := range map[string]string{"1002": "Cancelled", "1003": "Deleted"} {
		w.link.g.Eventually(func(g Gomega) {
			o, err := w.acc.vendorOrder(n)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(o.ClientStatus).To(Equal(status))
			p, err := w.link.project(n)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(p.Status.ClientStatus).To(Equal(status))
		}).WithTimeout(timeout).Should(Succeed(), "order %s %s", n, status)
	}
}

func (w *walk) relay(t *testing.T) {
	w.acc.crewPhoto(t, "1001", 1)
	w.acc.crewPhoto(t, "1001", 2)
	w.acc.crewCheckIn(t, "1001")
	w.link.g.Eventually(func(g Gomega) {
		at, err := w.acc.srv.ListItems(context.Background(), testworld.ProviderAccount, "1001")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(at).To(HaveLen(3))
		mine, err := w.acc.srv.ListItems(context.Background(), testworld.VendorAccount, testworld.ClientCode+"::1001")
		g.Expect(err).NotTo(HaveOccurred())
		for _, it := range mine {
			g.Expect(it.RelayStatus).To(Equal("published"), "item %s: %s", it.UUID, it.RelayMessage)
		}
	}).WithTimeout(timeout).Should(Succeed())
}

// tapReplicas opens the bookmark on the replica that does not lead: it must
// answer and refresh the link as the leader would.
func (w *walk) tapReplicas(t *testing.T) {
	g := NewWithT(t)
	g.Expect(w.follower.isLeader()).To(BeFalse())
	key, err := w.link.pushKey()
	g.Expect(err).NotTo(HaveOccurred())
	w.acc.createOrders(t, "1004")
	g.Eventually(func() (bool, error) { return tap(w.follower.pushKey, key) }).WithTimeout(timeout).Should(BeTrue(),
		"the replica that does not lead answers the bookmark")
	g.Eventually(func() error { _, err := w.acc.vendorOrder("1004"); return err }).WithTimeout(timeout).Should(Succeed(),
		"the tap on the replica that does not lead refreshed the link")
	g.Expect(tap(w.leader.pushKey, "not-a-key-of-anyone-at-all-000")).To(BeFalse())
}

func (w *walk) rotateSecrets(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	// The bookmark: deleting the operator's key Secret makes a new key.
	old, err := w.link.pushKey()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.c.admin.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: linkNamespace, Name: "acme-push-key"}})).To(Succeed())
	var fresh string
	g.Eventually(func(g Gomega) {
		fresh, err = w.link.pushKey()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(fresh).NotTo(Equal(old))
	}).WithTimeout(timeout).Should(Succeed())
	for _, m := range []*manager{w.leader, w.follower} {
		g.Eventually(func() (bool, error) { return tap(m.pushKey, fresh) }).WithTimeout(timeout).Should(BeTrue(), "%s takes the new key", m.name)
		g.Eventually(func() (bool, error) { return tap(m.pushKey, old) }).WithTimeout(timeout).Should(BeFalse(), "%s refuses the old key", m.name)
	}
	// The provider login: a wrong password stalls the link, the right one
	// brings it back.
	setPassword := func(pw string) {
		s := &corev1.Secret{}
		g.Expect(w.c.admin.Get(ctx, client.ObjectKey{Namespace: linkNamespace, Name: testworld.LoginSecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyPassword] = []byte(pw)
		g.Expect(w.c.admin.Update(ctx, s)).To(Succeed())
	}
	setPassword("not-the-password")
	w.link.waitLink("the link stalled on the wrong password", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(sharev1.IsConditionTrue(l, sharev1.ConditionStalled)).To(BeTrue())
		g.Expect(l.Status.Conditions).To(ContainElement(HaveField("Reason", sharev1.ReasonInvalidCredentials)))
	})
	w.expectKStatus(health.Failed)
	setPassword(w.acc.link.Password)
	w.link.waitReady()
}

func (w *walk) suspendResume(t *testing.T) {
	w.link.patch(func(l *sharev1.ShareLink) { l.Spec.Suspend = true })
	w.link.waitLink("the link suspended", func(g Gomega, l *sharev1.ShareLink) {
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
		g.Expect(l.Status.Conditions).To(ContainElement(And(HaveField("Type", sharev1.ConditionReady),
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", sharev1.ReasonSuspended))))
	})
	w.expectKStatus(health.Current) // a pipeline waiting on a suspended link goes on
	// A suspended link makes no call: a refresh asked for now waits for
	// the link to resume.
	w.acc.createOrders(t, "1005")
	w.link.patch(func(l *sharev1.ShareLink) {
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationRefreshRequestedAt, "while-suspended")
	})
	w.link.g.Consistently(func() error { _, err := w.acc.vendorOrder("1005"); return err }).
		WithTimeout(3*time.Second).ShouldNot(Succeed(), "a suspended link imported an order")
	w.link.patch(func(l *sharev1.ShareLink) { l.Spec.Suspend = false })
	w.link.waitReady()
	w.link.g.Eventually(func() error { _, err := w.acc.vendorOrder("1005"); return err }).WithTimeout(timeout).Should(Succeed())
}

// scrapeMetrics reads the leader's metrics as Prometheus would, with a
// token of its own bound to the install's metrics-reader role, and checks
// that every metric the dashboard and the alerts use is there.
func (w *walk) scrapeMetrics(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	reader := ""
	for _, o := range w.in.objects {
		if o.GetKind() == "ClusterRole" && strings.HasSuffix(o.GetName(), "metrics-reader") {
			reader = o.GetName()
		}
	}
	g.Expect(reader).NotTo(BeEmpty(), "the install has a metrics-reader ClusterRole")
	g.Expect(w.c.admin.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: w.in.namespace, Name: "prometheus"}})).To(Succeed())
	g.Expect(w.c.admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "prometheus-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: w.in.namespace, Name: "prometheus"}},
	})).To(Succeed())
	token := w.c.token(w.in.namespace, "prometheus")
	names, err := opsmetrics.MetricNames(testenv.RepoRoot())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(names).NotTo(BeEmpty())
	g.Eventually(func(g Gomega) {
		body, status, err := scrape(w.leader.metrics, token)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(status).To(Equal(http.StatusOK), "%s", body)
		missing := slices.DeleteFunc(opsmetrics.Missing(names, body), func(n string) bool { return slices.Contains(whileNonZero, n) })
		g.Expect(missing).To(BeEmpty(), "metrics the dashboard or the alerts use")
	}).WithTimeout(timeout).Should(Succeed())
	_, status, err := scrape(w.leader.metrics, "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(status).To(Equal(http.StatusUnauthorized), "metrics without a token")
}

// whileNonZero are the gauges a link has a series of only while it is
// suspended or its relay has items waiting (docs/monitoring.md): the walk's
// link, resumed and relayed, has none, so they may be missing here;
// controllers' TestMonitoringMetricsAreExported scrapes them all.
var whileNonZero = []string{"share_link_suspended", "share_relay_backlog_items", "share_relay_pending_items"}

func scrape(addr, token string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://"+addr+"/metrics", nil)
	if err != nil {
		return nil, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	// The manager's serving certificate is self-signed, as in a cluster
	// where Prometheus skips verification or is given the CA.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// deleteLink deletes the link: its finalizer completes under the shipped
// role, its projects and operator-made Secret go, the vendor's projects
// stay.
func (w *walk) deleteLink(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	l, err := w.link.get()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(w.c.admin.Delete(ctx, l)).To(Succeed())
	g.Eventually(func() bool { _, err := w.link.get(); return apierrors.IsNotFound(err) }).WithTimeout(timeout).Should(BeTrue(),
		"the finalizer completes")
	g.Eventually(func() ([]sharev1.SharedProject, error) { return w.link.projects() }).WithTimeout(timeout).Should(BeEmpty())
	g.Eventually(func() bool { _, err := w.link.pushKey(); return apierrors.IsNotFound(err) }).WithTimeout(timeout).Should(BeTrue(),
		"the garbage collector removes the link's push-key Secret")
	for _, n := range []string{"1001", "1002", "1003", "1004", "1005"} {
		_, err := w.acc.vendorOrder(n)
		g.Expect(err).NotTo(HaveOccurred(), "the vendor's project %s stays", n)
	}
}

// deleteNamespace deletes a namespace holding a working link: the namespace
// controller removes everything in it, the manager lets the link go.
//
// A namespaced install holds its permissions in the namespace itself, as a
// Role and RoleBinding that the namespace controller may remove before the
// manager has let the link go; the link's finalizer would then hold the
// namespace in Terminating. There a person deletes the links first (the
// README says so), and so does this step.
func (w *walk) deleteNamespace(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ls := w.c.newLink(w.acc, "team-b", "acme-b")
	ls.waitReady()
	g.Eventually(ls.projects).WithTimeout(timeout).ShouldNot(BeEmpty())
	if len(w.in.mode.watched) > 0 {
		l, err := ls.get()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(w.c.admin.Delete(ctx, l)).To(Succeed())
		g.Eventually(func() bool { _, err := ls.get(); return apierrors.IsNotFound(err) }).WithTimeout(timeout).Should(BeTrue())
	}
	g.Expect(w.c.admin.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-b"}})).To(Succeed())
	g.Eventually(func() bool {
		err := w.c.admin.Get(ctx, client.ObjectKey{Name: "team-b"}, &corev1.Namespace{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(3*time.Minute).Should(BeTrue(), "the namespace is gone")
}

// checkNamespaced shows that a namespaced install touched nothing outside
// the namespaces it serves (and its own, for the Lease and its events).
func (w *walk) checkNamespaced(rep *auditReport) {
	t := w.t
	g := NewWithT(t)
	allowed := append([]string{w.in.namespace}, w.in.mode.watched...)
	for r := range rep.used {
		if r.namespace == "" {
			// Cluster-scoped: only the metrics checks of a scraper's token.
			g.Expect([]string{"tokenreviews", "subjectaccessreviews"}).To(ContainElement(r.resource), "cluster-scoped request %+v", r)
			continue
		}
		g.Expect(allowed).To(ContainElement(r.namespace), "the manager made requests in namespace %q: %+v", r.namespace, r)
	}
	for _, ns := range rep.namespacesTouched("secrets") {
		g.Expect(w.in.mode.watched).To(ContainElement(ns), "the manager read Secrets in namespace %q", ns)
	}
	l, err := w.outside.get()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Finalizers).To(BeEmpty(), "the link in an unwatched namespace was touched")
	g.Expect(l.Status.Conditions).To(BeEmpty(), "the link in an unwatched namespace was touched")
	projects, err := w.outside.projects()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(projects).To(BeEmpty())
}

// expectKStatus checks what Flux and kstatus-based tools make of the link.
func (w *walk) expectKStatus(want string) {
	w.t.Helper()
	w.link.g.Eventually(func(g Gomega) {
		l, err := w.link.get()
		g.Expect(err).NotTo(HaveOccurred())
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(l)
		g.Expect(err).NotTo(HaveOccurred())
		u := &unstructured.Unstructured{Object: m}
		u.SetAPIVersion(sharev1.GroupVersion.String())
		u.SetKind("ShareLink")
		got, msg, err := health.KStatus(u)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want), "kstatus: %s", msg)
	}).WithTimeout(timeout).Should(Succeed())
}
