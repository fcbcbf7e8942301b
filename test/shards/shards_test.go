// Package shards runs a fleet sharded by --watch-label-selector: two
// manager processes, one with shard=a and one with shard=b, each electing
// its own leader, against one control plane and one reference server, with
// three links: one labelled shard=a, one shard=b and one without the label.
//
// It proves that each labelled link is reconciled by exactly one manager
// (its per-link metric series appear on that manager's /metrics only),
// that a bookmark tap is answered only by the shard that serves the link,
// and that the unlabelled link is served by neither: no finalizer, no
// status, no key, no projects, until a third manager whose selector matches
// links without the label ("!shard") takes it.
//
//	KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test -v -count=1 ./test/shards
package shards

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/managerproc"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
)

func TestMain(m *testing.M) { os.Exit(managerproc.RunTests(m)) }

const (
	ns = "shards"
	// orders are the provider's orders before the taps; each link imports
	// them all into its own vendor account.
	orders = 3
	// wait bounds each Eventually: a race-built manager on a loaded
	// 2-core machine.
	wait = 60 * time.Second
)

// shardLink is one of the three links: its name, its shard label (empty:
// none) and its own vendor account, so that the three are three identities
// (one vendor account and code fed by two links would stall the newer as
// DuplicateLink).
type shardLink struct {
	name, shard, vendor string
	pushKey             string // the vendor integration's key
}

var (
	linkA = &shardLink{name: "link-a", shard: "a", vendor: "vendor-a"}
	linkB = &shardLink{name: "link-b", shard: "b", vendor: "vendor-b"}
	linkC = &shardLink{name: "link-c", vendor: "vendor-c"}
)

type world struct {
	t   *testing.T
	ctx context.Context
	c   client.Client
	srv *accountserver.TestServer
	hc  *http.Client
}

func TestShards(t *testing.T) {
	g := NewWithT(t)
	env := testenv.Start(t)
	w := &world{t: t, ctx: context.Background(), c: env.Client, hc: &http.Client{Timeout: 10 * time.Second}}
	w.srv = accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	g.Expect(w.c.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())

	// One provider login, three vendor accounts, each with the integration
	// ACME.
	const password = "shards-Zq7-login"
	token := testworld.SeedProvider(t, w.srv, password)
	g.Expect(w.c.Create(w.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: testworld.LoginSecret, Namespace: ns},
		StringData: map[string]string{
			sharev1.SecretKeyUsername: testworld.VendorLogin,
			sharev1.SecretKeyPassword: password,
			sharev1.SecretKeyToken:    token,
		},
	})).To(Succeed())
	for _, l := range []*shardLink{linkA, linkB, linkC} {
		l.pushKey = testworld.SeedVendor(t, w.srv, l.vendor, testworld.VendorOptions{})
		g.Expect(w.c.Create(w.ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: l.vendor + "-key", Namespace: ns},
			StringData: map[string]string{sharev1.SecretKeyPushKey: l.pushKey},
		})).To(Succeed())
	}
	w.seedOrders(0, orders)

	bin := managerproc.Binary(t)
	start := func(name, selector string) *managerproc.Process {
		return managerproc.Start(t, managerproc.Options{
			Binary: bin, Kubeconfig: env.Kubeconfig, Name: name,
			Args: []string{
				"--watch-label-selector=" + selector,
				"--leader-elect", "--leader-election-namespace=" + ns,
			},
		})
	}
	// Both managers run before the links exist: each must keep to its
	// shard from the first event, not only after it started.
	started := time.Now()
	mgrA, mgrB := start("manager-a", "shard=a"), start("manager-b", "shard=b")
	t.Logf("two managers ready in %s", time.Since(started).Round(time.Millisecond))
	for _, l := range []*shardLink{linkA, linkB, linkC} {
		g.Expect(w.c.Create(w.ctx, w.link(l))).To(Succeed())
	}

	t.Run("each labelled link is imported by its shard's manager alone", func(t *testing.T) {
		g := NewWithT(t)
		for _, c := range []struct {
			link        *shardLink
			mine, other *managerproc.Process
		}{{linkA, mgrA, mgrB}, {linkB, mgrB, mgrA}} {
			w.waitImported(g, c.link, orders)
			g.Eventually(func() []string { return w.linksOn(c.mine) }, wait, time.Second).Should(ContainElement(c.link.name),
				"share_link_condition of %s on its shard's manager", c.link.name)
			g.Expect(w.linksOn(c.other)).NotTo(ContainElement(c.link.name), "share_link_condition of %s on the other shard's manager", c.link.name)
		}
		g.Expect(w.linksOn(mgrA)).To(Equal([]string{linkA.name}), "the links manager A reports")
		g.Expect(w.linksOn(mgrB)).To(Equal([]string{linkB.name}), "the links manager B reports")
		g.Expect(w.projectLinks(mgrA)).To(Equal([]string{linkA.name}), "share_link_projects on manager A")
		g.Expect(w.projectLinks(mgrB)).To(Equal([]string{linkB.name}), "share_link_projects on manager B")

		// Each selector elected its own leader: two Leases.
		var leases coordinationv1.LeaseList
		g.Expect(w.c.List(w.ctx, &leases, client.InNamespace(ns))).To(Succeed())
		g.Expect(leases.Items).To(HaveLen(2), "one Lease per selector")
		g.Expect(*leases.Items[0].Spec.HolderIdentity).NotTo(Equal(*leases.Items[1].Spec.HolderIdentity))
	})

	t.Run("an unlabelled link is served by neither shard", func(t *testing.T) {
		// By now both managers have had their caches and a whole import:
		// a manager that would take the link has had time to, and for a
		// few seconds more nothing appears.
		g := NewWithT(t)
		g.Consistently(func(g Gomega) { w.expectUntouched(g, linkC) }, 3*time.Second, 500*time.Millisecond).Should(Succeed())
		g.Expect(w.linksOn(mgrA)).NotTo(ContainElement(linkC.name))
		g.Expect(w.linksOn(mgrB)).NotTo(ContainElement(linkC.name))
	})

	t.Run("a bookmark tap is answered by its link's shard only", func(t *testing.T) {
		g := NewWithT(t)
		keyA, keyB := w.bookmarkKey(g, linkA), w.bookmarkKey(g, linkB)
		w.seedOrders(orders, orders+1) // a new order for the taps to bring in

		w.tapOK(g, mgrA, keyA)
		w.waitRefreshed(g, linkA, orders+1)
		// The tap refreshed link a alone: link b still has the old orders.
		g.Expect(w.vendorProjects(linkB)).To(HaveLen(orders), "vendor-b's projects after link a's tap")
		g.Expect(w.getLink(linkB).Annotations).NotTo(HaveKey(sharev1.AnnotationRefreshRequestedAt))

		// Shard A knows link a's key (it just answered it); link b's key
		// means nothing there, and link a's nothing to shard B: each
		// registry holds the keys of its own shard's links only.
		const invalid = `{"response":false,"error":"invalid clientCode"}`
		g.Expect(w.tap(g, mgrA, keyB)).To(Equal(invalid), "link b's key on shard A's listener")
		g.Expect(w.tap(g, mgrB, keyA)).To(Equal(invalid), "link a's key on shard B's listener")

		w.tapOK(g, mgrB, keyB)
		w.waitRefreshed(g, linkB, orders+1)
		g.Expect(w.tap(g, mgrA, keyB)).To(Equal(invalid), "link b's key on shard A's listener, once shard B knows it")
		// Neither tap reached the unlabelled link.
		w.expectUntouched(g, linkC)
	})

	t.Run("a manager selecting links without the label serves the unlabelled link", func(t *testing.T) {
		g := NewWithT(t)
		mgrC := start("manager-c", "!shard")
		w.waitImported(g, linkC, orders+1)
		g.Eventually(func() []string { return w.linksOn(mgrC) }, wait, time.Second).Should(Equal([]string{linkC.name}))
		g.Expect(w.linksOn(mgrA)).To(Equal([]string{linkA.name}))
		g.Expect(w.linksOn(mgrB)).To(Equal([]string{linkB.name}))
	})
}

