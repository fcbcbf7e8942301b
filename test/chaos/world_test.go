package chaos

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The accounts and orders are internal/testworld's; here the integration's
// QA lets photos go at once.

// world is one namespace, one account server with both accounts, and the
// link's Secrets.
type world struct {
	t   *testing.T
	ctx context.Context
	env *testenv.Env
	c   client.Client
	ns  string
	srv *accountserver.TestServer
	acc testworld.Accounts
}

func newWorld(t *testing.T, env *testenv.Env, ns string) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), env: env, c: env.Client, ns: ns}
	w.must(w.c.Create(w.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	w.srv = accountserver.NewTestServer(t, testworld.MemoryDataDir(t))
	w.acc = testworld.Seed(t, w.srv, w.srv, "chaos-"+ns+"-Zq7", testworld.VendorOptions{AutoRelay: true})
	for _, s := range w.acc.Secrets(ns) {
		w.must(w.c.Create(w.ctx, s))
	}
	return w
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// seedOrders creates n provider orders assigned to the vendor's sub-user.
func (w *world) seedOrders(n int) {
	w.t.Helper()
	testworld.SeedOrders(w.t, w.srv, n, func(number string) protocol.WorkOrder { return fixtures.Order(number, testworld.VendorLogin) }, nil)
}

// createLink creates the link; relay says whether photos relay from the
// start.
func (w *world) createLink(relay bool) {
	w.must(w.c.Create(w.ctx, w.acc.Link(w.ns, testworld.LinkName, func(l *sharev1.ShareLink) {
		l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: relay}
	})))
}

func (w *world) link() *sharev1.ShareLink {
	w.t.Helper()
	l := &sharev1.ShareLink{}
	w.must(w.c.Get(w.ctx, client.ObjectKey{Namespace: w.ns, Name: testworld.LinkName}, l))
	return l
}

func (w *world) setRelay(on bool) {
	w.t.Helper()
	l := w.link()
	patch := client.MergeFrom(l.DeepCopy())
	l.Spec.PhotoRelay = &sharev1.PhotoRelaySpec{Enabled: on}
	w.must(w.c.Patch(w.ctx, l, patch))
}

// sharedProjectCount counts the namespace's SharedProjects from a list of
// one (the apiserver counts the rest), so that polling it stays cheap.
func (w *world) sharedProjectCount() int {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(sharev1.GroupVersion.WithKind("SharedProjectList"))
	if err := w.c.List(w.ctx, list, client.InNamespace(w.ns), client.Limit(1)); err != nil {
		w.t.Errorf("counting SharedProjects: %v", err)
		return 0
	}
	n := len(list.Items)
	if r := list.GetRemainingItemCount(); r != nil {
		n += int(*r)
	}
	return n
}

// vendorProjects lists the vendor account's projects, deleted ones too.
func (w *world) vendorProjects() []accountserver.Order {
	orders, err := w.srv.ListOrders(w.ctx, testworld.VendorAccount, accountserver.ListOrdersOptions{IncludeDeleted: true})
	if err != nil {
		w.t.Errorf("listing the vendor's projects: %v", err)
	}
	return orders
}

func (w *world) items(account string) []accountserver.Item {
	items, err := w.srv.ListItems(w.ctx, account, "")
	if err != nil {
		w.t.Errorf("listing the items of %s: %v", account, err)
	}
	return items
}

// importCounts is what an import left, counted every way it could go wrong.
type importCounts struct {
	SharedProjects, Applied, DuplicateOrders int
	VendorProjects, VendorExpected           int
	VendorDuplicates, VendorExtra            int
	LinkTotal                                int32
	LinkReady                                bool
}

// countImport counts the SharedProjects (all, applied, and any two of one
// work order) and the vendor's projects: how many are CODE::n of a seeded
// n, how many names appear twice, how many are anything else.
func (w *world) countImport(n int) importCounts {
	var c importCounts
	var list sharev1.SharedProjectList
	if err := w.c.List(w.ctx, &list, client.InNamespace(w.ns)); err != nil {
		w.t.Errorf("listing SharedProjects: %v", err)
	}
	c.SharedProjects = len(list.Items)
	byOrder := map[string]int{}
	for _, p := range list.Items {
		byOrder[p.Spec.WorkOrderNumber]++
		if p.Status.Created && p.Status.ObservedGeneration == p.Generation &&
			meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionApplied) {
			c.Applied++
		}
	}
	for _, k := range byOrder {
		c.DuplicateOrders += k - 1
	}
	expected := map[string]bool{}
	for i := range n {
		expected[testworld.Project(testworld.Number(i))] = true
	}
	names := map[string]int{}
	for _, o := range w.vendorProjects() {
		c.VendorProjects++
		names[o.Name]++
		if !expected[o.Name] || o.Deleted {
			c.VendorExtra++
		}
	}
	for name, k := range names {
		c.VendorDuplicates += k - 1
		if expected[name] {
			c.VendorExpected++
		}
	}
	l := w.link()
	c.LinkTotal = l.Status.Projects.Total
	c.LinkReady = meta.IsStatusConditionTrue(l.Status.Conditions, sharev1.ConditionReady)
	return c
}

