package controllers_test

// Issue #4: the import loop when people suspend links and break Secrets, when
// the operator restarts, and when the provider fails.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/protocol"
)

// calls counts every request an account received.
func (w *world) calls(account string) int {
	n := 0
	for _, c := range accountserver.Calls {
		n += w.srv.AccountRequests(account, c)
	}
	return n
}

// expectNoSecrets checks that no credential appears in the link's status or
// in any Event of the namespace.
func (w *world) expectNoSecrets(g Gomega, name string, extra ...string) {
	l := getLink(g, w, name)
	status, err := json.Marshal(l.Status)
	g.Expect(err).NotTo(HaveOccurred())
	secrets := append(w.secrets(), extra...)
	// The link's own bookmark key, when the operator made one.
	bookmark := &corev1.Secret{}
	if err := w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: l.PushKeySecretName()}, bookmark); err == nil {
		if key := string(bookmark.Data[sharev1.SecretKeyPushKey]); key != "" {
			secrets = append(secrets, key)
		}
	}
	texts := append(w.eventTexts(g), string(status))
	for _, text := range texts {
		for _, s := range secrets {
			g.Expect(text).NotTo(ContainSubstring(s))
		}
		g.Expect(text).NotTo(MatchRegexp(`apiKey=[A-Za-z0-9_-]`), "a key in a URL")
	}
}

func condition(l *sharev1.ShareLink, typ string) *metav1.Condition {
	return meta.FindStatusCondition(l.Status.Conditions, typ)
}

func (w *world) setPassword(password string) {
	w.t.Helper()
	w.g.Eventually(func(g Gomega) {
		s := &corev1.Secret{}
		g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: loginSecret}, s)).To(Succeed())
		s.Data[sharev1.SecretKeyPassword] = []byte(password)
		g.Expect(w.c.Update(w.ctx, s)).To(Succeed())
	}).Should(Succeed())
}

// TestSuspendAndCredentials: a suspended link makes no calls and says so; a
// bad password stalls the link without a retry storm, and fixing the Secret
// recovers it; no credential reaches status or events.
func TestSuspendAndCredentials(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(5001, 2)
	w.startOperator()
	created := w.createLink(linkName)
	w.waitImported(linkName, numbers)
	w.waitReady(linkName)

	// Suspend: Ready True Suspended for the new generation (kstatus Current).
	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Suspend = true })
	g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
		ready := condition(l, sharev1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.Reason).To(Equal(sharev1.ReasonSuspended))
		g.Expect(ready.ObservedGeneration).To(Equal(l.Generation))
	}).Should(Succeed())

	// While suspended, even a refresh request calls neither account.
	w.srv.ResetCounters()
	w.editUpstream("5001", protocol.WorkOrder{ClientInstructions: protocol.String("changed while suspended")})
	w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, "while-suspended")
	g.Consistently(func() int { return w.calls(providerAccount) + w.calls(vendorAccount) }, "2s").Should(BeZero())
	g.Expect(w.link(linkName).Status.LastHandledRefreshAt).To(BeEmpty())

	// Resume: the pending request runs.
	w.updateLink(linkName, func(l *sharev1.ShareLink) { l.Spec.Suspend = false })
	g.Eventually(func(g Gomega) {
		g.Expect(getLink(g, w, linkName).Status.LastHandledRefreshAt).To(Equal("while-suspended"))
	}).Should(Succeed())
	w.waitReady(linkName)
	g.Expect(protocol.Value(w.vendorOrder("5001").WorkOrder.ClientInstructions)).To(Equal("changed while suspended"))

	// A bad password stalls the link.
	const wrong = "wrong-password-Kx9"
	w.srv.ResetCounters()
	w.setPassword(wrong)
	g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		stalled := condition(l, sharev1.ConditionStalled)
		g.Expect(stalled).NotTo(BeNil())
		g.Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(stalled.Reason).To(Equal(sharev1.ReasonInvalidCredentials))
		ready := condition(l, sharev1.ConditionReady)
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(sharev1.ReasonInvalidCredentials))
		g.Expect(condition(l, sharev1.ConditionProviderReady).Status).To(Equal(metav1.ConditionFalse))
		g.Expect(l.Status.LastError).NotTo(BeEmpty())
		g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationError))
	}).Should(Succeed())
	// No retry storm: the login is not tried again until someone acts, and
	// nothing else is called meanwhile.
	validates := func() int { return w.srv.AccountRequests(providerAccount, accountserver.CallValidate) }
	provider, vendor := w.calls(providerAccount), w.calls(vendorAccount)
	g.Consistently(validates, "3s").Should(BeNumerically("<=", 2))
	g.Expect(w.srv.AccountRequests(providerAccount, accountserver.CallGetWorkOrders)).To(BeZero())
	g.Expect(w.calls(providerAccount)).To(Equal(provider))
	g.Expect(w.calls(vendorAccount)).To(Equal(vendor))
	g.Eventually(func(g Gomega) {
		g.Expect(w.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonInvalidCredentials))
	}).Should(Succeed())
	w.expectNoSecrets(g, linkName, wrong, protocol.PasswordDigest(wrong))

	// Fixing the Secret recovers the same link.
	w.setPassword(w.password)
	g.Eventually(func(g Gomega) {
		l := getLink(g, w, linkName)
		g.Expect(l.UID).To(Equal(created.UID))
		g.Expect(condition(l, sharev1.ConditionStalled)).To(BeNil())
		g.Expect(l.IsReady()).To(BeTrue(), "Ready: %v", readyOf(l))
		g.Expect(l.Status.LastError).To(BeEmpty())
	}).Should(Succeed())
	w.refresh(linkName, "after-fix")
	g.Eventually(func(g Gomega) {
		g.Expect(w.eventReasons(g, "ShareLink", linkName)).To(ContainElement(sharev1.ReasonRecovered))
	}).Should(Succeed())
	w.expectNoSecrets(g, linkName, wrong, protocol.PasswordDigest(wrong))
}

