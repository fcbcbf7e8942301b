package controllers_test

// The envtest suites of the controllers: the whole import loop against a real
// kube-apiserver and etcd, and the in-process reference account server.
//
// One control plane serves the whole test binary (started on first use,
// stopped by TestMain); each test gets its own namespace, its own account
// server and its own manager, whose cache sees only that namespace, so tests
// cannot disturb each other. Everything is read through the direct client,
// and every wait is an Eventually.

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/controllers"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The accounts of every test are those of internal/testworld: the provider
// "acme" assigns work to its Crew sub-user "fieldco", which stands for the
// vendor; the vendor's own account "fieldco" holds the link's integration
// "ACME", and here two crew users and two work types.
const (
	providerAccount = testworld.ProviderAccount
	vendorAccount   = testworld.VendorAccount
	vendorLogin     = testworld.VendorLogin
	clientCode      = testworld.ClientCode
	workType        = testworld.WorkType
	otherWorkType   = "Snow Removal"
	crew1, crew2    = testworld.Crew, "crew2"
	linkName        = testworld.LinkName
	loginSecret     = testworld.LoginSecret
	keySecret       = testworld.KeySecret
)

// Waits. Generous, because the suites run under -race on small machines;
// a passing wait returns as soon as its condition holds.
const (
	timeout = 45 * time.Second
	poll    = 50 * time.Millisecond
	// bulkTimeout bounds an import of hundreds or thousands of orders,
	// which costs the API server a few writes per order.
	bulkTimeout = 10 * time.Minute
)

// --- the shared control plane ---

// One control plane serves every test of the binary (testenv.Shared).
func TestMain(m *testing.M) { testenv.Main(m) }

// --- one test's world: a namespace, the accounts, the Secrets ---

type world struct {
	t   *testing.T
	g   *WithT
	ctx context.Context
	env *testenv.Env
	c   client.Client // direct: no cache
	ns  string
	srv *accountserver.TestServer
	acc testworld.Accounts

	password      string // the vendor's clear password in the provider account
	providerToken string
	pushKey       string
}

var nsCounter atomic.Int64

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// newWorld makes a namespace, an account server with both accounts seeded,
// and the link's two Secrets.
func newWorld(t *testing.T, opts ...accountserver.Option) *world {
	t.Helper()
	env := testenv.Shared(t)
	g := NewWithT(t)
	g.SetDefaultEventuallyTimeout(timeout)
	g.SetDefaultEventuallyPollingInterval(poll)
	g.SetDefaultConsistentlyPollingInterval(poll)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	name := strings.Trim(nonDNS.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = strings.Trim(name[:40], "-")
	}
	w := &world{t: t, g: g, ctx: ctx, env: env, c: env.Client,
		ns: fmt.Sprintf("%s-%d", name, nsCounter.Add(1))}
	g.Expect(w.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}})).To(Succeed())

	w.srv = accountserver.NewTestServer(t, append([]accountserver.Option{testworld.MemoryDataDir(t)}, opts...)...)
	w.acc = testworld.Seed(t, w.srv, w.srv, "pw-"+w.ns+"-Zq7", testworld.VendorOptions{
		Crews: []string{crew1, crew2},
		WorkTypes: []accountserver.WorkType{{
			Name:        otherWorkType,
			Reference:   protocol.String("WT-SNOW"),
			Description: protocol.String("Snow removal per vendor standard"),
			Services:    []protocol.Service{{ServiceName: "Salt Walkways"}},
		}},
	})
	w.password, w.providerToken, w.pushKey = w.acc.Password, w.acc.Token, w.acc.PushKey
	t.Cleanup(w.dumpOnFailure)
	for _, s := range w.acc.Secrets(w.ns) {
		g.Expect(w.c.Create(ctx, s)).To(Succeed())
	}
	return w
}

// dumpOnFailure logs the links and the server's counters when the test
// failed, to tell why.
func (w *world) dumpOnFailure() {
	if !w.t.Failed() {
		return
	}
	var links sharev1.ShareLinkList
	if err := w.c.List(context.Background(), &links, client.InNamespace(w.ns)); err != nil {
		w.t.Logf("listing links: %v", err)
	}
	for _, l := range links.Items {
		b, _ := json.MarshalIndent(struct {
			Meta   metav1.ObjectMeta
			Status sharev1.ShareLinkStatus
		}{l.ObjectMeta, l.Status}, "", "  ")
		w.t.Logf("ShareLink %s:\n%s", l.Name, b)
	}
	w.t.Logf("account server requests: %v", w.srv.RequestCounts())
}