// link is the ShareLink of l: the world's provider login and l's vendor
// account, refreshed hourly so that only taps refresh it during the test.
func (w *world) link(l *shardLink) *sharev1.ShareLink {
	return testworld.Link(ns, l.name, w.srv.AccountURL(testworld.ProviderAccount), w.srv.AccountURL(l.vendor),
		testworld.WithInterval(time.Hour),
		func(sl *sharev1.ShareLink) {
			sl.Spec.Account.SecretRef.Name = l.vendor + "-key"
			if l.shard != "" {
				sl.Labels = map[string]string{"shard": l.shard}
			}
		})
}

func (w *world) getLink(l *shardLink) *sharev1.ShareLink {
	w.t.Helper()
	sl := &sharev1.ShareLink{}
	if err := w.c.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: l.name}, sl); err != nil {
		w.t.Fatalf("reading %s: %v", l.name, err)
	}
	return sl
}

// seedOrders creates the provider orders from index from up to to,
// assigned to the vendor.
func (w *world) seedOrders(from, to int) {
	w.t.Helper()
	for i := from; i < to; i++ {
		if _, err := w.srv.CreateOrder(w.ctx, testworld.ProviderAccount, fixtures.Order(testworld.Number(i), testworld.VendorLogin)); err != nil {
			w.t.Fatalf("creating provider order %d: %v", i, err)
		}
	}
}

