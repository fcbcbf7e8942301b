package controllers

// What a first import's writes cost the API server, a project at a time:
// the operator's server-side apply beside the bare client's create, each
// with and without the status patch that follows, and with a watch like
// the operator's informer. An import on a small machine is bound by the
// API server's CPU (issue #14: kube-apiserver at 1.0-1.7 cores of 2 during
// both the operator's import and the bare client's), so these figures are
// what the operator's time over the bare client's is made of. Rounds of
// one case vary by as much as the cases differ: run two (-count 2).
//
//	KUBEBUILDER_ASSETS=$(hack/control-plane.sh) go test -run '^$' \
//	  -bench BenchmarkAPIServerWriteCost -benchtime 3000x -count 2 ./controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sharev1 "github.com/pruvan-share/share-operator/api/v1alpha1"
	"github.com/pruvan-share/share-operator/internal/fixtures"
	"github.com/pruvan-share/share-operator/internal/procstat"
	"github.com/pruvan-share/share-operator/internal/testenv"
	"github.com/pruvan-share/share-operator/internal/testworld"
	"github.com/pruvan-share/share-operator/protocol"
)

// writeCostCase is one way of writing a new project.
type writeCostCase struct {
	name   string
	apply  bool // server-side apply as the import does; else a create as the bare client does
	status bool // then the import's status patch
	watch  bool // with a watch on the namespace decoding every event, as the informer does
}

func BenchmarkAPIServerWriteCost(b *testing.B) {
	env := testenv.Shared(b)
	pid, err := apiServerPID(env.Config)
	if err != nil {
		b.Skip(err)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS = -1 // the manager's default: no client-side limiter
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	// Unmeasured warm-up rounds: the API server's watch cache grows with
	// the first bursts of writes (100 events on a fresh control plane,
	// doubling while they come fast), and with it the API server's heap
	// and the cost of its collections, so the case that ran first would
	// otherwise run on a lighter API server than the later ones.
	for range 2 {
		ns, link, orders := writeCostNamespace(b, c, 3000)
		if err := inParallel(context.Background(), len(orders), func(ctx context.Context, i int) error {
			return writeProject(ctx, c, link, &orders[i], writeCostCase{apply: true, status: true})
		}); err != nil {
			b.Fatal(err)
		}
		deleteWriteCostProjects(b, c, ns)
	}
	for _, tc := range []writeCostCase{
		{name: "create"},
		{name: "apply", apply: true},
		{name: "create+status", status: true},
		{name: "apply+status", apply: true, status: true},
		{name: "apply+status+watch", apply: true, status: true, watch: true},
	} {
		b.Run(tc.name, func(b *testing.B) { benchWriteCost(b, c, pid, tc) })
	}
}

var writeCostNamespaces atomic.Int64

func benchWriteCost(b *testing.B, c client.WithWatch, pid int, tc writeCostCase) {
	ctx := context.Background()
	ns, link, orders := writeCostNamespace(b, c, b.N)
	// Each case leaves no project behind: the API server's store (and
	// its watch cache) would otherwise grow from case to case, and the
	// later cases would pay for the earlier ones' projects.
	defer deleteWriteCostProjects(b, c, ns)
	if tc.watch {
		defer watchDecoding(b, c, ns)()
	}
	cpu0, err := procstat.CPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	err = inParallel(ctx, b.N, func(ctx context.Context, i int) error { return writeProject(ctx, c, link, &orders[i], tc) })
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cpu1, err := procstat.CPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(b.N), "apiserver-ms/project")
}

// writeCostNamespace makes a namespace with n orders for a link in it.
func writeCostNamespace(b *testing.B, c client.Client, n int) (string, *sharev1.ShareLink, []sharev1.UpstreamOrder) {
	ns := fmt.Sprintf("write-cost-%d", writeCostNamespaces.Add(1))
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	link := &sharev1.ShareLink{ObjectMeta: metav1.ObjectMeta{Name: "acme", Namespace: ns, UID: "5b0e3c4e-0000-4000-8000-000000000001"}}
	orders := make([]sharev1.UpstreamOrder, n)
	for i := range orders {
		o := fixtures.Order(fmt.Sprintf("WO-%07d", i), "crew")
		o.Instructions = protocol.String("Cut front and back yard, trim the edges, photograph each side of the house before and after.")
		orders[i] = toUpstream(&o)
	}
	return ns, link, orders
}

// deleteWriteCostProjects deletes the namespace's projects and waits until
// they are gone.
func deleteWriteCostProjects(b *testing.B, c client.Client, ns string) {
	if err := testworld.DeleteProjects(context.Background(), c, ns, 5*time.Minute); err != nil {
		b.Fatal(err)
	}
}

// writeProject writes one new project as the import or the bare client does.
func writeProject(ctx context.Context, c client.Client, link *sharev1.ShareLink, up *sharev1.UpstreamOrder, tc writeCostCase) error {
	a := newProjectApply(link, up, "")
	p := &sharev1.SharedProject{}
	if tc.apply {
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		p.Namespace, p.Name = link.Namespace, a.Metadata.Name
		if err := c.Patch(ctx, p, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return err
		}
	} else {
		p.ObjectMeta = metav1.ObjectMeta{Name: a.Metadata.Name, Namespace: link.Namespace, Labels: a.Metadata.Labels, OwnerReferences: a.Metadata.OwnerReferences}
		p.Spec = sharev1.SharedProjectSpec{LinkName: link.Name, WorkOrderNumber: up.WorkOrderNumber, Upstream: up}
		if err := c.Create(ctx, p, client.FieldOwner(FieldManager)); err != nil {
			return err
		}
	}
	if !tc.status {
		return nil
	}
	p.ManagedFields = nil
	after := p.DeepCopy()
	setProjectApplied(after, &link.Spec, "0123456789abcdef", time.Now())
	return patchProjectStatus(ctx, c, p, after)
}

// watchDecoding watches the namespace's SharedProjects, decoding every
// event, and returns the function that stops it.
func watchDecoding(b *testing.B, c client.WithWatch, ns string) (stop func()) {
	w, err := c.Watch(context.Background(), &sharev1.SharedProjectList{}, client.InNamespace(ns))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range w.ResultChan() {
			// Each event arrives decoded: the decode is what is measured.
		}
	}()
	return func() { w.Stop(); <-done }
}

// apiServerPID finds the kube-apiserver serving cfg by its secure port.
func apiServerPID(cfg *rest.Config) (int, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return 0, err
	}
	want := "--secure-port=" + u.Port()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range procs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) != "kube-apiserver" {
			continue
		}
		for _, a := range args {
			if a == want {
				return strconv.Atoi(filepath.Base(filepath.Dir(path)))
			}
		}
	}
	return 0, fmt.Errorf("no kube-apiserver process with %s (not on Linux?)", want)
}