// secrets are the strings that must never appear in status or events.
func (w *world) secrets() []string {
	return []string{w.password, protocol.PasswordDigest(w.password), w.providerToken, w.pushKey}
}

// --- provider orders ---

// order is a provider order with every field the protocol names, assigned
// to the vendor's sub-user.
func order(number string) protocol.WorkOrder { return fixtures.Order(number, vendorLogin) }

func (w *world) createOrders(orders ...protocol.WorkOrder) {
	w.t.Helper()
	for _, o := range orders {
		_, err := w.srv.CreateOrder(w.ctx, providerAccount, o)
		w.g.Expect(err).NotTo(HaveOccurred(), "creating provider order %s", o.WorkOrderNumber)
	}
}

// createNumbered creates n plain orders numbered from first.
func (w *world) createNumbered(first, n int) []string {
	w.t.Helper()
	numbers := make([]string, n)
	for i := range n {
		numbers[i] = fmt.Sprintf("%d", first+i)
		o := order(numbers[i])
		o.Options, o.Services = nil, []protocol.Service{{ServiceName: "Grass Cut"}}
		o.WorkOrderInfo, o.Description, o.Reference, o.Address2 = nil, nil, nil, nil
		o.SourceWONumber, o.SourceWOID, o.SourceWOProvider, o.StartDate = nil, nil, nil, nil
		w.createOrders(o)
	}
	return numbers
}

// seedBulk creates n plain provider orders, numbered "P::first" onwards and
// assigned to the vendor's sub-user, a thousand per transaction: provider
// staff push them through an integration of their own account. CreateOrder
// takes a transaction per order, which under -race costs some ten
// milliseconds each.
func (w *world) seedBulk(first, n int) []string {
	w.t.Helper()
	in, err := w.srv.CreateIntegration(w.ctx, providerAccount, accountserver.NewIntegration{Code: "P"})
	w.g.Expect(err).NotTo(HaveOccurred())
	numbers := make([]string, 0, n)
	var batch []protocol.WorkOrder
	flush := func() {
		resp, err := w.srv.Push(w.ctx, providerAccount, in.PushKey, batch)
		w.g.Expect(err).NotTo(HaveOccurred())
		for _, r := range resp.Results {
			w.g.Expect(r.Error).To(BeEmpty(), r.WorkOrderNumber)
			numbers = append(numbers, r.Project)
		}
		batch = batch[:0]
	}
	for i := range n {
		o := order(fmt.Sprintf("%d", first+i))
		o.Options, o.Services = nil, []protocol.Service{{ServiceName: "Grass Cut"}}
		o.WorkOrderInfo, o.Description, o.Reference, o.Address2 = nil, nil, nil, nil
		o.SourceWONumber, o.SourceWOID, o.SourceWOProvider, o.StartDate = nil, nil, nil, nil
		batch = append(batch, o)
		if len(batch) == protocol.MaxPushOrders {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return numbers
}

func (w *world) editUpstream(number string, patch protocol.WorkOrder) {
	w.t.Helper()
	_, err := w.srv.EditOrder(w.ctx, providerAccount, number, patch)
	w.g.Expect(err).NotTo(HaveOccurred())
}

// --- the vendor account ---

func projectName(number string) string { return clientCode + "::" + number }

func (w *world) vendorOrder(number string) accountserver.Order {
	w.t.Helper()
	o, err := w.srv.GetOrder(w.ctx, vendorAccount, projectName(number))
	w.g.Expect(err).NotTo(HaveOccurred())
	return o
}

// vendorOrders lists the link's projects in the vendor account, deleted
// ones included, and checks that no order is there twice.
func vendorOrders(g Gomega, w *world) []accountserver.Order {
	orders, err := w.srv.ListOrders(w.ctx, vendorAccount, accountserver.ListOrdersOptions{IncludeDeleted: true})
	g.Expect(err).NotTo(HaveOccurred())
	seen := map[string]bool{}
	for _, o := range orders {
		g.Expect(o.Integration).To(Equal(clientCode), "project %s", o.Name)
		g.Expect(seen[o.RemoteNumber]).To(BeFalse(), "order %s is in the vendor account twice", o.RemoteNumber)
		seen[o.RemoteNumber] = true
	}
	return orders
}

// --- the link ---

// newLink is the link of the world's accounts, refreshing every 10s.
func (w *world) newLink(name string, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	return w.acc.Link(w.ns, name, append([]func(*sharev1.ShareLink){testworld.WithInterval(10 * time.Second)}, mutate...)...)
}

func (w *world) createLink(name string, mutate ...func(*sharev1.ShareLink)) *sharev1.ShareLink {
	w.t.Helper()
	l := w.newLink(name, mutate...)
	w.g.Expect(w.c.Create(w.ctx, l)).To(Succeed())
	return l
}

// manualImport turns auto-import off and asks for a first full import, so
// that every pull of the test is one the test asked for.
func manualImport(l *sharev1.ShareLink) {
	l.Spec.AutoImport = ptr.To(false)
	metav1.SetMetaDataAnnotation(&l.ObjectMeta, sharev1.AnnotationFullImportRequestedAt, "initial")
}

func (w *world) link(name string) *sharev1.ShareLink {
	w.t.Helper()
	return getLink(w.g, w, name)
}

func getLink(g Gomega, w *world, name string) *sharev1.ShareLink {
	l := &sharev1.ShareLink{}
	g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: name}, l)).To(Succeed())
	return l
}