// TestRestartDuringImport: the operator stopped at random points of a
// 500-order import and started again leaves exactly one vendor project per
// order and every SharedProject Ready.
func TestRestartDuringImport(t *testing.T) {
	t.Parallel()
	const orders = 500
	w := newWorld(t)
	g := w.g
	numbers := w.seedBulk(60000, orders)
	w.createLink(linkName)

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	recorded := func() int {
		return len(w.resourceVersions(g))
	}
	progress := func() (existing, created int) {
		var list sharev1.SharedProjectList
		if err := w.c.List(w.ctx, &list, client.InNamespace(w.ns)); err != nil {
			return 0, 0
		}
		for _, p := range list.Items {
			if p.Status.Created {
				created++
			}
		}
		return len(list.Items), created
	}
	done := func() bool {
		l := &sharev1.ShareLink{}
		return w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: linkName}, l) == nil && l.Status.LastFullImportTime != nil
	}

	for round := 1; round <= 3; round++ {
		existing0, created0 := progress()
		op := w.startOperator(func(c *controllers.Config) { c.CallTimeout = 30 * time.Second })
		// Stop at a random point of the work left: while projects are
		// recorded, while they are applied, or after a random delay once
		// only the end of the import is left.
		var rule string
		var reached func() bool
		switch {
		case existing0 < orders && rng.IntN(2) == 0:
			target := existing0 + 1 + rng.IntN(orders-existing0)
			rule = fmt.Sprintf("%d recorded", target)
			reached = func() bool { return recorded() >= target }
		case created0 < orders:
			target := created0 + 1 + rng.IntN(orders-created0)
			rule = fmt.Sprintf("%d applied", target)
			reached = func() bool { _, created := progress(); return created >= target }
		default:
			delay := time.Duration(rng.IntN(2000)) * time.Millisecond
			start := time.Now()
			rule = "after " + delay.String()
			reached = func() bool { return time.Since(start) >= delay }
		}
		g.Eventually(func() bool { return done() || reached() }, bulkTimeout, 200*time.Millisecond).Should(BeTrue())
		op.stop(t)
		existing, created := progress()
		t.Logf("round %d: stopped at %s with %d SharedProjects, %d applied, import finished: %v",
			round, rule, existing, created, done())
		g.Expect(len(vendorOrders(g, w))).To(BeNumerically("<=", orders))
	}

	w.startOperator(func(c *controllers.Config) { c.CallTimeout = 30 * time.Second })
	g.Eventually(func(g Gomega) {
		ps := w.projects(g, linkName)
		g.Expect(ps).To(HaveLen(orders))
		for i := range ps {
			applied(g, &ps[i])
		}
	}, bulkTimeout, 250*time.Millisecond).Should(Succeed())
	w.waitReady(linkName)
	vendor := vendorOrders(g, w)
	g.Expect(vendor).To(HaveLen(orders))
	byNumber := map[string]bool{}
	for _, o := range vendor {
		byNumber[o.RemoteNumber] = true
		g.Expect(o.Deleted).To(BeFalse())
	}
	for _, n := range numbers {
		g.Expect(byNumber).To(HaveKey(n))
	}
	g.Expect(w.link(linkName).Status.Projects).To(Equal(sharev1.ProjectCounts{Total: orders, Active: orders}))
}