// waitImported waits until l is Ready with n projects, in status and in its
// vendor account.
func (w *world) waitImported(g *WithT, l *shardLink, n int) {
	w.t.Helper()
	g.Eventually(func(g Gomega) {
		sl := w.getLink(l)
		g.Expect(meta.IsStatusConditionTrue(sl.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "%s is Ready: %v", l.name, sl.Status.Conditions)
		g.Expect(sl.Status.Projects.Total).To(BeEquivalentTo(n))
		g.Expect(w.vendorProjects(l)).To(HaveLen(n))
	}, wait, 250*time.Millisecond).Should(Succeed())
}

// waitRefreshed waits until l acknowledged the tap's refresh request and
// holds n projects.
func (w *world) waitRefreshed(g *WithT, l *shardLink, n int) {
	w.t.Helper()
	g.Eventually(func(g Gomega) {
		sl := w.getLink(l)
		asked := sl.Annotations[sharev1.AnnotationRefreshRequestedAt]
		g.Expect(asked).NotTo(BeEmpty(), "the tap set %s", sharev1.AnnotationRefreshRequestedAt)
		g.Expect(sl.Status.LastHandledRefreshAt).To(Equal(asked))
	}, wait, 250*time.Millisecond).Should(Succeed())
	w.waitImported(g, l, n)
}

// expectUntouched expects that no manager took l: no finalizer, no status
// but the default,
// no operator-made key Secret, no SharedProjects, nothing in its vendor
// account.
func (w *world) expectUntouched(g Gomega, l *shardLink) {
	sl := w.getLink(l)
	g.Expect(sl.Finalizers).To(BeEmpty(), "finalizers of %s", l.name)
	// The status the CRD defaults a new link to, and nothing more.
	g.Expect(sl.Status).To(Equal(sharev1.ShareLinkStatus{ObservedGeneration: -1}), "status of %s", l.name)
	err := w.c.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: l.name + "-push-key"}, &corev1.Secret{})
	g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%s-push-key: %v", l.name, err)
	var projects sharev1.SharedProjectList
	g.Expect(w.c.List(w.ctx, &projects, client.InNamespace(ns), client.MatchingLabels{sharev1.LabelLink: l.name})).To(Succeed())
	g.Expect(projects.Items).To(BeEmpty(), "SharedProjects of %s", l.name)
	g.Expect(w.vendorProjects(l)).To(BeEmpty(), "projects in %s", l.vendor)
}

func (w *world) vendorProjects(l *shardLink) []accountserver.Order {
	w.t.Helper()
	list, err := w.srv.ListOrders(w.ctx, l.vendor, accountserver.ListOrdersOptions{IncludeDeleted: true})
	if err != nil {
		w.t.Fatalf("listing the projects of %s: %v", l.vendor, err)
	}
	return list
}

// bookmarkKey reads the key of l's bookmark from the Secret the operator
// made.
func (w *world) bookmarkKey(g *WithT, l *shardLink) string {
	var s corev1.Secret
	g.Eventually(func() error {
		return w.c.Get(w.ctx, client.ObjectKey{Namespace: ns, Name: l.name + "-push-key"}, &s)
	}, wait, 250*time.Millisecond).Should(Succeed())
	key := string(s.Data[sharev1.SecretKeyPushKey])
	g.Expect(key).NotTo(BeEmpty())
	return key
}

// tapOK taps key on p until p answers success: the registrar fills a
// manager's registry shortly after the key Secret appears. Twice a second,
// within the listener's per-client limit.
func (w *world) tapOK(g *WithT, p *managerproc.Process, key string) {
	g.Eventually(func() string { return w.tap(g, p, key) }, wait, 500*time.Millisecond).
		Should(Equal(`{"response":true,"error":"success"}`))
}

// tap opens the bookmark URL of key on p's push-key listener, as a phone
// would, and returns the answer.
func (w *world) tap(g *WithT, p *managerproc.Process, key string) string {
	u := "http://" + p.PushKeyAddr + "/api/?apiKey=" + url.QueryEscape(key)
	get := func() (string, error) {
		req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, u, nil)
		if err != nil {
			return "", err
		}
		resp, err := w.hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var a struct {
			Response bool   `json:"response"`
			Error    string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			return "", fmt.Errorf("status %d: %w", resp.StatusCode, err)
		}
		b, err := json.Marshal(a)
		return string(b), err
	}
	answer, err := get()
	g.Expect(err).NotTo(HaveOccurred())
	return answer
}

// linksOn names the links of namespace ns that p reports in
// share_link_condition, sorted.
func (w *world) linksOn(p *managerproc.Process) []string {
	return w.seriesLinks(p, "share_link_condition")
}

// projectLinks names the links p reports in share_link_projects.
func (w *world) projectLinks(p *managerproc.Process) []string {
	return w.seriesLinks(p, "share_link_projects")
}

func (w *world) seriesLinks(p *managerproc.Process, metric string) []string {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, p.MetricsURL, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		w.t.Fatalf("scraping %s: %v", p.MetricsURL, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		w.t.Fatalf("parsing %s: %v", p.MetricsURL, err)
	}
	seen := map[string]bool{}
	if f := families[metric]; f != nil {
		for _, m := range f.GetMetric() {
			var namespace, link string
			for _, lp := range m.GetLabel() {
				switch lp.GetName() {
				case "namespace":
					namespace = lp.GetValue()
				case "link":
					link = lp.GetValue()
				}
			}
			if namespace == ns {
				seen[link] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}