func (c importCounts) done(n int) bool {
	return c.SharedProjects == n && c.Applied == n && c.VendorExpected == n && c.VendorProjects == n &&
		int(c.LinkTotal) == n && c.LinkReady
}

// relayCounts is what a relay left.
type relayCounts struct {
	VendorItems, Published       int
	ProviderItems, ProviderUUIDs int
	Missing                      int // vendor items the provider lacks
	DuplicateUUIDs               int // uuids the provider holds twice or more
	DuplicateFiles               int // one photo under two uuids at the provider
	LinkRelayed                  int64
	LinkFailed                   int64
}

func (w *world) countRelay() relayCounts {
	var c relayCounts
	vendor := w.items(testworld.VendorAccount)
	provider := w.items(testworld.ProviderAccount)
	c.VendorItems, c.ProviderItems = len(vendor), len(provider)
	uuids, files := map[string]int{}, map[string]int{}
	for _, it := range provider {
		uuids[it.UUID]++
		files[it.Project+"/"+it.Meta.FileName]++
	}
	c.ProviderUUIDs = len(uuids)
	for _, k := range uuids {
		c.DuplicateUUIDs += k - 1
	}
	for _, k := range files {
		c.DuplicateFiles += k - 1
	}
	for _, it := range vendor {
		if it.RelayStatus == protocol.RelayPublished {
			c.Published++
		}
		if uuids[it.UUID] == 0 {
			c.Missing++
		}
	}
	l := w.link()
	c.LinkRelayed, c.LinkFailed = l.Status.Relay.Relayed, l.Status.Relay.Failed
	return c
}

// accounts is c without the link's status: what the two accounts hold.
func (c relayCounts) accounts() relayCounts {
	c.LinkRelayed, c.LinkFailed = 0, 0
	return c
}

func (c relayCounts) done(n int) bool {
	return c.VendorItems == n && c.Published == n && c.ProviderItems == n && c.Missing == 0
}

// uploadPhotos uploads n photos of size bytes as the crew, spread over the
// first orders projects.
func (w *world) uploadPhotos(n, orders int, size int64) {
	w.t.Helper()
	for i := range n {
		meta := protocol.Item{
			ServiceName: "Grass Cut", EvidenceType: []string{"before", "during", "after"}[i%3],
			FileName: fmt.Sprintf("photo-%04d.jpg", i), FileExt: "jpg", Size: size,
		}
		project := testworld.Project(testworld.Number(i % orders))
		if _, err := w.srv.UploadItem(w.ctx, testworld.VendorAccount, project, testworld.Crew, meta, testworld.Photo(size, byte(i))); err != nil {
			w.t.Fatalf("uploading photo %d to %s: %v", i, project, err)
		}
	}
}

// waitFor polls check until it returns true, failing the test when what it
// counts (progress) has not moved for stall.
func (w *world) waitFor(what string, stall time.Duration, progress func() int, check func() bool) {
	w.t.Helper()
	last, moved := -1, time.Now()
	for !check() {
		if p := progress(); p != last {
			last, moved = p, time.Now()
		}
		if time.Since(moved) > stall {
			w.t.Fatalf("%s: no progress for %s (at %d)", what, stall, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// projectWatch follows the namespace's SharedProjects through a watch, so
// that the import's progress costs no list: how many exist, and how many
// have been applied to the vendor account.
type projectWatch struct {
	mu      sync.Mutex
	created map[string]bool
	applied map[string]bool
}

func (w *world) watchProjects() *projectWatch {
	w.t.Helper()
	pw := &projectWatch{created: map[string]bool{}, applied: map[string]bool{}}
	wc, err := client.NewWithWatch(w.env.Config, client.Options{Scheme: w.env.Scheme})
	w.must(err)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	w.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var list sharev1.SharedProjectList
			if err := wc.List(ctx, &list, client.InNamespace(w.ns)); err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for i := range list.Items {
				pw.observe(&list.Items[i])
			}
			wi, err := wc.Watch(ctx, &sharev1.SharedProjectList{}, client.InNamespace(w.ns),
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range wi.ResultChan() {
				if p, ok := ev.Object.(*sharev1.SharedProject); ok {
					pw.observe(p)
				}
			}
			wi.Stop()
		}
	}()
	return pw
}

func (pw *projectWatch) observe(p *sharev1.SharedProject) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	pw.created[p.Name] = true
	if meta.IsStatusConditionTrue(p.Status.Conditions, sharev1.ConditionApplied) {
		pw.applied[p.Name] = true
	}
}

// counts are the SharedProjects seen and those seen applied.
func (pw *projectWatch) counts() (created, applied int) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return len(pw.created), len(pw.applied)
}