// TestProviderFaults: failures of either account during an import are
// reported on the link (Ready False with a reason, a sanitized lastError),
// retried with backoff or after Retry-After, and the link converges when
// they stop.
func TestProviderFaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	numbers := w.createNumbered(8001, 3)
	// Six faults in a row make the link flap: each recovery is held back,
	// for a second here rather than DefaultReadyHold.
	w.startOperator(func(c *controllers.Config) { c.CallTimeout, c.ReadyHold = 2*time.Second, time.Second })
	w.createLink(linkName, manualImport)
	w.waitImported(linkName, numbers)
	w.waitReady(linkName)

	cases := []struct {
		name   string
		fault  accountserver.Fault
		reason string
		// most calls the faulted call may see in the first seconds
		maxCalls int
		message  string
		state    string
	}{
		{"unavailable", accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: providerAccount, Kind: accountserver.FaultStatus, Status: 503},
			sharev1.ReasonUnreachable, 15, "503", sharev1.IntegrationError},
		{"throttled", accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: providerAccount, Kind: accountserver.FaultStatus, Status: 429, RetryAfter: 2 * time.Second},
			sharev1.ReasonThrottled, 3, "429", sharev1.IntegrationPending},
		{"timeout", accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: providerAccount, Kind: accountserver.FaultLatency, Latency: 5 * time.Second},
			sharev1.ReasonUnreachable, 6, "getWorkOrders", sharev1.IntegrationError},
		{"garbage", accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: providerAccount, Kind: accountserver.FaultGarbage},
			sharev1.ReasonUnreachable, 15, "getWorkOrders", sharev1.IntegrationError},
		{"truncated", accountserver.Fault{Call: accountserver.CallGetWorkOrders, Account: providerAccount, Kind: accountserver.FaultTruncate},
			sharev1.ReasonUnreachable, 15, "getWorkOrders", sharev1.IntegrationError},
		{"vendor-unavailable", accountserver.Fault{Call: accountserver.CallPush, Account: vendorAccount, Kind: accountserver.FaultStatus, Status: 503},
			sharev1.ReasonUnreachable, 15, "push", sharev1.IntegrationError},
	}
	for _, tc := range cases {
		t.Logf("fault %s", tc.name)
		w.editUpstream("8001", protocol.WorkOrder{ClientInstructions: protocol.String("during " + tc.name)})
		g.Expect(w.srv.InjectFault(tc.fault)).To(Succeed())
		w.srv.ResetCounters()
		w.annotate(linkName, sharev1.AnnotationRefreshRequestedAt, tc.name)

		g.Eventually(func(g Gomega) {
			l := getLink(g, w, linkName)
			ready := condition(l, sharev1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(tc.reason))
			imported := condition(l, sharev1.ConditionImported)
			g.Expect(imported.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(l.Status.LastError).To(ContainSubstring(tc.message))
			g.Expect(l.Status.IntegrationState).To(Equal(tc.state))
			g.Expect(l.Status.LastHandledRefreshAt).NotTo(Equal(tc.name))
			g.Expect(l.Status.RecentFailures).NotTo(BeEmpty())
			g.Expect(l.Status.RecentFailures[0].Reason).To(Equal(tc.reason))
		}).Should(Succeed(), tc.name)
		l := w.link(linkName)
		g.Expect(l.Status.LastError).NotTo(ContainSubstring(w.srv.URL[len("http://"):]), "no URL in lastError")
		w.expectNoSecrets(g, linkName)

		// Backoff: the failing call is not hammered.
		g.Consistently(func() int { return w.srv.AccountRequests(tc.fault.Account, tc.fault.Call) }, "2s", "100ms").
			Should(BeNumerically("<=", tc.maxCalls), tc.name)

		// The fault stops; poke the link so the test need not wait out the
		// backoff, and it converges.
		w.srv.ClearFaults()
		w.annotate(linkName, "example.com/poke", tc.name)
		g.Eventually(func(g Gomega) {
			l := getLink(g, w, linkName)
			g.Expect(l.Status.LastHandledRefreshAt).To(Equal(tc.name))
			g.Expect(l.IsReady()).To(BeTrue(), "Ready: %v", readyOf(l))
			g.Expect(l.Status.LastError).To(BeEmpty())
			g.Expect(l.Status.IntegrationState).To(Equal(sharev1.IntegrationIdle))
			g.Expect(condition(l, sharev1.ConditionReconciling)).To(BeNil())
		}).Should(Succeed(), tc.name)
		g.Expect(protocol.Value(w.vendorOrder("8001").WorkOrder.ClientInstructions)).To(Equal("during "+tc.name), tc.name)
		w.g.Expect(vendorOrders(g, w)).To(HaveLen(len(numbers)))
	}
	g.Eventually(func(g Gomega) {
		reasons := strings.Join(w.eventReasons(g, "ShareLink", linkName), ",")
		g.Expect(reasons).To(ContainSubstring(sharev1.ReasonUnreachable))
		g.Expect(reasons).To(ContainSubstring(sharev1.ReasonThrottled))
		g.Expect(reasons).To(ContainSubstring(sharev1.ReasonRecovered))
	}).Should(Succeed())
}