func (w *world) updateLink(name string, change func(*sharev1.ShareLink)) {
	w.t.Helper()
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, name)
		change(l)
		g.Expect(w.c.Update(w.ctx, l)).To(Succeed())
	}).Should(Succeed())
}

func (w *world) annotate(name, key, value string) {
	w.t.Helper()
	w.updateLink(name, func(l *sharev1.ShareLink) {
		if value == "" {
			delete(l.Annotations, key)
			return
		}
		metav1.SetMetaDataAnnotation(&l.ObjectMeta, key, value)
	})
}

// refresh asks for an incremental refresh and waits until it is handled.
func (w *world) refresh(name, value string) {
	w.t.Helper()
	w.request(name, sharev1.AnnotationRefreshRequestedAt, value, func(l *sharev1.ShareLink) string { return l.Status.LastHandledRefreshAt })
}

// fullImport asks for a full import and waits until it is handled.
func (w *world) fullImport(name, value string) {
	w.t.Helper()
	w.request(name, sharev1.AnnotationFullImportRequestedAt, value, func(l *sharev1.ShareLink) string { return l.Status.LastHandledFullImportAt })
}

// request sets a requested-at annotation and waits until the link's status
// says it handled that value.
func (w *world) request(name, key, value string, handled func(*sharev1.ShareLink) string) {
	w.t.Helper()
	w.annotate(name, key, value)
	w.g.Eventually(func(g Gomega) {
		l := getLink(g, w, name)
		g.Expect(handled(l)).To(Equal(value), "Ready: %v", readyOf(l))
	}).Should(Succeed())
}

// waitReady waits until the link is Ready for its generation.
func (w *world) waitReady(name string) *sharev1.ShareLink {
	w.t.Helper()
	var l *sharev1.ShareLink
	w.g.Eventually(func(g Gomega) {
		l = getLink(g, w, name)
		g.Expect(l.IsReady()).To(BeTrue(), "Ready: %v", readyOf(l))
		g.Expect(l.Status.ObservedGeneration).To(Equal(l.Generation))
	}).Should(Succeed())
	return l
}

func readyOf(o sharev1.Conditioned) string {
	c := meta.FindStatusCondition(o.GetConditions(), sharev1.ConditionReady)
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
}

// --- SharedProjects ---

func (w *world) projects(g Gomega, link string) []sharev1.SharedProject {
	var list sharev1.SharedProjectList
	g.Expect(w.c.List(w.ctx, &list, client.InNamespace(w.ns), client.MatchingLabels{sharev1.LabelLink: link})).To(Succeed())
	return list.Items
}

func (w *world) project(g Gomega, link, number string) *sharev1.SharedProject {
	p := &sharev1.SharedProject{}
	g.Expect(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: sharev1.SharedProjectName(link, number)}, p)).To(Succeed())
	return p
}

// applied says the project is applied, as its status shows it, for the
// generation it has.
func applied(g Gomega, p *sharev1.SharedProject) {
	g.Expect(p.Status.Created).To(BeTrue(), "project %s not created", p.Name)
	g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation), "project %s", p.Name)
	g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionApplied)).To(BeTrue(), "project %s: %v", p.Name, p.Status.Conditions)
	g.Expect(meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionReady)).To(BeTrue(), "project %s: %v", p.Name, p.Status.Conditions)
}

// waitImported waits until the link has exactly the numbers as SharedProjects,
// each applied, and the vendor account holds each exactly once.
func (w *world) waitImported(link string, numbers []string) {
	w.t.Helper()
	w.g.Eventually(func(g Gomega) {
		ps := w.projects(g, link)
		g.Expect(ps).To(HaveLen(len(numbers)))
		for i := range ps {
			applied(g, &ps[i])
		}
		orders := vendorOrders(g, w)
		g.Expect(orders).To(HaveLen(len(numbers)))
	}).Should(Succeed())
}

