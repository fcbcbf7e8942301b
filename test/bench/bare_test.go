package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/pruvan-share/share-operator/accountserver"
	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// The limit: a bare client that does what the import must do and nothing
// else. One full pull; a create of each SharedProject exactly as the
// operator left it (labels, owner, spec); the orders pushed 1,000 to a
// request to an account seeded like the vendor's, where they are new as the
// operator's were; and a status patch of each with the operator's status.
// The Kubernetes client has the operator's limits.

// snapshot reads what the operator made, then removes the link and its
// projects so that the bare client starts from the same empty namespace
// state. The operator is stopped: nothing reacts.
func (r *sizeRun) snapshot() []sharev1.SharedProject {
	t, w := r.t, r.w
	var list sharev1.SharedProjectList
	if err := w.c.List(w.ctx, &list, client.InNamespace(w.ns)); err != nil {
		t.Fatal(err)
	}
	size := 0
	for i := range list.Items {
		p := list.Items[i].DeepCopy()
		p.ManagedFields = nil
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		size += len(b)
	}
	r.res.ObjectBytes = size / max(len(list.Items), 1)
	l, err := w.link()
	if err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(l.DeepCopy())
	controllerutil.RemoveFinalizer(l, sharev1.Finalizer)
	if err := w.c.Patch(w.ctx, l, patch); err != nil {
		t.Fatal(err)
	}
	if err := w.c.Delete(w.ctx, l); err != nil {
		t.Fatal(err)
	}
	w.deleteProjects(w.ns)
	return list.Items
}

func (r *sizeRun) bare(objs []sharev1.SharedProject) {
	t, w := r.t, r.w
	// The orders as the vendor account holds them after the operator's
	// import: what its pushes carried.
	held, err := w.vsrv.ListOrders(w.ctx, testworld.VendorAccount, accountserver.ListOrdersOptions{Integration: testworld.ClientCode})
	if err != nil {
		t.Fatal(err)
	}
	orders := make([]protocol.WorkOrder, len(held))
	for i, o := range held {
		orders[i] = o.WorkOrder
		orders[i].WorkOrderNumber = o.RemoteNumber
	}
	type bareRun struct {
		workers int
		vendor  string
		dst     *time.Duration
		cost    *writeCounts
		when    *span
	}
	runs := []bareRun{{1, bareVendor1, &r.res.Bare1, &r.res.Bare1Writes, &r.res.Bare1Span}, {8, bareVendor8, &r.res.Bare8, &r.res.Bare8Writes, &r.res.Bare8Span}}
	if r.importOnly {
		runs = runs[1:] // the comparison the targets name: 8 writers, as the operator
	}
	for _, run := range runs {
		ns := fmt.Sprintf("%s-bare%d", w.ns, run.workers)
		w.mustCreate(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		progress("N=%d: bare client, %d writer(s): pull, %d creates, %d pushes, %d status patches", r.n, run.workers, len(objs), (len(orders)+protocol.MaxPushOrders-1)/protocol.MaxPushOrders, len(objs))
		before, err := r.apis.writes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		api0 := r.apiserverState()
		started := time.Now()
		d := r.bareRun(run.workers, ns, run.vendor, objs, orders)
		*run.when = span{started, time.Now()}
		after, err := r.apis.writes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		*run.dst, *run.cost = d, after.minus(before)
		progress("N=%d: bare client, %d writer(s): %s (%.0f orders/s); apiserver writes %s; %s", r.n, run.workers, d.Round(time.Millisecond),
			float64(r.n)/d.Seconds(), run.cost.String(), api0.spent(r.apiserverState(), r.n))
		w.deleteProjects(ns)
	}
}

func (r *sizeRun) bareRun(workers int, ns, vendor string, objs []sharev1.SharedProject, orders []protocol.WorkOrder) time.Duration {
	t, w := r.t, r.w
	ctx := context.Background()
	c := directClient(t, r.env, r.qps, r.burst)
	provider, err := protocol.NewClient(w.srv.AccountURL(testworld.ProviderAccount))
	if err != nil {
		t.Fatal(err)
	}
	vendorClient, err := protocol.NewClient(w.vsrv.AccountURL(vendor))
	if err != nil {
		t.Fatal(err)
	}
	fresh := make([]*sharev1.SharedProject, len(objs))
	for i := range objs {
		o := &objs[i]
		fresh[i] = &sharev1.SharedProject{
			ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: ns, Labels: o.Labels, OwnerReferences: o.OwnerReferences},
			Spec:       *o.Spec.DeepCopy(),
		}
	}

	start := time.Now()
	resp, err := provider.GetWorkOrders(ctx, w.creds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.WorkOrders) != r.n {
		t.Fatalf("bare pull: %d orders, want %d", len(resp.WorkOrders), r.n)
	}
	parallel(t, workers, len(fresh), func(i int) error { return c.Create(ctx, fresh[i]) })
	for s := 0; s < len(orders); s += protocol.MaxPushOrders {
		if _, err := vendorClient.Push(ctx, w.pushKeys[vendor], orders[s:min(s+protocol.MaxPushOrders, len(orders))]); err != nil {
			t.Fatal(err)
		}
	}
	parallel(t, workers, len(fresh), func(i int) error {
		p := fresh[i]
		base := p.DeepCopy()
		p.Status = *objs[i].Status.DeepCopy()
		return c.Status().Patch(ctx, p, client.MergeFrom(base))
	})
	return time.Since(start)
}

// parallel runs f(0..n-1) on workers goroutines and fails on the first
// error.
func parallel(t interface{ Fatal(...any) }, workers, n int, f func(int) error) {
	var (
		wg    sync.WaitGroup
		next  = make(chan int)
		errMu sync.Mutex
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