// duplicatingProvider answers every pull with each order twice, the first
// copy with other instructions, as a broken provider might.
type duplicatingProvider struct{ controllers.AccountClient }

func (d duplicatingProvider) GetWorkOrders(ctx context.Context, creds protocol.Credentials, since *int64) (*protocol.GetWorkOrdersResponse, error) {
	resp, err := d.AccountClient.GetWorkOrders(ctx, creds, since)
	if err != nil {
		return nil, err
	}
	out := *resp
	out.WorkOrders = nil
	for _, w := range resp.WorkOrders {
		stale := w
		stale.ClientInstructions = protocol.String("a stale copy")
		out.WorkOrders = append(out.WorkOrders, stale, w)
	}
	return &out, nil
}

// TestAnOrderNamedTwice: an answer that names an order twice counts its
// last copy, as if the orders were recorded in turn, though the import
// writes in parallel; the vendor account holds each order once.
func TestAnOrderNamedTwice(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g := w.g
	w.createOrders(order("6001"), order("6002"), order("6003"))
	w.startOperator(func(c *controllers.Config) {
		base := controllers.HTTPClientFactory()
		c.Clients = func(url string) (controllers.AccountClient, error) {
			cl, err := base(url)
			if err != nil {
				return nil, err
			}
			return duplicatingProvider{cl}, nil
		}
	})
	w.createLink(linkName)
	w.waitImported(linkName, []string{"6001", "6002", "6003"})
	g.Eventually(func(g Gomega) {
		orders := vendorOrders(g, w)
		g.Expect(orders).To(HaveLen(3))
		for _, o := range orders {
			g.Expect(protocol.Value(o.WorkOrder.ClientInstructions)).To(Equal("Call the office before leaving"), o.RemoteNumber)
		}
	}).Should(Succeed())
	for _, number := range []string{"6001", "6002", "6003"} {
		p := w.project(g, linkName, number)
		g.Expect(p.Spec.Upstream.ClientInstructions).To(Equal("Call the office before leaving"), number)
	}
	l := w.waitReady(linkName)
	g.Expect(l.Status.RecentFailures).To(BeEmpty())
	g.Expect(l.Status.Projects).To(Equal(sharev1.ProjectCounts{Total: 3, Active: 3}))
}