// resourceVersions maps each SharedProject of the namespace to its
// resourceVersion.
func (w *world) resourceVersions(g Gomega) map[string]string {
	rv, err := testworld.ResourceVersions(w.ctx, w.c, w.ns)
	g.Expect(err).NotTo(HaveOccurred())
	return rv
}

func changedKeys(before, after map[string]string) []string { return testworld.Changed(before, after) }

// --- events ---

// eventTexts returns every Event of the namespace, both APIs, as JSON.
func (w *world) eventTexts(g Gomega) []string {
	var ev eventsv1.EventList
	g.Expect(w.c.List(w.ctx, &ev, client.InNamespace(w.ns))).To(Succeed())
	var core corev1.EventList
	g.Expect(w.c.List(w.ctx, &core, client.InNamespace(w.ns))).To(Succeed())
	return append(jsonTexts(g, ev.Items), jsonTexts(g, core.Items)...)
}

func jsonTexts[T any](g Gomega, items []T) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		b, err := json.Marshal(it)
		g.Expect(err).NotTo(HaveOccurred())
		out = append(out, string(b))
	}
	return out
}

// linkEvents lists the events.k8s.io Events about an object by reason.
// events are the events about one object in the world's namespace.
func (w *world) events(g Gomega, kind, name string) []eventsv1.Event {
	var ev eventsv1.EventList
	g.Expect(w.c.List(w.ctx, &ev, client.InNamespace(w.ns))).To(Succeed())
	var out []eventsv1.Event
	for _, e := range ev.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func (w *world) eventReasons(g Gomega, kind, name string) []string {
	return eventFields(w.events(g, kind, name), func(e eventsv1.Event) string { return e.Reason })
}

func (w *world) eventMessages(g Gomega, kind, name string) []string {
	return eventFields(w.events(g, kind, name), func(e eventsv1.Event) string { return e.Note })
}

func eventFields(evs []eventsv1.Event, field func(eventsv1.Event) string) []string {
	var out []string
	for _, e := range evs {
		out = append(out, field(e))
	}
	return out
}

// --- the operator ---

type operator struct {
	mgr    manager.Manager
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startOperator starts a manager with the reconcilers, watching only the
// world's namespace, and stops it when the test ends.
func (w *world) startOperator(mutate ...func(*controllers.Config)) *operator {
	w.t.Helper()
	return w.startManager([]string{w.ns}, mutate...)
}

// startOperatorIn starts the reconcilers with a cache of several
// namespaces, as --watch-namespaces gives them, or a cluster-wide manager
// its cluster.
func (w *world) startOperatorIn(namespaces ...string) *operator {
	w.t.Helper()
	return w.startManager(namespaces)
}

// startManager starts a manager with the reconcilers whose cache holds the
// namespaces (all of them when none is named), and stops it when the test
// ends.
func (w *world) startManager(namespaces []string, mutate ...func(*controllers.Config)) *operator {
	w.t.Helper()
	cached := map[string]cache.Config{}
	for _, ns := range namespaces {
		cached[ns] = cache.Config{}
	}
	mgr, err := ctrl.NewManager(w.env.Config, ctrl.Options{
		Scheme:                  w.env.Scheme,
		Logger:                  ctrl.Log.WithName(w.ns),
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Controller:              config.Controller{SkipNameValidation: ptr.To(true)},
		Cache:                   cache.Options{DefaultNamespaces: cached, DefaultTransform: controllers.TrimProjectForCache},
		Client:                  client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		GracefulShutdownTimeout: ptr.To(30 * time.Second),
	})
	w.g.Expect(err).NotTo(HaveOccurred())
	cfg := controllers.Config{
		CallTimeout: 3 * time.Second,
		PushKeyAddr: "0",
		Clients:     controllers.HTTPClientFactory(),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	w.g.Expect(controllers.Setup(mgr, cfg)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	op := &operator{mgr: mgr, cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	w.t.Cleanup(func() { op.stop(w.t) })
	return op
}

// stop stops the manager and waits until it has.
func (op *operator) stop(t *testing.T) {
	op.once.Do(func() {
		op.cancel()
		if err := <-op.done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// withClock gives the reconcilers a clock the test moves.
func withClock(c clock.Clock) func(*controllers.Config) {
	return func(cfg *controllers.Config) { cfg.Clock = c }
}
